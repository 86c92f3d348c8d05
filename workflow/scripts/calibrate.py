"""Choose one learned method's Adam learning rate, or its own calibrated setting (the diffusion prior's guidance), on the calibration seeds (lio.run.ladder.calibrate)."""

# lio is imported from this checkout: workflow/rules/common.smk puts its src/ on PYTHONPATH.
from lio.run.jobenv import start

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from lio.run.ladder import calibrate

    w = snakemake.wildcards  # noqa: F821
    calibrate(
        snakemake.config,  # noqa: F821
        w.problem,
        w.method,
        list(snakemake.input),  # noqa: F821
        snakemake.output[0],  # noqa: F821
    )
