"""Where we differ from the paper: the refined better-fractions far from the paper's, each with
what was measured in those runs, and the basins check (lio.run.basins) that bounds "better"."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from lio.analysis.metrics import health_verdict
from lio.report.paper.health import HEALTH_COLUMNS
from lio.report.paper.tex import group_row, macro, method_label, stacked

DEVIATION_POINTS = 15  # issue 17: a refined better-fraction this far from the paper's needs a measured reason


def deviations_tabular(
    table: pd.DataFrame,
    experiments: Sequence[str],
    reference: dict[str, Any],
    trials: pd.DataFrame | None,
    points: float = DEVIATION_POINTS,
    basins: dict[str, dict[str, Any]] | None = None,
) -> str:
    """The refined better-than-BFGS fractions more than ``points`` from the paper's, each with
    what was measured in those runs: the method's training health next to BFGS's, the
    learning rate it trained at (calibrated, or the config's), and the share of calibration
    problems where BFGS is stuck (``lio.run.basins``: the bound on "better"; -- without one)."""
    if not set(HEALTH_COLUMNS) <= set(table.columns):
        return "The results this report reads carry no training health; rerun the sweep.\n"
    rows = []
    for experiment in experiments:
        published = reference.get(experiment, {}).get("table2", {})
        ours = table[(table["experiment"] == experiment) & (table["stage"] == "unrefined")]
        refined = table[(table["experiment"] == experiment) & (table["stage"] == "refined")]
        bfgs = ours[ours["method"] == "bfgs"]
        for method, paper in published.items():
            row = refined[refined["method"] == method]
            if row.empty or abs(100 * row.iloc[0].better - paper["better"]) <= points:
                continue
            own = ours[ours["method"] == method].iloc[0]
            rate = "--"
            if trials is not None and len(trials):
                chosen = trials[(trials["experiment"] == experiment) & (trials["method"] == method) & trials["chosen"]]
                rate = f"{chosen.iloc[0].learning_rate:g}" if len(chosen) else "--"
            base = bfgs.iloc[0] if len(bfgs) else None
            pair = lambda name, f: f(own[name]) + (f" / {f(base[name])}" if base is not None else "")  # noqa: E731
            rows.append([
                experiment,
                method_label(method),
                f"{100 * row.iloc[0].better:.1f}",
                f"{paper['better']:.1f}",
                f"{100 * row.iloc[0].better - paper['better']:+.1f}",
                f"{100 * own.pinned:.0f}",
                pair("error", lambda v: f"{v:.3f}"),
                pair("in_basin", lambda v: f"{100 * v:.0f}"),
                health_verdict(own),
                rate,
                f"{100 * basins[experiment]['stuck']:.0f}" if experiment in (basins or {}) else "--",
            ])
    if not rows:
        return f"Every refined better-fraction lies within {points:g} points of the paper's.\n"
    lines = [
        r"\begin{tabular}{lrrrrrrrrr}",
        r"\toprule",
        "method & " + " & ".join([
            "ours \\%", "paper \\%", "$\\Delta$", "pinned \\%", stacked("error", "(vs BFGS)"),
            stacked("basin \\%", "(vs BFGS)"), "degen.", "rate", stacked("BFGS", "stuck \\%"),
        ]) + r" \\",
        r"\midrule",
    ]
    for index, cells in enumerate(rows):
        if index == 0 or cells[0] != rows[index - 1][0]:
            lines += ([r"\addlinespace"] if index else []) + [group_row(cells[0], 10)]
        lines.append(" & ".join(cells[1:]) + r" \\")
    lines += [
        r"\bottomrule",
        r"\end{tabular}",
        "",
    ]
    return "\n".join(lines)


def basins_tabular(basins: dict[str, dict[str, Any]], experiments: Sequence[str]) -> str:
    """Experiment rows of the basins check (``lio.run.basins``): how often BFGS from the prior mean
    is stuck, i.e. another start reaches a lower optimum."""
    rows = [e for e in experiments if e in basins]
    if not rows:
        return "No experiment of these results has a basins check (\\texttt{basins} in its config block).\n"
    lines = [
        r"\begin{tabular}{lrrrrrr}",
        r"\toprule",
        r"experiment & problems & stuck \% & truth's start lower \% & in basin \% & iterations (median, max) & optima reached \\",
        r"\midrule",
    ]
    for experiment in rows:
        record = basins[experiment]
        problems = sum(int(s["n"]) for s in record["sets"])
        lines.append(
            f"{macro(experiment, 'Title')} & {problems} & {100 * record['stuck']:.0f} & "
            f"{100 * record['truth_start_lower']:.0f} & {100 * record['in_basin']:.0f} & "
            f"{record['iterations_median']:.0f}, {record['iterations_max']} & "
            f"{record['distinct_optima_median']:.0f} \\\\"
        )
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)
