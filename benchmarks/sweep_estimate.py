"""Full-sweep cost on this machine, extrapolated from one measured job per (experiment, method, n).

    python benchmarks/sweep_estimate.py [--configfile ...] [--experiments ...] [--ns 2 16 256]
        [--steps 50] [--cores 2] [--jobs 1] [--only-methods reparameterized ...] [--out FILE]

Each job is the workflow's own ``lio.run.experiment.solve`` (seed 0), run in a fresh process with
one XLA thread, as a ``snakemake --cores N`` job runs, and with its training shortened to
``--steps`` Adam steps. The run's timers then give, for the learned methods,
``first step`` (compilation included), the time per further step and the refinement, and

    job = process + first step + (config steps - 1) x step + rest (NA's surrogate BFGS) + refine

BFGS jobs run as configured. Refinement is timed after the shortened training; a network trained
for all steps usually starts it closer to a minimum, so the estimate errs long. Config n values
not in ``--ns`` are interpolated linearly in n between measured n, and extrapolated along the
line through the two largest (see ``interpolate``). Every seed is costed like seed 0, i.e. with
a cold compilation cache (later seeds load theirs), so the estimate errs long there too.

Prints and writes: per job the measured and extrapolated seconds; per experiment the sweep's
summed job time (with the observation-amount axis's jobs, ``observation_*``, where the experiment
has one, costed at the base's measured times per n), and the wall time on ``--cores`` cores if jobs packed perfectly (sum / cores,
a lower bound set by the longest job); learned/BFGS ratios at the largest n.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import xarray as xr
import yaml
from common import load_config, write

from lio.run import observations
from lio.run.cost import configured_fingerprint, interpolate
from lio.run.config import restrict_methods
from lio.analysis.provenance import device, provenance

JOB = """
import sys, time, yaml
start = time.perf_counter()
from lio.run.jobenv import prepare
prepare(1, 0)
from lio.run.experiment import sample_data, solve
config = yaml.safe_load(open(sys.argv[1]))
experiment, method, n, data, out = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
if method == "data":
    sample_data(config, experiment, n, 0, data)
else:
    solve(config, experiment, method, n, 0, data, out)
print("JOB_SECONDS", time.perf_counter() - start)
"""


def run_job(config_path: Path, experiment: str, method: str, n: int, workdir: Path) -> float:
    """Wall time (s) of one job process, from interpreter start to exit."""
    data = workdir / f"{experiment}-n{n}.nc"
    out = workdir / f"{experiment}-{method}-n{n}.nc"
    command = [sys.executable, "-c", JOB, str(config_path), experiment, method, str(n), str(data), str(out)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{experiment}/{method}/n{n} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return seconds


def measured_job(config: dict, experiment: str, method: str, n: int, steps: int, workdir: Path,
                 config_path: Path) -> dict:
    seconds = run_job(config_path, experiment, method, n, workdir)
    with xr.open_dataset(workdir / f"{experiment}-{method}-n{n}.nc", engine="h5netcdf") as run:
        attrs = dict(run.attrs)
    unrefined, refine = attrs["wall_time_unrefined_s"], attrs["wall_time_refine_s"]
    row = {"experiment": experiment, "method": method, "n": n, "measured_job_s": seconds,
           "fingerprint": configured_fingerprint(config, experiment, method),
           "unrefined_s": unrefined, "refine_s": refine if method != "bfgs" else 0.0}
    if method == "bfgs":
        row["estimated_job_s"] = seconds
        return row
    first, per_step = attrs["extra_first_step_time_s"], attrs["extra_step_time_s"]
    full_steps = config["experiments"][experiment]["methods"][method]["training"]["steps"]
    steps = min(steps, full_steps)
    row.update(first_step_s=first, step_s=per_step, config_steps=full_steps,
               estimated_job_s=seconds + (full_steps - steps) * per_step)
    return row


def shortened(config: dict, steps: int) -> dict:
    config = json.loads(json.dumps(config))
    for block in config["experiments"].values():
        for options in block["methods"].values():
            if options and "training" in options:
                options["training"]["steps"] = min(steps, options["training"]["steps"])
                options["training"]["log_every"] = 0
    return config


def extrapolate(rows: list[dict], config: dict, cores: int) -> dict:
    """Every (experiment, method, config n, seed) job costed from the measured rows."""
    summary = {}
    for experiment in sorted({r["experiment"] for r in rows}):
        block = config["experiments"][experiment]
        seeds = len(block["seeds"])
        jobs, total, longest = 0, 0.0, 0.0
        largest = {}
        for method in block["methods"]:
            measured = {r["n"]: r["estimated_job_s"] for r in rows
                        if r["experiment"] == experiment and r["method"] == method}
            for n in sorted(block["ns"]):
                seconds = interpolate(measured, n)
                jobs += seeds
                total += seconds * seeds
                longest = max(longest, seconds)
            largest[method] = seconds  # at the largest n
        data = [r["estimated_job_s"] for r in rows if r["experiment"] == experiment and r["method"] == "data"]
        data_s = (max(data) if data else 0.0) * len(block["ns"]) * seeds
        # The observation-amount axis (lio.run.observations): every amount reruns its methods x ns x
        # seeds. Costed at the base experiment's measured job times per n (the amount changes
        # a job's cost only through the observation's size, which the base's times bound from
        # above for an axis that observes less).
        axis = observations.axes_in(config).get(experiment)
        axis_jobs, axis_s = 0, 0.0
        if axis is not None:
            for method in axis.methods:
                measured = {r["n"]: r["estimated_job_s"] for r in rows
                            if r["experiment"] == experiment and r["method"] == method}
                for n in axis.ns:
                    axis_jobs += len(axis.seeds) * len(axis.amounts)
                    axis_s += interpolate(measured, n) * len(axis.seeds) * len(axis.amounts)
            axis_s += (max(data) if data else 0.0) * len(axis.ns) * len(axis.seeds) * len(axis.amounts)
        summary[experiment] = {
            "solve_jobs": jobs,
            "solve_job_s_sum": total,
            "data_job_s_sum": data_s,
            "observation_amounts": list(axis.amounts) if axis else [],
            "observation_solve_jobs": axis_jobs,
            "observation_job_s_sum": axis_s,
            "longest_job_s": longest,
            "wall_s_on_cores": max((total + data_s + axis_s) / cores, longest),
            "largest_n": max(block["ns"]),
            "job_s_at_largest_n": largest,
            "relative_to_bfgs_at_largest_n": {m: s / largest["bfgs"] for m, s in largest.items()},
        }
    whole = sum(s["solve_job_s_sum"] + s["data_job_s_sum"] + s["observation_job_s_sum"] for s in summary.values())
    return {"experiments": summary, "all_job_s_sum": whole,
            "all_wall_h_on_cores": max(whole / cores, max(s["longest_job_s"] for s in summary.values())) / 3600}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", nargs="*", default=[])
    parser.add_argument("--experiments", nargs="*", default=None)
    parser.add_argument("--ns", type=int, nargs="*", default=None, help="n measured (default: config's)")
    parser.add_argument("--steps", type=int, default=50, help="Adam steps actually run per learned job")
    parser.add_argument("--cores", type=int, default=os.cpu_count(),
                        help="cores the estimated sweep runs on (default: this machine's)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="measured jobs run at once (timings are then as under load)")
    parser.add_argument("--only-methods", nargs="*", default=None,
                        help="cost only these methods (and BFGS), as the workflow's only_methods")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.steps < 2:
        raise SystemExit(f"--steps must be >= 2 (one to compile, one to time), got {args.steps}.")
    config = load_config(args.configfile)
    if args.only_methods is not None:
        config["only_methods"] = args.only_methods
        problems = restrict_methods(config)  # in place, as the workflow does
        del config["only_methods"]
        if problems:
            raise SystemExit("\n".join(problems))
    experiments = args.experiments or list(config["experiments"])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        config_path = workdir / "config.yaml"
        config_path.write_text(yaml.safe_dump(shortened(config, args.steps)))
        # A cold compilation cache, shared by the jobs as in the workflow.
        os.environ["LIO_JAX_CACHE"] = str(workdir / "jax-cache")
        plan = []
        for experiment in experiments:
            ns = [n for n in config["experiments"][experiment]["ns"] if args.ns is None or n in args.ns]
            if not ns:
                raise SystemExit(f"--ns {args.ns} has none of {experiment}'s ns "
                                 f"{config['experiments'][experiment]['ns']}.")
            for n in ns:
                seconds = run_job(config_path, experiment, "data", n, workdir)
                rows.append({"experiment": experiment, "method": "data", "n": n,
                             "measured_job_s": seconds, "estimated_job_s": seconds})
                plan += [(experiment, method, n) for method in config["experiments"][experiment]["methods"]]
        # The largest jobs first, ``--jobs`` at a time, as Snakemake keeps its cores busy.
        plan.sort(key=lambda job: -job[2])
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            futures = [pool.submit(measured_job, config, *job, args.steps, workdir, config_path)
                       for job in plan]
            for future in concurrent.futures.as_completed(futures):
                rows.append(future.result())
                print(json.dumps(rows[-1]), flush=True)
    numbers = {"device": device(), "steps_run": args.steps, "cores": args.cores, "jobs_at_once": args.jobs,
               "jobs": rows, **extrapolate(rows, config, args.cores),
               "provenance": provenance({"configfiles": args.configfile})}
    write(numbers, "sweep_estimate", args.out)


if __name__ == "__main__":
    main()
