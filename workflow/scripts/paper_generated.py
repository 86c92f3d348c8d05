"""The paper's generated LaTeX: macros, better/equal tables, cost table, sections, summary."""

# lio is imported from this checkout: workflow/rules/common.smk puts its src/ on PYTHONPATH.
from lio.run.jobenv import start

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from lio.report.paper import layout, write_generated

    inputs = snakemake.input  # noqa: F821
    write_generated(
        snakemake.config,  # noqa: F821
        layout(snakemake.config),  # noqa: F821
        inputs.table,
        list(inputs.aggregates),
        inputs.benchmarks[0] if inputs.benchmarks else None,
        inputs.reference,
        dict(snakemake.output.items()),  # noqa: F821
        inputs.calibration[0] if inputs.calibration else None,
        list(inputs.studies),
        list(inputs.observations),
        list(inputs.basins),
        inputs.bounds[0] if inputs.bounds else None,
    )
