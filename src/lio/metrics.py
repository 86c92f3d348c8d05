"""Better / equal fractions against BFGS with bootstrap confidence intervals (paper Table 2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr


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
) -> pd.DataFrame:
    """Better/equal fractions of every learned method against BFGS, with bootstrap CIs.

    The fraction is the mean over (n, seed) groups of each group's fraction (paper: "mean over
    multiple seeds and all n"). The interval is a stratified percentile bootstrap: examples are
    resampled with replacement within each group, ``resamples`` times.

    Args:
        aggregate: dims method x n x seed x example, with ``loss_{stage}``; must hold 'bfgs'.
        stage: 'refined' or 'unrefined'.
    """
    if "bfgs" not in aggregate["method"].values:
        raise ValueError(
            "fractions: the aggregate has no 'bfgs' runs; add bfgs to the experiment's methods "
            "— every learned method is compared against it."
        )
    rng = np.random.default_rng(seed)
    baseline = aggregate["loss_refined"].sel({"method": "bfgs"})
    rows = []
    for method in aggregate["method"].values:
        if method == "bfgs":
            continue
        loss = aggregate[f"loss_{stage}"].sel({"method": method})
        group_better, group_equal, boot_better, boot_equal = [], [], [], []
        for n in aggregate["n"].values:
            for seed_value in aggregate["seed"].values:
                mine = loss.sel(n=n, seed=seed_value).values[: int(n)]
                theirs = baseline.sel(n=n, seed=seed_value).values[: int(n)]
                if np.all(np.isnan(mine)) or np.all(np.isnan(theirs)):
                    continue  # run absent from this aggregate
                better, equal = compare(mine, theirs, rtol, atol)
                group_better.append(better.mean())
                group_equal.append(equal.mean())
                picks = rng.integers(0, int(n), size=(resamples, int(n)))
                boot_better.append(better[picks].mean(axis=1))
                boot_equal.append(equal[picks].mean(axis=1))
        if not group_better:
            continue
        alpha = (1 - confidence) / 2
        row = {"method": method, "stage": stage, "groups": len(group_better)}
        for name, point, boot in (
            ("better", group_better, boot_better),
            ("equal", group_equal, boot_equal),
        ):
            means = np.mean(boot, axis=0)
            row[name] = float(np.mean(point))
            row[f"{name}_low"] = float(np.quantile(means, alpha))
            row[f"{name}_high"] = float(np.quantile(means, 1 - alpha))
        rows.append(row)
    return pd.DataFrame(rows)


def percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def markdown_table(table: pd.DataFrame) -> str:
    """Experiment x method: 'better / equal' with intervals, one table per stage."""
    lines = []
    for stage, block in table.groupby("stage", sort=False):
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


def latex_table(table: pd.DataFrame, stage: str) -> str:
    """A booktabs tabular of one stage: experiment rows, better/equal columns per method."""
    block = table[table["stage"] == stage]
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
