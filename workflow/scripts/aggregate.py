"""Stack an experiment's run files into solver x n x seed x example."""

# lio is imported from this checkout: workflow/rules/common.smk puts its src/ on PYTHONPATH.
from lio.run.jobenv import start

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from lio.run.experiment import aggregate

    aggregate(snakemake.config, list(snakemake.input), snakemake.output[0])  # noqa: F821
