"""The compute-cost section: the solve jobs' benchmark files, and the wall time of each method
relative to BFGS (``cost.csv``, ``cost.tex``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from lio.report.paper.tex import macro, method_label
from lio.core.atomic import write_atomically


def job_seconds(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Snakemake's benchmark files of solve jobs -> one row per job (experiment, method, n, seed)."""
    rows = []
    for path in paths:
        parts = Path(path).parts
        experiment, method, n, seed = parts[-4], parts[-3], parts[-2], Path(parts[-1]).stem
        record = pd.read_csv(path, sep="\t").iloc[-1]
        rows.append(
            {
                "experiment": experiment,
                "method": method,
                "n": int(n.removeprefix("n")),
                "seed": int(seed.removeprefix("seed")),
                "job_s": float(record["s"]),
                "max_rss_mb": pd.to_numeric(record["max_rss"], errors="coerce"),
                "cpu_time_s": pd.to_numeric(record["cpu_time"], errors="coerce"),
            }
        )
    columns = ["experiment", "method", "n", "seed", "job_s", "max_rss_mb", "cpu_time_s"]
    return pd.DataFrame(rows, columns=columns)


def write_benchmarks(paths: Sequence[str | Path], out: str | Path) -> None:
    """The solve jobs' benchmark files as one small CSV (published with the record)."""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    write_atomically(out, job_seconds(paths).to_csv(index=False, float_format="%.4f"))


# The problem-set size at which the cost table also compares one run with BFGS's (issue 19's
# n = 64: a mid-sized set of the paper's range, run by every experiment's sweep).
COST_N = 64


def cost_table(aggregates: dict[str, xr.Dataset], jobs: pd.DataFrame | None) -> pd.DataFrame:
    """Wall time of each method relative to BFGS, summed over every (n, seed) of the sweep.

    ``solve``: the method alone (for learned methods the network's training, for the neural
    adjoint also its surrogate search), measured in-process; ``total``: solve plus BFGS
    refinement; ``job``: the whole Snakemake job (start-up, compilation, I/O), from its
    ``benchmark:`` file. BFGS is never refined, so its total is its solve time. ``total_at_n``:
    solve plus refinement at n = ``COST_N`` alone (mean over seeds) relative to BFGS's there
    (NaN where the sweep has no such n).
    """
    rows = []
    for experiment, dataset in aggregates.items():
        solve = dataset["wall_time_unrefined_s"].sum(["n", "seed"])
        total = solve + dataset["wall_time_refine_s"].sum(["n", "seed"])
        baseline = float(solve.sel({"solver": "bfgs"}))
        at_n = np.full(dataset.sizes["solver"], np.nan)
        if COST_N in dataset["n"].values:
            one = dataset.sel(n=COST_N)
            # mean over the seeds that ran: solve + refine, against BFGS's solve at that n
            spent = (one["wall_time_unrefined_s"] + one["wall_time_refine_s"].fillna(0.0)).mean("seed")
            at_n = spent.values / float(one["wall_time_unrefined_s"].sel({"solver": "bfgs"}).mean("seed"))
        job = None
        if jobs is not None:
            job = jobs[jobs["experiment"] == experiment].groupby("method")["job_s"].sum()
        for method in map(str, dataset["solver"].values):
            runs = np.isfinite(dataset["wall_time_unrefined_s"].sel({"solver": method}))
            row = {"experiment": experiment, "method": method, "runs": int(runs.sum())}
            if method == "bfgs":
                row.update(solve_s=baseline, total_s=baseline, solve=1.0, total=1.0)
            else:
                row.update(
                    solve_s=float(solve.sel({"solver": method})),
                    total_s=float(total.sel({"solver": method})),
                    solve=float(solve.sel({"solver": method})) / baseline,
                    total=float(total.sel({"solver": method})) / baseline,
                )
            row["total_at_n"] = float(at_n[list(map(str, dataset["solver"].values)).index(method)])
            if job is not None and method in job and "bfgs" in job:
                row.update(job_s=float(job[method]), job=float(job[method] / job["bfgs"]))
            else:
                row.update(job_s=np.nan, job=np.nan)
            rows.append(row)
    return pd.DataFrame(rows)


def cost_tabular(costs: pd.DataFrame, experiments: Sequence[str]) -> str:
    """Experiment x method rows: wall time relative to BFGS (BFGS's own row in seconds).

    A record without a benchmark summary (written before it existed) shows "--" for whole jobs.
    """
    lines = [
        r"\begin{tabular}{llrrrrr}",
        r"\toprule",
        r" & & \multicolumn{4}{c}{wall time relative to BFGS} & paper \\",
        r"\cmidrule(lr){3-6}",
        f"experiment & method & solve & solve + refine & whole job & $n = {COST_N}$ & training \\\\",
        r"\midrule",
    ]
    for index, experiment in enumerate(experiments):
        if index:
            lines.append(r"\addlinespace")
        rows = costs[costs["experiment"] == experiment]
        for position, (_, row) in enumerate(rows.iterrows()):
            cells = [macro(experiment, "Title") if position == 0 else "", method_label(row.method)]
            for kind in ("solve", "total", "job"):
                name = macro(experiment, row.method, "Cost", kind)
                if not np.isfinite(row[kind]):
                    cells.append("--")
                elif row.method == "bfgs":
                    cells.append(f"({name}Seconds\\,s)")
                else:
                    cells.append(f"{name}$\\times$")
            at_n = row.get("total_at_n", np.nan)
            cells.append("--" if not np.isfinite(at_n) else "1" if row.method == "bfgs" else f"{at_n:.1f}$\\times$")
            paper = ""
            if row.method == "reparameterized":
                paper = f"{macro(experiment, 'PaperTrainingCost')}$\\times$"
            lines.append(" & ".join([*cells, paper]) + r" \\")
    lines.append(r"\bottomrule")
    if not np.isfinite(costs["job"]).any():
        lines.append(r"\multicolumn{7}{l}{\footnotesize --: no job benchmark summary in this record.}\\")
    lines += [r"\end{tabular}", ""]
    return "\n".join(lines)


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f}\\,h" if seconds >= 3600 else f"{seconds / 60:.0f}\\,min"


def compute_sentence(aggregates: dict[str, xr.Dataset], jobs: pd.DataFrame | None) -> str:
    """Page one's compute line: the record's solve-job time added up per device (each run's
    ``device`` in its aggregate, each job's seconds in its benchmark file), and per experiment."""
    if jobs is None or jobs.empty:
        return "The solve jobs' times are not in these results (no benchmark files)."
    per_device: dict[str, float] = {}
    per_experiment = []
    for experiment, aggregate in aggregates.items():
        selected = jobs[jobs["experiment"] == experiment]
        if selected.empty:
            continue
        device = aggregate["device"]
        for row in selected.itertuples():
            try:
                name = str(device.sel(solver=row.method, n=row.n, seed=row.seed).item()) or "unknown"
            except KeyError:
                name = "unknown"
            per_device[name] = per_device.get(name, 0.0) + float(row.job_s)
        per_experiment.append(f"{macro(experiment, 'Title')}{{}} {_hours(selected['job_s'].sum())}")
    total = sum(per_device.values())
    devices = "; ".join(f"{_hours(s)} on {name.replace('_', ' ')}" for name, s in sorted(per_device.items()))
    return (
        f"Compute: the record's solve jobs took {_hours(total)} of job time, added up ({devices}; "
        f"{', '.join(per_experiment)}); jobs run side by side, one per core"
        + ("; no GPU was used." if all(name.startswith("cpu") for name in per_device) else ".")
    )
