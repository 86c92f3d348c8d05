"""An experiment's four figure panels: (a) example, (b) landscape from a problem set; (c), (d)
from the aggregate."""

# lio is imported from this checkout: workflow/rules/common.smk puts its src/ on PYTHONPATH.
from lio.run.jobenv import start

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from lio.report.panels import figure_panel

    for panel in snakemake.params.panels:  # noqa: F821
        figure_panel(
            snakemake.config,  # noqa: F821
            snakemake.wildcards.problem,  # noqa: F821
            panel,
            snakemake.params.figures,  # noqa: F821
            snakemake.input.data if panel in ("a", "b") else snakemake.input.aggregate,  # noqa: F821
            snakemake.output[f"png_{panel}"],  # noqa: F821
            snakemake.output[f"pdf_{panel}"],  # noqa: F821
            aggregate_path=snakemake.input.aggregate,  # noqa: F821
        )
