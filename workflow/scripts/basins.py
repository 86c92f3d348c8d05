"""BFGS from the prior mean against BFGS from other starts, on the calibration sets (lio.run.basins)."""

# lio is imported from this checkout: workflow/rules/common.smk puts its src/ on PYTHONPATH.
from lio.run.jobenv import start

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from lio.run.basins import measure

    measure(
        snakemake.config,  # noqa: F821
        snakemake.wildcards.problem,  # noqa: F821
        list(snakemake.input),  # noqa: F821
        snakemake.output[0],  # noqa: F821
    )
