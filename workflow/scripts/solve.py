"""Run one method on one problem set and refine it with BFGS (see lio.run.experiment.solve)."""

# lio is imported from this checkout: workflow/rules/common.smk puts its src/ on PYTHONPATH.
from lio.run.jobenv import start

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from lio.run.experiment import solve

    w = snakemake.wildcards  # noqa: F821
    calibration = snakemake.input.get("calibration")  # noqa: F821
    calibration = calibration if isinstance(calibration, str) else next(iter(calibration or []), None)
    solve(
        snakemake.config,  # noqa: F821
        w.problem,
        w.method,
        int(w.n),
        int(w.seed),
        snakemake.input.data,  # noqa: F821
        snakemake.output[0],  # noqa: F821
        calibration or None,  # none: the config's learning rate
    )
