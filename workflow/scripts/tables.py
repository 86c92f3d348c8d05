"""Better/equal-than-BFGS tables (refined and unrefined) as CSV, Markdown and LaTeX."""

import sys
from pathlib import Path

# lio from this checkout, also inside --use-conda envs (which hold only its dependencies).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # noqa: F821

from lio.jobenv import start  # noqa: E402

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from lio.experiment import write_tables

    out = snakemake.output  # noqa: F821
    write_tables(
        snakemake.config,  # noqa: F821
        dict(snakemake.input.items()),  # noqa: F821
        out.csv,
        out.markdown,
        out.latex,
    )
