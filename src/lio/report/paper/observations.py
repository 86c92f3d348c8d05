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
Judge = Callable[[Problem, xr.Dataset], str]

HOLDS, PARTLY, FAILS = "holds", "partly", "does not hold"


def _at_least(value: float, holds: float, partly: float) -> str:
    """The verdict on a share the paper calls large: at least ``holds``, at least ``partly``."""
    if not np.isfinite(value):
        return ""
    return HOLDS if value >= holds else PARTLY if value >= partly else FAILS


def _near(value: float, target: float, holds: float, partly: float) -> str:
    """The verdict on "about ``target``": within ``holds``, within ``partly`` of it."""
    if not np.isfinite(value):
        return ""
    gap = abs(value - target)
    return HOLDS if gap <= holds else PARTLY if gap <= partly else FAILS


def _both(first: bool, second: bool) -> str:
    """The verdict on a statement of two parts: both, one, or neither hold."""
    return HOLDS if first and second else PARTLY if first or second else FAILS


def _quartiles_in(values: np.ndarray, low: float, high: float) -> str:
    """The verdict on "``low`` to ``high``": both quartiles inside, an overlap, or none."""
    q1, q3 = np.nanpercentile(values, [25, 75])
    return HOLDS if low <= q1 and q3 <= high else PARTLY if q1 <= high and q3 >= low else FAILS


# problem registry name -> [(the paper's statement, what we measure, how, when it holds, the verdict)].
# "When it holds" is our reading of the paper's words, printed beside each verdict: "many" is at
# least a quarter, "almost all" at least 90 %, "about p" within 10 points, "around k" within a
# factor of two; the partial verdict is the next band out.
STATEMENTS: dict[str, list[tuple[str, str, Check, str, Judge]]] = {
    "wavepacket": [
        (
            "BFGS moves a considerable distance in the first iteration and then quickly halts",
            "BFGS: median distance moved (box widths); median iterations",
            lambda p, a: f"{_bfgs_moves(p, a)[0]:.3f}; {np.nanmedian(_iterations(a, 'bfgs')):.0f}",
            "moves $\\geq 0.1$; halts within 20",
            lambda p, a: _both(_bfgs_moves(p, a)[0] >= 0.1, np.nanmedian(_iterations(a, "bfgs")) <= 20),
        ),
        (
            "many solutions lie further from the actual optimum than the initial guess",
            "BFGS: share ending further from the truth than its start",
            lambda p, a: _percent(_bfgs_moves(p, a)[1]),
            "$\\geq 25\\,\\%$",
            lambda p, a: _at_least(_bfgs_moves(p, a)[1], 0.25, 0.1),
        ),
        (
            "the estimate of $t_0$ [...] settling after around 500 iterations",
            "reparameterized: median iteration after which L/n stays within 1\\,\\%",
            lambda p, a: f"{_settling_iteration(a, 'reparameterized'):.0f}",
            "250--1000",
            lambda p, a: _near(np.log2(_settling_iteration(a, "reparameterized") / 500), 0.0, 1.0, 2.0),
        ),
    ],
    "billiards": [
        (
            "almost all problems converging to the solution for $n \\geq 64$",
            "reparameterized, refined, $n \\geq 64$: share in the truth's basin",
            lambda p, a: _percent(_basin_share(p, a, "reparameterized", min_n=64)),
            "$\\geq 90\\,\\%$",
            lambda p, a: _at_least(_basin_share(p, a, "reparameterized", min_n=64), 0.9, 0.75),
        ),
        (
            "BFGS only converges for those examples where the cue ball already hits [...]",
            "BFGS: share in the truth's basin",
            lambda p, a: _percent(_basin_share(p, a, "bfgs")),
            "not judged: we do not measure which starts hit",
            lambda p, a: "",
        ),
    ],
    "kuramoto_sivashinsky": [
        (
            "BFGS manages to find the correct solution in about 60\\,\\% of cases",
            "BFGS: share in the truth's basin",
            lambda p, a: _percent(_basin_share(p, a, "bfgs")),
            "50--70\\,\\%",
            lambda p, a: _near(_basin_share(p, a, "bfgs"), 0.6, 0.1, 0.2),
        ),
        (
            "the 12 to 22 [iterations] that BFGS requires",
            "BFGS: iterations, quartiles",
            lambda p, a: "{:.0f}--{:.0f}".format(*np.nanpercentile(_iterations(a, "bfgs"), [25, 75])),
            "both quartiles in 12--22",
            lambda p, a: _quartiles_in(_iterations(a, "bfgs"), 12, 22),
        ),
        (
            "finds the correct solutions in over 80\\,\\% of cases",
            "reparameterized, refined: share in the truth's basin",
            lambda p, a: _percent(_basin_share(p, a, "reparameterized")),
            "$\\geq 80\\,\\%$",
            lambda p, a: _at_least(_basin_share(p, a, "reparameterized"), 0.8, 0.7),
        ),
    ],
    "navier_stokes": [
        (
            "BFGS converges [...] usually within 10 iterations, sometimes requiring up to 40",
            "BFGS: median and largest iterations",
            lambda p, a: "{:.0f}, {:.0f}".format(
                np.nanmedian(_iterations(a, "bfgs")), np.nanmax(_iterations(a, "bfgs"))
            ),
            "median $\\leq 10$; largest $\\leq 40$",
            lambda p, a: _both(np.nanmedian(_iterations(a, "bfgs")) <= 10, np.nanmax(_iterations(a, "bfgs")) <= 40),
        ),
        (
            "many examples get stuck in local optima",
            "BFGS: share ending above the truth's own loss (an optimum worse than the truth)",
            lambda p, a: _percent(_above_truth(a, "bfgs")),
            "$\\geq 25\\,\\%$",
            lambda p, a: _at_least(_above_truth(a, "bfgs"), 0.25, 0.1),
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
        for quote, measured, check, criterion, judge in STATEMENTS.get(kinds[experiment], []):
            try:
                ours, verdict = check(problems[experiment], aggregate), judge(problems[experiment], aggregate)
            except (KeyError, ValueError):  # a method absent from this sweep
                ours, verdict = "--", ""
            rows.append({"experiment": experiment, "paper": quote, "measured": measured, "ours": ours,
                         "holds_when": criterion, "verdict": verdict})
        record = (basins or {}).get(experiment)
        if record is not None and kinds[experiment] in STUCK_STATEMENTS:
            rows.append({
                "experiment": experiment,
                "paper": STUCK_STATEMENTS[kinds[experiment]],
                "measured": STUCK_MEASURED.format(starts=record["starts"]),
                "ours": _percent(record["stuck"]),
                "holds_when": "$\\geq 25\\,\\%$",
                "verdict": _at_least(record["stuck"], 0.25, 0.1),
            })
    return pd.DataFrame(rows, columns=["experiment", "paper", "measured", "ours", "holds_when", "verdict"])


def observations_tabular(frame: pd.DataFrame, titles: dict[str, str]) -> str:
    if frame.empty:
        return "No experiment of this run has statements to check.\n"
    lines = [
        r"\begin{tabular}{>{\raggedright\arraybackslash}p{0.15\linewidth}"
        r">{\raggedright\arraybackslash}p{0.26\linewidth}>{\raggedright\arraybackslash}p{0.23\linewidth}"
        r"r>{\raggedright\arraybackslash}p{0.15\linewidth}}",
        r"\toprule",
        r"experiment & the paper says & we measure & ours & verdict (holds when) \\",
        r"\midrule",
    ]
    previous = None
    for row in frame.itertuples():
        name = titles.get(row.experiment, row.experiment) if row.experiment != previous else ""
        if previous is not None and row.experiment != previous:
            lines.append(r"\addlinespace")
        previous = row.experiment
        verdict = f"{row.verdict or 'not judged'} ({row.holds_when})" if not row.holds_when.startswith("not judged") else row.holds_when
        lines.append(f"{name} & ``{row.paper}'' & {row.measured} & {row.ours} & {verdict} \\\\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


def summary_config(config: dict[str, Any]) -> dict[str, str]:
    """Experiment -> its problem's registry name."""
    return {e: block["problem"] for e, block in config["experiments"].items()}


def claims_paragraph(frame: pd.DataFrame, titles: dict[str, str]) -> str:
    """Page one's account of the paper's stated behaviours (LaTeX): how many hold, partly hold
    or do not, by our reading printed in Table ``tab:observations``, and which fail, with ours."""
    judged = frame[frame["verdict"].astype(bool)] if not frame.empty else frame
    if judged.empty:
        return ""
    counts = {v: int((judged["verdict"] == v).sum()) for v in (HOLDS, PARTLY, FAILS)}
    text = (
        f"The paper's stated behaviours (Section~\\ref{{sec:observations}}, Table~\\ref{{tab:observations}}, "
        f"p.~\\pageref{{tab:observations}}), each judged by the reading printed beside it: of {len(judged)}, "
        f"{counts[HOLDS]} hold, {counts[PARTLY]} hold in part and {counts[FAILS]} do not"
    )
    failing = judged[judged["verdict"] == FAILS]
    if not failing.empty:
        text += ": " + "; ".join(
            f"{titles.get(row.experiment, row.experiment)}{{}}, ``{row.paper}'' (ours, {row.measured}: {row.ours})"
            for row in failing.itertuples()
        )
    return text + "."
