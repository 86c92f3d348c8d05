"""Run one method on one problem set and refine it with BFGS (see lio.experiment.solve)."""

import sys
from pathlib import Path

# lio from this checkout, also inside --use-conda envs (which hold only its dependencies).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # noqa: F821

with open(snakemake.log[0], "w") as log:  # noqa: F821 (snakemake is injected)
    sys.stdout = sys.stderr = log
    from lio.experiment import solve

    w = snakemake.wildcards  # noqa: F821
    solve(
        snakemake.config,  # noqa: F821
        w.problem,
        w.method,
        int(w.n),
        int(w.seed),
        snakemake.input[0],  # noqa: F821
        snakemake.output[0],  # noqa: F821
    )
