"""Every calibration trial and chosen rate as one CSV and Markdown table (lio.calibration.table)."""

import sys
from pathlib import Path

# lio from this checkout, also inside --use-conda envs (which hold only its dependencies).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # noqa: F821

from lio.jobenv import start  # noqa: E402

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from lio.calibration import write_table

    out = snakemake.output  # noqa: F821
    write_table(list(snakemake.input), out.csv, out.markdown)  # noqa: F821
