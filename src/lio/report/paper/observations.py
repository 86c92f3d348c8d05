"""The paper's qualitative statements about each experiment, checked against our runs.

Each statement is quoted from the paper's §4 with the number that tests it, computed from an
aggregate (``results/{problem}/aggregate.nc`` or the record's): where a constant of ours makes
the statement fail, the report shows it next to the quote instead of hiding it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from lio.problems import Problem


def _runs(aggregate: xr.Dataset, method: str, stage: str, name: str, min_n: int = 0):
    """Per-example arrays of one method over all (n, seed) runs, padding dropped."""
    values = []
    for n in aggregate["n"].values:
        if int(n) < min_n:
            continue
        for seed in aggregate["seed"].values:
            run = aggregate[f"{name}_{stage}" if stage else name].sel(
                {"solver": method, "n": n, "seed": seed}
            ).values[: int(n)]
            if not np.all(np.isnan(np.asarray(run, float))):
                values.append(run)
    return values


def _basin_share(problem: Problem, aggregate: xr.Dataset, method: str, min_n: int = 0) -> float:
    solutions = _runs(aggregate, method, "refined", "solution", min_n)
    truths = _runs(aggregate, method, "", "truth", min_n)
    if not solutions:
        return float("nan")
    return float(np.mean(np.concatenate([problem.in_basin(s, t) for s, t in zip(solutions, truths)])))


def _iterations(aggregate: xr.Dataset, method: str) -> np.ndarray:
    runs = _runs(aggregate, method, "refined", "iterations")
    return np.concatenate(runs) if runs else np.array([np.nan])


def _above_truth(aggregate: xr.Dataset, method: str) -> float:
    """Share of refined losses above the hidden truth's own loss (relative 1e-6)."""
    losses = np.concatenate(_runs(aggregate, method, "refined", "loss"))
    truths = np.concatenate(_runs(aggregate, method, "", "truth_loss"))
    return float(np.mean(losses > truths * (1 + 1e-6)))


def _bfgs_moves(problem: Problem, aggregate: xr.Dataset) -> tuple[float, float]:
    """BFGS's median distance from its start, and the share ending further from the truth."""
    lower, upper = (np.asarray(b, float) for b in problem.bounds)
    width, start = upper - lower, np.asarray(problem.prior_mean, float)
    solutions = np.concatenate(_runs(aggregate, "bfgs", "refined", "solution"))
    truths = np.concatenate(_runs(aggregate, "bfgs", "", "truth"))
    moved = np.max(np.abs(solutions - start) / width, axis=-1)
    further = np.max(np.abs(solutions - truths) / width, axis=-1) > np.max(
        np.abs(start - truths) / width, axis=-1
    )
    return float(np.median(moved)), float(np.mean(further))


def _settling_iteration(aggregate: xr.Dataset, method: str, tolerance: float = 0.01) -> float:
    """Median over runs of the first iteration after which L/n stays within ``tolerance``
    (relative) of its final value."""
    found = []
    for n in aggregate["n"].values:
        for seed in aggregate["seed"].values:
            curve = aggregate["curve"].sel({"solver": method, "n": n, "seed": seed}).values
            steps = np.flatnonzero(np.isfinite(curve))  # NaN between monitored steps, and padding
            if steps.size < 2:
                continue
            curve = curve[steps]
            off = np.abs(curve - curve[-1]) > tolerance * abs(curve[-1])
            found.append(int(steps[np.max(np.flatnonzero(off))]) + 1 if off.any() else 0)
    return float(np.median(found)) if found else float("nan")


def _percent(value: float) -> str:
    return "--" if not np.isfinite(value) else f"{100 * value:.0f}\\,\\%"


Check = Callable[[Problem, xr.Dataset], str]

# problem registry name -> [(the paper's statement, what we measure, how)]
STATEMENTS: dict[str, list[tuple[str, str, Check]]] = {
    "wavepacket": [
        (
            "BFGS moves a considerable distance in the first iteration and then quickly halts",
            "BFGS: median distance moved (box widths); median iterations",
            lambda p, a: f"{_bfgs_moves(p, a)[0]:.3f}; {np.nanmedian(_iterations(a, 'bfgs')):.0f}",
        ),
        (
            "many solutions lie further from the actual optimum than the initial guess",
            "BFGS: share ending further from the truth than its start",
            lambda p, a: _percent(_bfgs_moves(p, a)[1]),
        ),
        (
            "the estimate of $t_0$ [...] settling after around 500 iterations",
            "reparameterized: median iteration after which L/n stays within 1\\,\\%",
            lambda p, a: f"{_settling_iteration(a, 'reparameterized'):.0f}",
        ),
    ],
    "billiards": [
        (
            "almost all problems converging to the solution for $n \\geq 64$",
            "reparameterized, refined, $n \\geq 64$: share in the truth's basin",
            lambda p, a: _percent(_basin_share(p, a, "reparameterized", min_n=64)),
        ),
        (
            "BFGS only converges for those examples where the cue ball already hits [...]",
            "BFGS: share in the truth's basin",
            lambda p, a: _percent(_basin_share(p, a, "bfgs")),
        ),
    ],
    "kuramoto_sivashinsky": [
        (
            "BFGS manages to find the correct solution in about 60\\,\\% of cases",
            "BFGS: share in the truth's basin",
            lambda p, a: _percent(_basin_share(p, a, "bfgs")),
        ),
        (
            "the 12 to 22 [iterations] that BFGS requires",
            "BFGS: iterations, quartiles",
            lambda p, a: "{:.0f}--{:.0f}".format(*np.nanpercentile(_iterations(a, "bfgs"), [25, 75])),
        ),
        (
            "finds the correct solutions in over 80\\,\\% of cases",
            "reparameterized, refined: share in the truth's basin",
            lambda p, a: _percent(_basin_share(p, a, "reparameterized")),
        ),
    ],
    "navier_stokes": [
        (
            "BFGS converges [...] usually within 10 iterations, sometimes requiring up to 40",
            "BFGS: median and largest iterations",
            lambda p, a: "{:.0f}, {:.0f}".format(
                np.nanmedian(_iterations(a, "bfgs")), np.nanmax(_iterations(a, "bfgs"))
            ),
        ),
        (
            "many examples get stuck in local optima",
            "BFGS: share ending above the truth's own loss (an optimum worse than the truth)",
            lambda p, a: _percent(_above_truth(a, "bfgs")),
        ),
    ],
}


# problem registry name -> the paper's statement that the basins check (lio.run.basins) tests
STUCK_STATEMENTS: dict[str, str] = {
    "wavepacket": "Iterative optimizers like BFGS get stuck in local minima quickly on this task",
    "navier_stokes": "many examples get stuck in local optima",
}
STUCK_MEASURED = (
    "BFGS from the prior mean, calibration sets: share where another start (the truth or one of "
    "{starts} random ones) reaches a lower optimum"
)


def observations(
    problems: dict[str, Problem],
    kinds: dict[str, str],
    aggregates: dict[str, xr.Dataset],
    basins: dict[str, dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """One row per (experiment, statement): the quote, what is measured, our number.
    ``basins``: experiment -> its basins record, for the statements about BFGS getting stuck."""
    rows = []
    for experiment, aggregate in aggregates.items():
        for quote, measured, check in STATEMENTS.get(kinds[experiment], []):
            try:
                ours = check(problems[experiment], aggregate)
            except (KeyError, ValueError):  # a method absent from this sweep
                ours = "--"
            rows.append({"experiment": experiment, "paper": quote, "measured": measured, "ours": ours})
        record = (basins or {}).get(experiment)
        if record is not None and kinds[experiment] in STUCK_STATEMENTS:
            rows.append({
                "experiment": experiment,
                "paper": STUCK_STATEMENTS[kinds[experiment]],
                "measured": STUCK_MEASURED.format(starts=record["starts"]),
                "ours": _percent(record["stuck"]),
            })
    return pd.DataFrame(rows, columns=["experiment", "paper", "measured", "ours"])


def observations_tabular(frame: pd.DataFrame, titles: dict[str, str]) -> str:
    if frame.empty:
        return "No experiment of this run has statements to check.\n"
    lines = [
        r"\begin{tabular}{lp{0.42\linewidth}p{0.3\linewidth}r}",
        r"\toprule",
        r"experiment & the paper says & we measure & ours \\",
        r"\midrule",
    ]
    previous = None
    for row in frame.itertuples():
        name = titles.get(row.experiment, row.experiment) if row.experiment != previous else ""
        if previous is not None and row.experiment != previous:
            lines.append(r"\addlinespace")
        previous = row.experiment
        lines.append(f"{name} & ``{row.paper}'' & {row.measured} & {row.ours} \\\\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


def summary_config(config: dict[str, Any]) -> dict[str, str]:
    """Experiment -> its problem's registry name."""
    return {e: block["problem"] for e, block in config["experiments"].items()}
