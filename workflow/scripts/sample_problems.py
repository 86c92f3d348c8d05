"""Draw one problem set and its labelled training set (thin wrapper, see lio.run.experiment)."""

# lio is imported from this checkout: workflow/rules/common.smk puts its src/ on PYTHONPATH.
from lio.run.jobenv import start

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from lio.run.experiment import sample_data

    sample_data(
        snakemake.config,  # noqa: F821
        snakemake.wildcards.problem,  # noqa: F821
        int(snakemake.wildcards.n),  # noqa: F821
        int(snakemake.wildcards.seed),  # noqa: F821
        snakemake.output[0],  # noqa: F821
    )
