"""Run one method on several seeds' problem sets in one process (compute.runs_per_job; see
lio.run.experiment.solve_group): each run writes its own result file and benchmark share."""

# lio is imported from this checkout: workflow/rules/common.smk puts its src/ on PYTHONPATH.
from lio.run.jobenv import start

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from lio.run.experiment import solve_group

    w = snakemake.wildcards  # noqa: F821
    calibration = snakemake.input.get("calibration")  # noqa: F821
    calibration = calibration if isinstance(calibration, str) else next(iter(calibration or []), None)
    solve_group(
        snakemake.config,  # noqa: F821
        w.problem,
        w.method,
        int(w.n),
        [int(seed) for seed in snakemake.params.seeds],  # noqa: F821
        list(snakemake.input.data),  # noqa: F821
        list(snakemake.output.runs),  # noqa: F821
        calibration or None,  # none: the config's learning rate
        list(snakemake.output.benchmarks),  # noqa: F821
    )
