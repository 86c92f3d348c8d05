"""An experiment's four figure panels: (a) example, (b) landscape from a problem set; (c), (d)
from the aggregate."""

import sys
from pathlib import Path

# lio from this checkout, also inside --use-conda envs (which hold only its dependencies).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # noqa: F821

from lio.jobenv import start  # noqa: E402

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from lio.experiment import figure_panel

    for panel in snakemake.params.panels:  # noqa: F821
        figure_panel(
            snakemake.config,  # noqa: F821
            snakemake.wildcards.problem,  # noqa: F821
            panel,
            snakemake.params.figures,  # noqa: F821
            snakemake.input.data if panel in ("a", "b") else snakemake.input.aggregate,  # noqa: F821
            snakemake.output[f"png_{panel}"],  # noqa: F821
            snakemake.output[f"pdf_{panel}"],  # noqa: F821
        )
