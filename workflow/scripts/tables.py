"""Better/equal-than-BFGS tables (refined and unrefined) as CSV, Markdown and LaTeX."""

import sys

with open(snakemake.log[0], "w") as log:  # noqa: F821 (snakemake is injected)
    sys.stdout = sys.stderr = log
    from lio.experiment import write_tables

    out = snakemake.output  # noqa: F821
    write_tables(
        snakemake.config,  # noqa: F821
        dict(snakemake.input.items()),  # noqa: F821
        out.csv,
        out.markdown,
        out.latex,
    )
