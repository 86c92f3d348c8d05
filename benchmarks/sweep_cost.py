"""Cost of a finished sweep, from Snakemake's ``benchmark:`` files and the runs' own timers.

    python benchmarks/sweep_cost.py [--results results] [--out FILE]

Per experiment and method: solve jobs, their summed and largest wall time (s), the largest
peak RSS (MB), and at the largest n the in-process wall time of each method (training or BFGS,
plus refinement) relative to BFGS's. Run it after ``snakemake`` on the machine being measured.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr


def job_table(results: Path) -> pd.DataFrame:
    """One row per solve job: problem, method, n, seed, seconds, max_rss (MB)."""
    rows = []
    for path in sorted((results / "benchmarks").glob("*/*/n*/seed*.tsv")):
        problem, method, n_dir = path.parts[-4:-1]
        record = pd.read_csv(path, sep="\t").iloc[0]
        rows.append(
            {
                "problem": problem,
                "method": method,
                "n": int(n_dir[1:]),
                "seed": int(path.stem[4:]),
                "seconds": float(record["s"]),
                "max_rss_mb": float(record["max_rss"]) if record["max_rss"] != "-" else np.nan,
            }
        )
    return pd.DataFrame(rows)


def wall_time_ratios(aggregate: Path) -> dict:
    """In-process wall time of each method at the largest n, over seeds, relative to BFGS."""
    with xr.open_dataset(aggregate, engine="h5netcdf") as dataset:
        largest = int(dataset["n"].max())
        total = dataset["wall_time_unrefined_s"] + dataset["wall_time_refine_s"].fillna(0)
        total = total.sel(n=largest).mean("seed")
        seconds = dict(zip(map(str, total["method"].values), map(float, total.values)))
    return {
        "n": largest,
        "seconds": seconds,
        "relative_to_bfgs": {method: value / seconds["bfgs"] for method, value in seconds.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results")
    parser.add_argument("--out", default="benchmarks/results/sweep_cost.json")
    args = parser.parse_args()
    results = Path(args.results)
    jobs = job_table(results)
    if jobs.empty:
        raise SystemExit(f"no solve benchmark files under {results}/benchmarks; run snakemake first.")
    summary = (
        jobs.groupby(["problem", "method"])
        .agg(jobs=("seconds", "size"), seconds_sum=("seconds", "sum"),
             seconds_max=("seconds", "max"), max_rss_mb=("max_rss_mb", "max"))
        .reset_index()
    )
    print(summary.to_string(index=False))
    numbers = {
        "solve_jobs": int(len(jobs)),
        "solve_seconds_sum": float(jobs["seconds"].sum()),
        "max_rss_mb": float(jobs["max_rss_mb"].max()),
        "per_method": summary.to_dict(orient="records"),
        "wall_time_ratios": {
            path.parent.name: wall_time_ratios(path)
            for path in sorted(results.glob("*/aggregate.nc"))
        },
    }
    print(json.dumps(numbers["wall_time_ratios"], indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(numbers, indent=2))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
