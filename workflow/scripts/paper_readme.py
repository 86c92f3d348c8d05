"""The README's results block from the committed record (`python -m lio.report.paper.record` puts it in README.md)."""

# lio is imported from this checkout: workflow/rules/common.smk puts its src/ on PYTHONPATH.
from lio.run.jobenv import start

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from lio.report.paper import layout, write_readme

    inputs = snakemake.input  # noqa: F821
    write_readme(
        layout(snakemake.config),  # noqa: F821
        inputs.table,
        list(inputs.aggregates),
        inputs.benchmarks[0] if inputs.benchmarks else None,
        inputs.reference,
        snakemake.output[0],  # noqa: F821
    )
