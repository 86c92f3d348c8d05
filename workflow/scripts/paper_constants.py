"""The table of constants we chose, from the config files' `# ours: ...` comments."""

# lio is imported from this checkout: workflow/rules/common.smk puts its src/ on PYTHONPATH.
from lio.run.jobenv import start

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from lio.report.paper import layout, write_constants

    write_constants(
        snakemake.config,  # noqa: F821
        list(snakemake.input.configfiles),  # noqa: F821
        layout(snakemake.config),  # noqa: F821
        snakemake.input.reference,  # noqa: F821
        snakemake.output.tex,  # noqa: F821
        snakemake.output.csv,  # noqa: F821
    )
