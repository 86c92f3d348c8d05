"""The README's results table and figures, from the committed record (between its markers)."""

# lio is imported from this checkout: workflow/rules/common.smk puts its src/ on PYTHONPATH.
from lio.jobenv import start

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from lio.paper import layout, write_readme

    inputs = snakemake.input  # noqa: F821
    write_readme(
        layout(snakemake.config),  # noqa: F821
        inputs.table,
        list(inputs.aggregates),
        inputs.benchmarks[0] if inputs.benchmarks else None,
        inputs.reference,
        snakemake.output[0],  # noqa: F821
        snakemake.params.readme,  # noqa: F821
    )
