"""One figure panel: (a) example, (b) landscape from a problem set; (c), (d) from the aggregate."""

import sys
from pathlib import Path

# lio from this checkout, also inside --use-conda envs (which hold only its dependencies).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # noqa: F821

from lio.jobenv import start  # noqa: E402

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from lio.experiment import figure_panel

    figure_panel(
        snakemake.config,  # noqa: F821
        snakemake.wildcards.problem,  # noqa: F821
        snakemake.wildcards.panel,  # noqa: F821
        snakemake.params.figures,  # noqa: F821
        snakemake.input[0],  # noqa: F821
        snakemake.output.png,  # noqa: F821
        snakemake.output.pdf,  # noqa: F821
    )
