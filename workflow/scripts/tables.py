"""Better/equal-than-BFGS tables (refined and unrefined) as CSV, Markdown and LaTeX."""

# lio is imported from this checkout: workflow/rules/common.smk puts its src/ on PYTHONPATH.
from lio.run.jobenv import start

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from lio.report.tables import write_tables

    out = snakemake.output  # noqa: F821
    write_tables(
        snakemake.config,  # noqa: F821
        dict(snakemake.input.items()),  # noqa: F821
        out.csv,
        out.markdown,
        out.latex,
    )
