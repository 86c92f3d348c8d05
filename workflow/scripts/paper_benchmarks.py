"""Every solve job's Snakemake benchmark file as one CSV: the compute-cost record."""

# lio is imported from this checkout: workflow/rules/common.smk puts its src/ on PYTHONPATH.
from lio.run.jobenv import start

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from lio.report.paper import write_benchmarks

    write_benchmarks(list(snakemake.input), snakemake.output[0])  # noqa: F821
