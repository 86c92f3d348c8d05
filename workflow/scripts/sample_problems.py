"""Draw one problem set and its labelled training set (thin wrapper, see lio.experiment)."""

import sys
from pathlib import Path

# lio from this checkout, also inside --use-conda envs (which hold only its dependencies).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # noqa: F821

from lio.jobenv import start  # noqa: E402

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from lio.experiment import sample_data

    sample_data(
        snakemake.config,  # noqa: F821
        snakemake.wildcards.problem,  # noqa: F821
        int(snakemake.wildcards.n),  # noqa: F821
        int(snakemake.wildcards.seed),  # noqa: F821
        snakemake.output[0],  # noqa: F821
    )
