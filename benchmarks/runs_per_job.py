"""One solve job per run against one job per chunk of seeds (compute.runs_per_job), on this machine.

    python benchmarks/runs_per_job.py [--configfile config/quick.yaml] [--experiment wavepacket]
        [--methods bfgs reparameterized] [--n 16] [--seeds 0 1 2 3] [--steps 200]
        [--threads 1] [--out FILE]

For each method the same (experiment, method, n, seeds) runs twice, each job a fresh Python
process as Snakemake starts it: ``runs_per_job 1`` (one process per seed, ``lio.run.experiment.solve``)
and ``runs_per_job k`` (one process for all k seeds, ``lio.run.experiment.solve_group``). Each layout
starts with an empty JAX compilation cache of its own, so the one-per-run layout gets what the
workflow gives it (later seeds load the first seed's compiled programs from the cache). Prints
the wall time of each layout, its ratio, and how far the two layouts' results differ.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import load_config, write

from lio.analysis.provenance import provenance

# One job as the workflow runs it: the job's environment set before jax is imported.
JOB = """
import json, sys
from lio.run.jobenv import prepare
prepare({threads}, 0)
from lio.run import experiment
config = json.load(open({config!r}))
getattr(experiment, {function!r})(config, *json.loads(sys.argv[1]))
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", nargs="*", default=[])
    parser.add_argument("--experiment", default="wavepacket")
    parser.add_argument("--methods", nargs="*", default=["bfgs", "reparameterized"])
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3])
    parser.add_argument(
        "--steps", type=int, default=200, help="Adam steps of the network methods (reduced)"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="XLA CPU threads per job: 1 as in workflow jobs"
    )
    parser.add_argument("--out", default=None)
    return parser


def run_job(function: str, arguments: list, config_path: Path, threads: int, cache: Path) -> float:
    """Wall time (s) of one job in a fresh Python process, start-up included."""
    code = JOB.format(threads=threads, config=str(config_path), function=function)
    env = {**os.environ, "LIO_JAX_CACHE": str(cache)}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(arguments)], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"{function} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return seconds


def differences(one: list[Path], other: list[Path]) -> dict:
    """Largest relative difference of the runs' losses and whether every status agrees."""
    from lio.analysis.results import open_dataset

    largest, same_status = 0.0, True
    for a, b in zip(one, other, strict=True):
        a, b = open_dataset(a), open_dataset(b)
        for stage in ("unrefined", "refined"):
            x, y = np.asarray(a[f"loss_{stage}"]), np.asarray(b[f"loss_{stage}"])
            largest = max(largest, float(np.max(np.abs(x - y) / np.maximum(np.abs(x), 1e-300))))
            same_status &= bool(np.array_equal(a[f"status_{stage}"], b[f"status_{stage}"]))
    return {"max_relative_loss_difference": largest, "same_statuses": same_status}


def main() -> None:
    args = _parser().parse_args()
    config = load_config(args.configfile)
    block = config["experiments"][args.experiment]
    for options in block["methods"].values():
        if options and "training" in options:
            options["training"] = {**options["training"], "steps": args.steps, "log_every": 0}
    block["methods"] = {m: block["methods"].get(m) or {} for m in args.methods}
    config["experiments"] = {args.experiment: block}
    numbers = {
        "experiment": args.experiment, "n": args.n, "seeds": args.seeds, "steps": args.steps,
        "threads": args.threads,
        # other work on a shared machine slows both layouts alike, but noisily
        "load_average_at_start": os.getloadavg()[0], "methods": {},
    }
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        config_path = scratch / "config.json"
        config_path.write_text(json.dumps(config))
        data = [str(scratch / f"data{seed}.nc") for seed in args.seeds]
        for seed, path in zip(args.seeds, data, strict=True):  # untimed: the sampling jobs' work
            run_job("sample_data", [args.experiment, args.n, seed, path], config_path,
                    args.threads, scratch / "cache-data")
        for method in args.methods:
            alone = [scratch / f"{method}-alone{seed}.nc" for seed in args.seeds]
            grouped = [scratch / f"{method}-group{seed}.nc" for seed in args.seeds]
            per_run = [
                run_job("solve", [args.experiment, method, args.n, seed, path, str(out)],
                        config_path, args.threads, scratch / f"cache-{method}-1")
                for seed, path, out in zip(args.seeds, data, alone, strict=True)
            ]
            group = run_job(
                "solve_group",
                [args.experiment, method, args.n, args.seeds, data, [str(p) for p in grouped]],
                config_path, args.threads, scratch / f"cache-{method}-k",
            )
            numbers["methods"][method] = {
                "runs_per_job_1_s": sum(per_run),
                "runs_per_job_1_each_s": per_run,
                f"runs_per_job_{len(args.seeds)}_s": group,
                "speed_up": sum(per_run) / group,
                **differences(alone, grouped),
            }
            print(f"{method}: {len(args.seeds)} jobs {sum(per_run):.1f} s, one job {group:.1f} s",
                  flush=True)
    numbers["provenance"] = provenance({"configfiles": args.configfile, "steps": args.steps})
    write(numbers, "runs_per_job", args.out)


if __name__ == "__main__":
    main()
