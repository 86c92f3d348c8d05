"""Better / equal fractions against BFGS with bootstrap confidence intervals (paper Table 2)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from lio.analysis import health
from lio.analysis.bootstrap import stratified_bootstrap

from lio.core import quality

if TYPE_CHECKING:
    from lio.problems import Problem


def compare(
    loss: np.ndarray, baseline: np.ndarray, rtol: float, atol: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per example: is ``loss`` better than / equal to ``baseline``?

    Equal means ``|loss - baseline| <= atol + rtol * max(|loss|, |baseline|)``; better means
    strictly lower and not equal. A non-finite loss is neither (it counts as worse).
    """
    loss = np.asarray(loss, float)
    baseline = np.asarray(baseline, float)
    finite = np.isfinite(loss)
    with np.errstate(invalid="ignore"):
        tolerance = atol + rtol * np.maximum(np.abs(loss), np.abs(baseline))
        equal = finite & (np.abs(loss - baseline) <= tolerance)
        better = finite & ~equal & (loss < baseline)
    return better, equal


def fractions(
    aggregate: xr.Dataset,
    stage: str,
    rtol: float,
    atol: float,
    resamples: int,
    confidence: float,
    seed: int = 0,
    problem=None,
    same_minimum: float = 1e-4,
    quality_atol: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Better/equal fractions of every learned method against BFGS, with bootstrap CIs.

    The fraction is the mean over (n, seed) groups of each group's fraction (paper: "mean over
    multiple seeds and all n"). The interval is a stratified percentile bootstrap
    (``lio.analysis.bootstrap``): examples are resampled with replacement within each group,
    ``resamples`` times, one resample per group shared by all its flags.

    Besides better/equal under the tolerances, every row holds the *exact* comparison
    (``better_exact``/``equal_exact``: rtol = atol = 0, equal only for identical losses, as a
    comparison at machine precision) and ``same_minimum``: the fraction whose estimate lies
    within ``same_minimum`` of the box's width of BFGS's own solution in every parameter (both
    reached one point, whatever their losses' last digits say). With ``problem`` (for its box
    and basin test) the rows also carry the training health of ``lio.analysis.health`` (``pinned``,
    ``outside``, ``in_basin``: fractions; ``spread``, ``error``: per-group values; means over
    the groups), ``degenerate``, the number of degenerate groups, ``pinned_pooled``, the share
    of all problems pinned (groups weighted by n), and ``pinned_ns``, the sizes n of the groups
    with more than the degenerate share pinned; BFGS gets a row of its
    own with these (its better/equal are NaN).

    Where the aggregate holds truth metrics (``lio.core.quality``: PSNR, SSIM, relative error of the
    image problems), every row also carries their means over the groups (``psnr`` ...) with
    intervals from the same stratified resamples (``psnr_low``, ``psnr_high``), and the
    better/equal fractions judged on each metric against BFGS's refined one instead of on the
    loss (``better_psnr``, ``equal_psnr`` with intervals): equal within ``quality_atol[metric]``
    (absolute: dB for PSNR), better in the metric's good direction. On an ill-posed imaging
    problem a lower loss need not be a better image, so both comparisons are reported.

    Args:
        aggregate: dims solver x n x seed x example, with ``loss_{stage}``; must hold 'bfgs'.
        stage: 'refined' or 'unrefined'.
    """
    if "bfgs" not in aggregate["solver"].values:
        raise ValueError(
            "fractions: the aggregate has no 'bfgs' runs; add bfgs to the experiment's methods "
            "— every learned method is compared against it."
        )
    rng = np.random.default_rng(seed)
    baseline = aggregate["loss_refined"].sel({"solver": "bfgs"})
    width = None
    if problem is not None:
        lower, upper = (np.asarray(b, float) for b in problem.bounds)
        width = upper - lower
        baseline_solution = aggregate["solution_refined"].sel({"solver": "bfgs"})
    qualities = [q for q in quality.HIGHER_IS_BETTER if f"{q}_{stage}" in aggregate]
    quality_atol = quality_atol or {}
    rows = []
    for method in aggregate["solver"].values:
        loss = aggregate[f"loss_{stage}"].sel({"solver": method})
        solution = aggregate[f"solution_{stage}"].sel({"solver": method}) if width is not None else None
        strata: list[tuple[int, dict[str, np.ndarray]]] = []  # per group: its n and its flags
        healths: list[dict[str, float]] = []
        quality_means: dict[str, list[float]] = {}
        for n in aggregate["n"].values:
            for seed_value in aggregate["seed"].values:
                group = {"n": n, "seed": seed_value}
                mine = loss.sel(group).values[: int(n)]
                theirs = baseline.sel(group).values[: int(n)]
                if np.all(np.isnan(mine)) or np.all(np.isnan(theirs)):
                    continue  # run absent from this aggregate
                flags = {}
                if method != "bfgs":
                    flags["better"], flags["equal"] = compare(mine, theirs, rtol, atol)
                    flags["better_exact"], flags["equal_exact"] = compare(mine, theirs, 0.0, 0.0)
                    if width is not None:
                        distance = np.abs(
                            solution.sel(group).values[: int(n)]
                            - baseline_solution.sel(group).values[: int(n)]
                        ) / width
                        flags["same_minimum"] = np.all(distance <= same_minimum, axis=-1)
                for name in qualities:
                    # Signed so that lower is better, as compare() expects of losses.
                    sign = -1.0 if quality.HIGHER_IS_BETTER[name] else 1.0
                    values = aggregate[f"{name}_{stage}"].sel({"solver": method, **group}).values[: int(n)]
                    reference = aggregate[f"{name}_refined"].sel({"solver": "bfgs", **group}).values[: int(n)]
                    quality_means.setdefault(name, []).append(float(np.nanmean(values)))
                    if np.all(np.isfinite(values)):
                        flags[f"mean_{name}"] = values  # its interval: the same resamples as the flags'
                    if method != "bfgs":
                        flags[f"better_{name}"], flags[f"equal_{name}"] = compare(
                            sign * values, sign * reference, 0.0, quality_atol.get(name, 0.0)
                        )
                if problem is not None:
                    estimate = solution.sel(group).values[: int(n)]
                    truth = aggregate["truth"].sel({"solver": method, **group}).values[: int(n)]
                    basin = problem.in_basin(estimate, truth)
                    summary = health.run_summary(estimate, truth, lower, upper, basin) | {"n": int(n)}
                    if stage == "unrefined" and "solution_initial" in aggregate:
                        initial = aggregate["solution_initial"].sel({"solver": method, **group}).values[: int(n)]
                        if np.all(np.isfinite(initial)):  # absent for runs made before lio recorded it
                            summary |= health.progress(initial, estimate, truth, lower, upper)
                    healths.append(summary)
                strata.append((int(n), flags))
        intervals = stratified_bootstrap(strata, resamples, confidence, rng)
        if not intervals and not healths:
            continue
        if method == "bfgs" and not healths:
            continue
        groups = sum("better" in flags for _, flags in strata)  # groups compared against BFGS
        row = {"method": method, "stage": stage, "groups": max(len(healths), groups)}
        compared = [f"{kind}_{q}" for q in qualities for kind in ("better", "equal")]
        for name in ("better", "equal", "better_exact", "equal_exact", "same_minimum", *compared):
            row[name], row[f"{name}_low"], row[f"{name}_high"] = intervals.get(name, (np.nan,) * 3)
        for name in qualities:
            row[name] = float(np.nanmean(quality_means[name])) if quality_means.get(name) else np.nan
            row[f"{name}_low"], row[f"{name}_high"] = intervals.get(f"mean_{name}", (np.nan,) * 3)[1:]
        if healths:
            for name in health.RUN_METRICS:
                row[name] = float(np.nanmean([h[name] for h in healths]))
            for name in health.PROGRESS_METRICS:
                known = [h[name] for h in healths if name in h]
                row[name] = float(np.mean(known)) if known else np.nan
            row["degenerate"] = int(sum(health.is_degenerate(h) for h in healths))
            # What the flags mean for a baseline, where nothing trains: stuck at its start
            # (estimates as clustered as the one start they share) or left the prior's box.
            row["stuck"] = int(sum(health.is_stuck(h) for h in healths))
            row["left_box"] = int(sum(health.left_box(h) for h in healths))
            # ``pinned`` weighs every (n, seed) group alike, so a pinned half of an n = 2 run
            # counts as much as one of n = 256: the share of all problems, and the sizes n of
            # the groups above the degenerate share, say where the pinning lives.
            sizes = np.array([h["n"] for h in healths], float)
            row["pinned_pooled"] = float(np.sum([h["pinned"] for h in healths] * sizes) / sizes.sum())
            row["pinned_ns"] = " ".join(
                str(n) for n in sorted({h["n"] for h in healths if h["pinned"] > health.DEGENERATE_PINNED})
            )
        rows.append(row)
    return pd.DataFrame(rows)


def learned_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows compared against BFGS (BFGS's own health row has no better/equal)."""
    return table[table["method"] != "bfgs"]


def percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def health_verdict(row: Any) -> str:
    """The degenerate-runs cell: ``k/N`` for a learned method; for a baseline, whose flags are no
    training failure, what they mean ("stuck at its start k/N", "left the box m/N")."""
    from lio.methods import METHODS

    groups = int(row.groups)
    learns = METHODS[row.method].learns if row.method in METHODS else True
    if learns or "stuck" not in row or not np.isfinite(row.stuck):
        return f"{int(row.degenerate)}/{groups}"
    parts = [f"{label} {int(count)}/{groups}" for label, count in
             (("stuck at its start", row.stuck), ("left the box", row.left_box)) if count]
    return "; ".join(parts) if parts else f"0/{groups}"


def markdown_table(table: pd.DataFrame) -> str:
    """Experiment x method: 'better / equal' with intervals, one table per stage."""
    lines = []
    for stage, block in learned_rows(table).groupby("stage", sort=False):
        methods = list(dict.fromkeys(block["method"]))
        lines.append(f"**{stage}** (better / equal than BFGS, 95% bootstrap interval)\n")
        lines.append("| experiment | " + " | ".join(methods) + " |")
        lines.append("|---|" + "---|" * len(methods))
        for experiment, rows in block.groupby("experiment", sort=False):
            cells = []
            for method in methods:
                row = rows[rows["method"] == method]
                if row.empty:
                    cells.append("–")
                    continue
                r = row.iloc[0]
                cells.append(
                    f"{percent(r.better)} [{percent(r.better_low)}, {percent(r.better_high)}] / "
                    f"{percent(r.equal)} [{percent(r.equal_low)}, {percent(r.equal_high)}]"
                )
            lines.append(f"| {experiment} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def health_markdown(table: pd.DataFrame) -> str:
    """Training health (``lio.analysis.health``) and the exact comparison, experiment x method rows."""
    lines = [
        "**training health and exact comparison** (own estimate: pinned to the box edge, "
        "spread vs the truths', median error / box (at the search's start -> own estimate), "
        "share ending closer to the truth than it started, in the truth's basin; refined: in "
        "basin, better / equal compared exactly, same minimum as BFGS; degenerate runs of all runs)\n",
        "| experiment | method | pinned | spread | error (start -> own) | closer than start | "
        "in basin | refined in basin | exact better / equal | same minimum | degenerate |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (experiment, method), rows in table.groupby(["experiment", "method"], sort=False):
        own = rows[rows["stage"] == "unrefined"].iloc[0]
        final = rows[rows["stage"] == "refined"].iloc[0]
        exact = (
            "–" if not np.isfinite(final.better_exact)
            else f"{percent(final.better_exact)} / {percent(final.equal_exact)}"
        )
        same = "–" if not np.isfinite(final.same_minimum) else percent(final.same_minimum)
        started = own.get("error_initial", np.nan)
        error = f"{own.error:.3f}" if not np.isfinite(started) else f"{started:.3f} -> {own.error:.3f}"
        closer = own.get("closer", np.nan)
        closer = "–" if not np.isfinite(closer) else percent(closer)
        lines.append(
            f"| {experiment} | {method} | {percent(own.pinned)} | {own.spread:.2f} | "
            f"{error} | {closer} | {percent(own.in_basin)} | {percent(final.in_basin)} | {exact} | "
            f"{same} | {health_verdict(own)} |"
        )
    return "\n".join(lines) + "\n"


def latex_table(table: pd.DataFrame, stage: str) -> str:
    """A booktabs tabular of one stage: experiment rows, better/equal columns per method."""
    block = learned_rows(table)[lambda t: t["stage"] == stage]
    methods = list(dict.fromkeys(block["method"]))
    header = " & ".join(
        f"\\multicolumn{{2}}{{c}}{{{m.replace('_', ' ').title()}}}" for m in methods
    )
    lines = [
        "\\begin{tabular}{l" + "rr" * len(methods) + "}",
        "\\toprule",
        f"Experiment & {header} \\\\",
        " & " + " & ".join(["Better & Equal"] * len(methods)) + " \\\\",
        "\\midrule",
    ]
    for experiment, rows in block.groupby("experiment", sort=False):
        cells = []
        for method in methods:
            row = rows[rows["method"] == method]
            if row.empty:
                cells += ["--", "--"]
            else:
                r = row.iloc[0]
                cells += [
                    f"{100 * r.better:.1f}\\%",
                    f"{100 * r.equal:.1f}\\%",
                ]
        lines.append(f"{experiment.replace('_', ' ')} & " + " & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", ""]
    return "\n".join(lines)


def stage_fractions(dataset, problem: Problem, options: dict[str, Any]) -> list[pd.DataFrame]:
    """``fractions`` of one aggregate, refined then unrefined, under the comparison
    block ``options`` (tolerances, bootstrap, same-minimum distance)."""
    return [
        fractions(
            dataset,
            stage,
            rtol=options["rtol"],
            atol=options["atol"],
            resamples=options["bootstrap_resamples"],
            confidence=options["confidence"],
            problem=problem,
            same_minimum=options.get("same_minimum", 1e-4),
            quality_atol=options.get("quality_atol"),
        )
        for stage in ("refined", "unrefined")
    ]
