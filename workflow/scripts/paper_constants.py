"""The table of constants we chose, from the config files' `# ours: ...` comments."""

import sys
from pathlib import Path

# lio from this checkout, also inside --use-conda envs (which hold only its dependencies).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # noqa: F821

from lio.jobenv import start  # noqa: E402

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from lio.paper import layout, write_constants

    write_constants(
        snakemake.config,  # noqa: F821
        list(snakemake.input.configfiles),  # noqa: F821
        layout(snakemake.config),  # noqa: F821
        snakemake.input.reference,  # noqa: F821
        snakemake.output.tex,  # noqa: F821
        snakemake.output.csv,  # noqa: F821
    )
