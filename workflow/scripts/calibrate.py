"""Choose one learned method's Adam learning rate on the calibration seeds (lio.experiment.calibrate)."""

import sys
from pathlib import Path

# lio from this checkout, also inside --use-conda envs (which hold only its dependencies).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # noqa: F821

from lio.jobenv import start  # noqa: E402

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from lio.experiment import calibrate

    w = snakemake.wildcards  # noqa: F821
    calibrate(
        snakemake.config,  # noqa: F821
        w.problem,
        w.method,
        list(snakemake.input),  # noqa: F821
        snakemake.output[0],  # noqa: F821
    )
