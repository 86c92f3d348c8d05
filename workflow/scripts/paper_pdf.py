"""Compile paper/main.tex with the generated inputs into the paper's PDF."""

import sys
from pathlib import Path

# lio from this checkout, also inside --use-conda envs (which hold only its dependencies).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # noqa: F821

from lio.jobenv import start  # noqa: E402

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from lio.paper import build_pdf

    build_pdf(snakemake.input.main, snakemake.output[0])  # noqa: F821
