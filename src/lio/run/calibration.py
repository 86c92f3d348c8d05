"""The paper's tuning policy as a recorded procedure: "decreasing the Adam learning rate until
stable convergence is reached" (paper §4).

For one experiment and learned method, ``calibrate`` trains the method at each rate of a
descending ladder on *calibration* problem sets (seeds disjoint from the evaluation seeds, so
the evaluation never sees the data its constants were chosen on) and picks the largest rate
whose training is stable on every calibration seed. Stable means all of:

1. no divergence: training ended with a finite loss;
2. healthy estimates (``lio.analysis.health``): at most ``DEGENERATE_PINNED`` (10 %) pinned to the box's
   edge, at most ``DEGENERATE_OUTSIDE`` (10 %) outside the prior's box, and a spread of at
   least ``DEGENERATE_SPREAD`` (0.1) of the truths' (no collapse);
3. settled or still decreasing: over the last ``settle_window`` of the steps the monitored L/n
   never rose above its running minimum there by more than ``settle_tolerance`` of that
   minimum (it may fall freely; an oscillating or climbing loss fails).

The rate is chosen for each problem-set size on its own (``per_n``, ours): a rate chosen at one
n did not carry down on the fluid (supervised training at the rate stable at n = 64 pinned
88-100 % of its estimates at n <= 32). Every n of the experiment's list below the calibration
``n`` gets its own ladder on calibration sets of that size; n >= ``n`` use the rate chosen at
``n`` (larger sets cost more to calibrate, and rates chosen at 64 were stable at 128).
``sizes`` lists the calibrated sizes and ``chosen_for`` picks a solve's rate. The sizes are
walked largest first, and a smaller size starts its ladder at the rate the next larger size
chose (``ladder_from``): on every size measured, fewer problems needed an equal or smaller rate
(the fluid's reparameterized network: 1e-4 at n = 64, 1e-5 at n = 2), and the rungs above it
cost a full training each. A size whose starting rung is unstable walks down as usual.

Only the learning rate is tuned, as the paper says; the ladder, the criterion's constants and
every rate's outcome are written to the calibration file, which the solve jobs read and the
report tabulates. If no rate of the ladder is stable, the smallest is used and the file (and
the job log) says so.

A method may name another setting for the ladder to walk instead (``Method.calibrated_setting``;
beyond the paper): the diffusion prior's guidance step zeta, whose ladder is the calibration
block's ``guidance_scales``. Its criterion is the outcome, not the training: the value whose
refined estimates have the lowest median true loss on the calibration seeds (every estimate
and loss finite; ties, as on a convex loss, go to the lowest median own loss). Its file names the setting and is read by the solve jobs like a rate's; the
learning-rate table does not list it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lio.analysis import health

from lio.run import spec
from lio.core.atomic import write_atomically

if TYPE_CHECKING:
    import pandas as pd

DEFAULTS = {
    "enabled": False,
    "learning_rates": [1e-3],
    "seeds": [1000],
    "n": 64,
    "per_n": False,
    "settle_window": 0.1,
    "settle_tolerance": 0.05,
    "guidance_scales": [1.0],
}
# The calibration block's ladder of each setting a method can name (Method.calibrated_setting),
# and the setting's path in the method's options (what a study value that fixes it varies).
LADDERS = {"learning_rate": "learning_rates", "guidance": "guidance_scales"}
SETTING_PATHS = {"learning_rate": "training.learning_rate", "guidance": "guidance"}
# Refined calibration losses this close (relative) count as equal, as the comparison's default
# rtol does for "equal to BFGS" (docs/experiment_spec.md); the unrefined loss then decides.
EQUAL_RTOL = 1e-6


def settings(config: dict[str, Any], experiment: str) -> dict[str, Any]:
    """The calibration block of an experiment: the global one with the experiment's overrides."""
    merged = {**DEFAULTS, **config.get("calibration", {})}
    merged.update(spec.block(config, experiment).get("calibration", {}))
    return merged


def sizes(config: dict[str, Any], experiment: str, method: str | None = None) -> list[int]:
    """The problem-set sizes the learning rate is calibrated at: the calibration ``n`` and, with
    ``per_n``, every n of the experiment's list below it (each chooses its own rate).

    A ``method`` that learns only from a training set whose size is set apart from n
    (``training_set_size``) trains the same way at every n, so it is calibrated at ``n`` alone.
    """
    options = settings(config, experiment)
    main = int(options["n"])
    if not options["per_n"] or (method and learns_apart_from_n(config, experiment, method)):
        return [main]
    ns = spec.block(config, experiment).get("ns", [])
    return sorted({int(n) for n in ns if int(n) < main} | {main})


def learns_apart_from_n(config: dict[str, Any], experiment: str, method: str) -> bool:
    """Whether ``method`` trains only on the labelled set and that set's size is its own key
    (``training_set_size``): its training does not change with n."""
    from lio.methods import make_method

    if spec.block(config, experiment).get("training_set_size") is None:
        return False
    options = dict(spec.block(config, experiment)["methods"].get(method) or {})
    instance = make_method(method, options, spec.bfgs_settings(config, experiment))
    return bool(instance.needs_training_set)


def chosen_for(record: dict[str, Any], n: int | None) -> float:
    """The rate a solve at problem-set size ``n`` trains at: that of the largest calibrated size
    not above n (the smallest calibrated size when n is below all), or the file's single rate."""
    by_n = {int(k): float(v) for k, v in (record.get("chosen_by_n") or {}).items()}
    if n is None or not by_n:
        return float(record["chosen_learning_rate"])
    below = [m for m in by_n if m <= int(n)]
    return by_n[max(below) if below else min(by_n)]


def ladder_from(rates: list[float], chosen_by_n: dict[int, float], found_by_n: dict[int, bool]) -> list[float]:
    """The rungs a size walks: the whole ladder for the first (largest) size; below it, from
    the rate the smallest size calibrated so far chose, if it found a stable one."""
    if not chosen_by_n:
        return list(rates)
    smallest = min(chosen_by_n)
    if not found_by_n[smallest]:
        return list(rates)
    return [rate for rate in rates if rate <= chosen_by_n[smallest]]


def problems_in(config: dict[str, Any]) -> list[str]:
    """Config problems of the calibration blocks (empty when fine), each naming its key."""
    problems = []
    for experiment, block in config.get("experiments", {}).items():
        options = settings(config, experiment)
        overlap = sorted(set(options["seeds"]) & set(block.get("seeds", [])))
        if overlap:
            problems.append(
                f"experiments.{experiment}: calibration seeds {overlap} are also evaluation "
                "seeds; the learning rate must be chosen on problem sets the evaluation never "
                "sees. Give calibration.seeds values outside the experiment's seeds."
            )
        rates = list(options["learning_rates"])
        if rates != sorted(rates, reverse=True) or len(set(rates)) != len(rates):
            problems.append(
                f"experiments.{experiment}: calibration.learning_rates {rates} must be strictly "
                "decreasing (the paper decreases the rate until training is stable)."
            )
    return problems


def is_learned(config: dict[str, Any], experiment: str, method: str) -> bool:
    """Methods with Adam training whose learning rate the calibration chooses (the paper's
    policy; not those that name another setting, ``Method.calibrated_setting``)."""
    from lio.methods import METHODS

    options = spec.block(config, experiment)["methods"].get(method) or {}
    return "training" in options and METHODS[method].calibrated_setting == "learning_rate"


def setting(config: dict[str, Any], experiment: str, method: str) -> str | None:
    """The setting the calibration chooses for (experiment, method): ``learning_rate`` for the
    Adam-trained methods, a method's own (``guidance``), or None (calibration disabled, or a
    method with nothing to calibrate, BFGS)."""
    from lio.methods import METHODS

    if not settings(config, experiment)["enabled"]:
        return None
    if is_learned(config, experiment, method):
        return "learning_rate"
    own = METHODS[method].calibrated_setting
    return own if own in LADDERS and own != "learning_rate" else None


def settled(curve: np.ndarray, window: float, tolerance: float) -> bool:
    """Whether, over the curve's last ``window`` (a fraction of it), no value exceeds the running
    minimum before it by more than ``tolerance`` of that minimum.

    A curve monitored every k-th step (``training.monitor_every``) is NaN between: the window
    holds its monitored values. A curve without a finite final value (training stopped on a
    non-finite loss) never settled."""
    curve = np.asarray(curve, float)
    if curve.size == 0 or not np.isfinite(curve[-1]):
        return False
    steps = np.flatnonzero(np.isfinite(curve))
    tail = curve[steps[steps >= int((1 - window) * (len(curve) - 1))]]
    running_min = np.minimum.accumulate(tail)
    return bool(np.all(tail - running_min <= tolerance * np.abs(running_min)))


def assess(estimate, problem, truth: np.ndarray, options: dict[str, Any]) -> dict[str, Any]:
    """One trained run's verdict: diverged / degenerate / settled, with its health numbers."""
    _, summary = health.diagnose(problem, estimate.solution, truth)
    diverged = bool(np.any(estimate.status == _diverged_code()))
    is_settled = settled(estimate.curve, options["settle_window"], options["settle_tolerance"])
    degenerate = health.is_degenerate(summary)
    return {
        **summary,
        "final_loss": float(np.nanmean(estimate.loss)),
        "diverged": diverged,
        "degenerate": degenerate,
        "settled": is_settled,
        "stable": (not diverged) and (not degenerate) and is_settled,
    }


def choose(trials: list[dict[str, Any]], rates: list[float]) -> tuple[float, bool]:
    """The largest rate stable on every seed, and whether one was; else the smallest rate."""
    for rate in sorted(rates, reverse=True):
        outcomes = [t for t in trials if t["learning_rate"] == rate]
        if outcomes and all(t["stable"] for t in outcomes):
            return rate, True
    return min(rates), False


def choose_lowest(trials: list[dict[str, Any]], name: str, values: list[float]) -> tuple[float, bool]:
    """The value of ``name`` whose trials have the lowest mean (over seeds) median refined
    loss, among those finite on every seed; and whether one was. Else the smallest value.

    Refined losses within ``EQUAL_RTOL`` of the lowest count as equal (on a convex loss every
    start refines to the same minimum), and among those the lowest mean median unrefined
    loss (``median_loss_unrefined``, the method's own estimates) decides."""
    scores = {}
    for value in values:
        outcomes = [t for t in trials if t[name] == value]
        if outcomes and all(t["finite"] for t in outcomes):
            scores[value] = tuple(
                float(np.mean([t[key] for t in outcomes]))
                for key in ("median_loss", "median_loss_unrefined")
            )
    if not scores:
        return min(values), False
    lowest = min(refined for refined, _ in scores.values())
    tied = [v for v, (refined, _) in scores.items() if refined <= lowest + EQUAL_RTOL * abs(lowest)]
    return min(tied, key=lambda v: scores[v][1]), True


def read_chosen(path: str | Path, n: int | None = None) -> tuple[str, float]:
    """(setting, chosen value) of a calibration file: a learning rate's (for a solve at
    problem-set size ``n``, ``chosen_for``), or a method's own."""
    record = json.loads(Path(path).read_text())
    name = record.get("setting", "learning_rate")
    if name == "learning_rate":
        return name, chosen_for(record, n)
    return name, float(record[f"chosen_{name}"])


def _diverged_code() -> int:
    from lio.methods.base import STATUS

    return STATUS.index("diverged")


def read_learning_rate(path: str | Path, n: int | None = None) -> float:
    """The chosen rate of a calibration file (for problem-set size ``n``: ``chosen_for``)."""
    return chosen_for(json.loads(Path(path).read_text()), n)


def table(paths: list[str | Path]) -> "pd.DataFrame":
    """One row per trial (experiment, method, value, seed) with its verdict and whether its
    value was chosen. ``setting`` names what the trial varied: ``learning_rate`` (the paper's
    policy; columns pinned, spread, settled, final_loss, stable) or a method's own (the
    diffusion prior's ``guidance``: finite, median_loss, median_loss_unrefined)."""
    import pandas as pd

    rows = []
    for path in paths:
        record = json.loads(Path(path).read_text())
        name = record.get("setting", "learning_rate")
        found = record.get("stable_rate_found", record.get("found"))
        for trial in record["trials"]:
            rows.append(
                {
                    "experiment": record["experiment"],
                    "method": record["method"],
                    "setting": name,
                    **trial,
                    "chosen": trial[name] == (
                        chosen_for(record, trial.get("n")) if name == "learning_rate"
                        else record[f"chosen_{name}"]
                    ),
                    "stable_rate_found": (record.get("found_by_n") or {}).get(str(trial.get("n")), found),
                }
            )
    return pd.DataFrame(rows)


def rows_of(frame: "pd.DataFrame | None", name: str) -> "pd.DataFrame | None":
    """The table's trials of one setting (a table written before ``setting`` existed holds
    learning rates only); None when it has none."""
    if frame is None or frame.empty:
        return None
    if "setting" not in frame:
        return frame if name == "learning_rate" else None
    rows = frame[frame["setting"] == name]
    return rows if len(rows) else None


def markdown(frame: "pd.DataFrame") -> str:
    lines = []
    rates = rows_of(frame, "learning_rate")
    if rates is not None:
        lines += [
            "**Learning-rate calibration** (paper: \"decreasing the Adam learning rate until "
            "stable convergence is reached\"; largest rate first, stop at the first stable on "
            "every calibration seed)\n",
            "| experiment | method | n | learning rate | seed | diverged | pinned | spread | settled | "
            "L/n | verdict |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in rates.itertuples():
            verdict = ("**chosen**" if row.chosen else "") + (" stable" if row.stable else " unstable")
            lines.append(
                f"| {row.experiment} | {row.method} | {row.n} | {row.learning_rate:g} | {row.seed} | "
                f"{'yes' if row.diverged else 'no'} | {100 * row.pinned:.0f}% | {row.spread:.2f} | "
                f"{'yes' if row.settled else 'no'} | {row.final_loss:.4g} | {verdict.strip()} |"
            )
    guidance = rows_of(frame, "guidance")
    if guidance is not None:
        lines += [
            ("\n" if lines else "")
            + "**Guidance calibration** (beyond the paper: the diffusion prior's DPS step zeta; "
            "lowest median refined loss on the calibration seeds wins)\n",
            "| experiment | method | zeta | seed | median L, own | median L, refined | finite | chosen |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in guidance.itertuples():
            lines.append(
                f"| {row.experiment} | {row.method} | {row.guidance:g} | {row.seed} | "
                f"{row.median_loss_unrefined:.6g} | {row.median_loss:.6g} | "
                f"{'yes' if row.finite else 'no'} | {'**chosen**' if row.chosen else ''} |"
            )
    return "\n".join(lines) + "\n"


def write_table(paths: list[str | Path], csv: str | Path, markdown_path: str | Path) -> None:
    frame = table(paths)
    write_atomically(csv, frame.to_csv(index=False, float_format="%.6g"))
    write_atomically(markdown_path, markdown(frame))
