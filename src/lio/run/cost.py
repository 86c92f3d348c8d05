"""What a run of a config costs, before it starts: every job Snakemake plans, priced from job
times measured on this kind of machine.

    python -m lio.run.cost [--configfile config/quick.yaml] [--cores 2] [--out FILE]

The plan is the workflow's own: ``snakemake -n --forceall --cores all`` lists every job it would
run, with its rule and wildcards. Each solve job is priced by the job time of its experiment,
method and n, measured with the same cost-relevant settings (the problem's parameters, the
method's options but for the calibrated learning rate or guidance, the BFGS settings; see
``fingerprint``), from the first of these sources that has it:

1. the record, ``paper/data/benchmarks.csv`` (every recorded solve job, on the record's device),
   for the experiments and methods whose recorded runs used those settings;
2. the short runs of ``benchmarks/sweep_estimate.py`` in ``benchmarks/results/`` (one job per
   experiment, method and n with its training shortened, extrapolated to the config's steps).

An n that was not measured is interpolated linearly between measured n, and extrapolated along
the line through the two largest. A study's or observation axis's job is priced as its base
experiment's job at the same method and n. A calibration job runs one training per rung of its
ladder and calibration n: it is priced as that many solve jobs at those n (a ladder that stops
early costs less). Problem sets, aggregates, figures and tables take seconds each; they are
counted, not priced. A job whose experiment and method nothing measured is counted as
unpriced, and the total says so.

Job times add up to the wall time when jobs run one at a time, as the record was made; with more
cores jobs run side by side, but two JAX jobs on two cores each run slower than alone, so the
printed wall time on ``--cores`` cores (sum / cores) is a lower bound.

With ``--left`` it prices only the jobs a run under way has still to do (Snakemake's plan without
``--forceall``) and writes ``results/progress.md``: the time left per experiment.

Prints a table (hours per experiment and method) and writes it with every priced job as JSON
(default ``benchmarks/results/cost_estimate-<device>[-<configfile stem>].json``), which
``python -m lio.report.docs`` puts in the README.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lio.run.config import load_config
from lio.run import spec

SOURCES = ("the record", "short runs")
# Chosen by the calibration ladder: they change no job's cost.
CALIBRATED = ("learning_rate", "guidance")


@dataclass(frozen=True)
class Job:
    rule: str
    wildcards: dict[str, str] = field(default_factory=dict)


def planned_jobs(configfiles: list[str], workdir: str = ".", everything: bool = True) -> list[Job]:
    """Every job ``snakemake -n --cores all`` plans for ``configfiles`` in ``workdir``: the whole
    run (``--forceall``), or with ``everything`` false only the jobs still to do."""
    command = [sys.executable, "-m", "snakemake", "-n", "--cores", "all"] + (
        ["--forceall"] if everything else []
    )
    if configfiles:
        command += ["--configfile", *configfiles]
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    if done.returncode:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["(no output)"]
        raise SystemExit(f"cost: snakemake could not plan the run: {last[0]}")
    return parse_plan(done.stdout + done.stderr)


def parse_plan(text: str) -> list[Job]:
    """The jobs of a ``snakemake -n`` listing: each ``rule NAME:`` block and its wildcards."""
    jobs: list[Job] = []
    rule = None
    for line in text.splitlines():
        match = re.match(r"^(?:local)?rule (\w+):$", line.strip())
        if match:
            if rule is not None:
                jobs.append(Job(rule))
            rule = match.group(1)
        elif rule is not None and line.strip().startswith("wildcards:"):
            pairs = (item.split("=", 1) for item in line.split(":", 1)[1].split(", "))
            jobs.append(Job(rule, {key.strip(): value.strip() for key, value in pairs}))
            rule = None
    if rule is not None:
        jobs.append(Job(rule))
    return jobs


def fingerprint(params: Any, method: dict[str, Any], bfgs: dict[str, Any]) -> str:
    """The settings a job's cost depends on, as one string: the problem's parameters, the
    method's options without the calibrated ones, the BFGS settings (as a run records them)."""
    options = {key: value for key, value in (method or {}).items() if key not in CALIBRATED}
    if isinstance(options.get("training"), dict):
        options["training"] = {k: v for k, v in options["training"].items() if k not in CALIBRATED}
    return json.dumps(
        {"params": params or {}, "method": options, "bfgs": bfgs},
        sort_keys=True,
        default=str,
    )


def configured_fingerprint(config: dict[str, Any], experiment: str, method: str) -> str:
    """``fingerprint`` of an experiment's method as the config sets it now."""
    resolved = spec.resolve(config, experiment)
    return fingerprint(
        spec.thawed(resolved.params),
        spec.thawed(resolved.methods.get(method, {})),
        spec.bfgs_record(spec.thawed(resolved.bfgs)),
    )


def recorded_fingerprints(root: Path) -> dict[tuple[str, str], set[str]]:
    """{(experiment, method): fingerprints of its recorded runs} from the record's aggregates."""
    from lio.analysis.results import open_dataset

    found: dict[tuple[str, str], set[str]] = {}
    for path in sorted((root / "paper/data").glob("*_aggregate.nc")):
        aggregate = open_dataset(path)
        experiment = path.name.removesuffix("_aggregate.nc")
        for solver in aggregate["solver"].values:
            runs = [
                str(v)
                for v in aggregate["config"].sel(solver=solver).values.ravel()
                if str(v) not in ("", "nan")
            ]
            for run in runs:
                recorded = json.loads(run)
                found.setdefault((experiment, str(solver)), set()).add(
                    fingerprint(
                        recorded.get("params"),
                        recorded.get("method"),
                        recorded.get("bfgs"),
                    )
                )
    return found


def measurements(
    config: dict[str, Any], root: Path = Path(".")
) -> dict[tuple[str, str], tuple[str, dict[int, float]]]:
    """{(experiment, method): (source, {n: mean job seconds})} for the config's experiments and
    methods, each from the first source of ``SOURCES`` that measured it with the configured
    settings (``fingerprint``)."""
    wanted = {
        (experiment, method): configured_fingerprint(config, experiment, method)
        for experiment, block in config["experiments"].items()
        for method in block.get("methods", {})
    }
    found: dict[str, dict[tuple[str, str], dict[int, list[float]]]] = {source: {} for source in SOURCES}
    record = root / "paper/data/benchmarks.csv"
    if record.exists():
        import pandas as pd

        recorded = recorded_fingerprints(root)
        for row in pd.read_csv(record).itertuples():
            key = (row.experiment, row.method)
            if key in wanted and recorded.get(key) == {wanted[key]}:
                found["the record"].setdefault(key, {}).setdefault(int(row.n), []).append(row.job_s)
    for path in sorted(glob.glob(str(root / "benchmarks/results/sweep_estimate-*.json"))):
        for row in json.loads(Path(path).read_text()).get("jobs", []):
            key = (row["experiment"], row["method"])
            if key in wanted and row.get("fingerprint") == wanted[key]:
                found["short runs"].setdefault(key, {}).setdefault(int(row["n"]), []).append(
                    row["estimated_job_s"]
                )
    chosen: dict[tuple[str, str], tuple[str, dict[int, float]]] = {}
    for source in SOURCES:
        for key, by_n in found[source].items():
            if key not in chosen:
                chosen[key] = (
                    source,
                    {n: sum(times) / len(times) for n, times in by_n.items()},
                )
    return chosen


def interpolate(measured: dict[int, float], n: int) -> float:
    """Job seconds at n from those measured: linear in n between measured n; beyond them along
    the line through the two nearest (never below the nearest measured); with one measured n,
    proportional to n above it."""
    points = sorted(measured.items())
    if n in measured:
        return measured[n]
    if len(points) == 1:
        ((m, seconds),) = points
        return seconds * max(n / m, 1.0)
    if n < points[0][0]:
        return points[0][1]
    pairs = list(zip(points, points[1:]))
    (m1, s1), (m2, s2) = next((a, b) for a, b in pairs if a[0] < n < b[0]) if n < points[-1][0] else pairs[-1]
    slope = max((s2 - s1) / (m2 - m1), 0.0)
    return max(s1 + slope * (n - m1), s1 if n < m2 else s2)


def calibration_trials(config: dict[str, Any], experiment: str, method: str, root: Path) -> list[int]:
    """The n of every training a calibration job runs: the record's trials where it has them,
    else every rung of the ladder at every calibration size."""
    recorded = root / "paper/data/calibration" / experiment / f"{method}.json"
    if recorded.exists():
        return [int(trial["n"]) for trial in json.loads(recorded.read_text())["trials"]]
    from lio.run import calibration

    rungs = calibration.settings(config, experiment)["learning_rates"]
    return [n for n in calibration.sizes(config, experiment, method) for _ in rungs]


def runs_in(job: Job) -> int:
    """Runs one solve job makes: one, or its seed chunk's (rule ``solve_group_seeds0_1_2``)."""
    match = re.match(r"solve_group_seeds([\d_]+)$", job.rule)
    return len(match.group(1).split("_")) if match else 1


PARTS = ("runs", "studies", "observation axis", "calibration")


def part_of(job: Job) -> str:
    """Which part of the sweep a solve or calibration job belongs to (one of ``PARTS``)."""
    problem = job.wildcards["problem"]
    if job.rule == "calibrate":
        return "calibration"
    if problem.startswith("studies/"):
        return "studies"
    return "observation axis" if "/amount" in problem else "runs"


def estimate(
    config: dict[str, Any], jobs: list[Job], root: Path = Path("."), cores: int = 2
) -> dict[str, Any]:
    """Every planned job priced: hours per experiment x method, the sources, the unpriced jobs."""
    measured = measurements(config, root)
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    counted: dict[str, int] = {}
    for job in jobs:
        if not (job.rule == "calibrate" or job.rule.startswith("solve")):
            counted[job.rule] = counted.get(job.rule, 0) + 1
            continue
        experiment = spec.base_of(config, job.wildcards["problem"])
        method = job.wildcards["method"]
        cell = cells.setdefault(
            (experiment, method),
            {"jobs": 0, "seconds": 0.0, "priced": 0, "source": None, "parts": {}},
        )
        cell["jobs"] += 1
        part = part_of(job)
        if (experiment, method) not in measured:
            continue
        source, by_n = measured[(experiment, method)]
        if job.rule == "calibrate":
            seconds = sum(interpolate(by_n, n) for n in calibration_trials(config, experiment, method, root))
        else:
            seconds = interpolate(by_n, int(job.wildcards["n"])) * runs_in(job)
        cell["seconds"] += seconds
        cell["parts"][part] = cell["parts"].get(part, 0.0) + seconds
        cell["priced"] += 1
        cell["source"] = source
    rows = [{"experiment": e, "method": m, **cell} for (e, m), cell in sorted(cells.items())]
    total = sum(row["seconds"] for row in rows)
    ranked: dict[str, float] = {}
    for row in rows:
        for part, seconds in row["parts"].items():
            label = f"{row['experiment']} {part}"
            ranked[label] = ranked.get(label, 0.0) + seconds
    return {
        "cores": cores,
        "rows": rows,
        "where_the_time_goes": dict(sorted(ranked.items(), key=lambda item: -item[1])),
        "counted_not_priced": counted,
        "unpriced_jobs": sum(row["jobs"] - row["priced"] for row in rows),
        "job_hours": total / 3600,
        "wall_hours_lower_bound": total / 3600 / cores,
    }


def hours(seconds: float) -> str:
    """A duration as a reader wants it: '3 min', '1.4 h'."""
    if seconds < 3600:
        return f"{max(seconds / 60, 1):.0f} min"
    return f"{seconds / 3600:.1f} h"


def markdown(result: dict[str, Any]) -> str:
    """Hours per experiment (rows) and method (columns), with each experiment's total."""
    rows = result["rows"]
    methods = list(dict.fromkeys(row["method"] for row in rows))
    from lio.methods import LABELS

    lines = [
        "| experiment | " + " | ".join(LABELS.get(m, m) for m in methods) + " | experiment total |",
        "|---" * (len(methods) + 2) + "|",
    ]
    for experiment in dict.fromkeys(row["experiment"] for row in rows):
        mine = {row["method"]: row for row in rows if row["experiment"] == experiment}
        cells = []
        for method in methods:
            row = mine.get(method)
            if row is None:
                cells.append("–")
            elif row["priced"] < row["jobs"]:
                cells.append(f"not measured ({row['jobs']} jobs)")
            else:
                cells.append(hours(row["seconds"]))
        priced = sum(row["seconds"] for row in mine.values())
        missing = sum(row["jobs"] - row["priced"] for row in mine.values())
        if missing:
            cells.append(f"{hours(priced)} + {missing} jobs not measured" if priced else "not measured")
        else:
            cells.append(hours(priced))
        lines.append(f"| {experiment} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(result: dict[str, Any]) -> str:
    """The whole run in one sentence: job time, the wall-time bound, what is not priced."""
    unmeasured = result["unpriced_jobs"]
    sources = sorted({row["source"] for row in result["rows"] if row["source"]})
    return (
        f"All: {hours(result['job_hours'] * 3600)} of job time added up from the job times of "
        f"{' and '.join(sources) or 'nothing measured'} (the wall time when jobs run one at a time, as the "
        f"record was made); at least {hours(result['wall_hours_lower_bound'] * 3600)} on {result['cores']} cores"
        + (
            f"; plus {unmeasured} solve and calibration jobs that nothing has measured yet"
            if unmeasured
            else ""
        )
        + f"; {sum(result['counted_not_priced'].values())} bookkeeping jobs of seconds each are not priced."
    )


def startup_line(configfiles: list[str], root: Path = Path(".")) -> str:
    """What a run logs at its start: the whole default run's estimate where the config is the
    default and an estimate was written, else how to get one; and how to see the time left."""
    written = sorted((root / "benchmarks/results").glob("cost_estimate-*.json"))
    default = [p for p in written if p.stem.count("-") == 1]
    if not configfiles and default:
        result = json.loads(default[0].read_text())
        known = f"the cost model prices this run at {hours(result['job_hours'] * 3600)} of job time"
        if result["unpriced_jobs"]:
            known += f" plus {result['unpriced_jobs']} jobs not yet measured"
        first = f"lio: {known} ({default[0].relative_to(root)}; `python -m lio.run.cost` prices it again)"
    else:
        first = f"lio: `python -m lio.run.cost{' --configfile ' + ' '.join(configfiles) if configfiles else ''}` prices this run before it starts"
    return first + "; `python -m lio.run.cost --left` writes the time left to results/progress.md"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lio.run.cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--configfile", nargs="*", default=[])
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--out", default=None)
    parser.add_argument(
        "--left",
        action="store_true",
        help="price only the jobs still to do (a run under way: its finished jobs are skipped) "
        "and write results/progress.md",
    )
    args = parser.parse_args(argv)
    missing = [path for path in args.configfile if not Path(path).exists()]
    if missing:
        raise SystemExit(
            f"cost: config file {missing[0]} does not exist; expected a YAML file such as config/quick.yaml."
        )
    config = load_config(args.configfile)
    print("cost: planning the run with snakemake -n ...", flush=True)
    result = estimate(
        config,
        planned_jobs(args.configfile, everything=not args.left),
        cores=args.cores,
    )
    from lio.analysis.provenance import device, provenance

    result.update(
        configfiles=args.configfile,
        device=device(),
        provenance=provenance({"configfiles": args.configfile}),
    )
    print(markdown(result))
    print(summary(result))
    print(
        "where the time goes: "
        + "; ".join(
            f"{label} {hours(seconds)}" for label, seconds in list(result["where_the_time_goes"].items())[:8]
        )
    )
    if args.left:
        out = Path(args.out or "results/progress.md")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            f"# Time left\n\nThe jobs this run has still to do, priced by `python -m lio.run.cost --left` at "
            f"{time.strftime('%Y-%m-%d %H:%M')}:\n\n{markdown(result)}\n\n{summary(result)}\n"
        )
        print(f"cost: wrote {out}")
        return
    stem = "-".join(Path(path).stem for path in args.configfile)
    out = Path(
        args.out
        or f"benchmarks/results/cost_estimate-{device().split(':')[0]}{'-' + stem if stem else ''}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(f"cost: wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
