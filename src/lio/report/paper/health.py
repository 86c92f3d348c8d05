"""Did the learned methods train? The training-health table (lio.analysis.health) with the exact
comparison, and the notes on methods whose estimates are pinned to the box edge."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from lio.analysis.metrics import health_verdict
from lio.report.paper.tex import group_row, macro, method_label, plain_number, stacked

HEALTH_COLUMNS = ("pinned", "spread", "error", "in_basin", "degenerate", "better_exact")


def error_cell(own: pd.Series) -> str:
    """Median error of the own estimates, after the one where the search started when the
    table has it (``lio.analysis.health.progress``; records made before lio recorded the start lack it)."""
    started = own.get("error_initial", np.nan)
    if not np.isfinite(started):
        return f"{own.error:.3f}"
    return f"{started:.3f} $\\to$ {own.error:.3f}"


def health_tabular(table: pd.DataFrame, experiments: Sequence[str]) -> str:
    """Experiment x method rows: training health (lio.analysis.health) and the exact comparison.

    Pinned, spread and median error of the methods' own (unrefined) estimates, the fraction in
    the truth's basin before -> after refinement, degenerate runs of all runs, and the refined
    better / equal / same-minimum fractions compared exactly (rtol = atol = 0). A table written
    before these diagnostics existed (an older record) gives a sentence instead.
    """
    if not set(HEALTH_COLUMNS) <= set(table.columns):
        return (
            "The results this report reads were tabulated before lio recorded training health "
            "(lio.analysis.health) and the exact comparison; rerun the sweep to see them.\n"
        )
    pct = lambda v: "--" if not np.isfinite(v) else f"{100 * v:.0f}"  # noqa: E731
    lines = [
        r"\begin{tabular}{lrrrrrrrrr}",
        r"\toprule",
        r" & \multicolumn{5}{c}{own estimate (unrefined)} & & \multicolumn{3}{c}{refined, exact (\%)} \\",
        r"\cmidrule(lr){2-6}\cmidrule(lr){8-10}",
        "method & " + " & ".join([
            stacked("pinned \\%", "(pooled)"), "spread", stacked("error", "start $\\to$ own"), "closer \\%",
            stacked("basin \\%", "$\\to$ refined"), "degen.", "better", "equal", stacked("same", "min."),
        ]) + r" \\",
        r"\midrule",
    ]
    for index, experiment in enumerate(experiments):
        rows = table[table["experiment"] == experiment]
        if index:
            lines.append(r"\addlinespace")
        lines.append(group_row(experiment, 10))
        for method in dict.fromkeys(rows["method"]):
            own = rows[(rows["method"] == method) & (rows["stage"] == "unrefined")].iloc[0]
            final = rows[(rows["method"] == method) & (rows["stage"] == "refined")].iloc[0]
            cells = [
                method_label(method),
                pct(own.pinned) + (f" ({pct(own.pinned_pooled)})" if "pinned_pooled" in own else ""),
                plain_number(own.spread),
                error_cell(own),
                pct(own.get("closer", np.nan)),
                f"{pct(own.in_basin)} $\\to$ {pct(final.in_basin)}",
                health_verdict(own),
                pct(final.better_exact),
                pct(final.equal_exact),
                pct(final.same_minimum),
            ]
            lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


def pinning_notes(table: pd.DataFrame, experiments: Sequence[str]) -> str:
    """A sentence for every method whose estimates are pinned in more than the degenerate share
    (mean over the groups), saying where: the share of all problems, and the sizes n of the
    groups above that share."""
    from lio.analysis.health import DEGENERATE_PINNED

    if "pinned_pooled" not in table.columns:
        return ""
    limit = f"{100 * DEGENERATE_PINNED:.0f}\\,\\%"
    sentences = []
    for experiment in experiments:
        rows = table[(table["experiment"] == experiment) & (table["stage"] == "unrefined")]
        for row in rows.itertuples():
            if row.pinned <= DEGENERATE_PINNED:
                continue
            ns = "" if pd.isna(row.pinned_ns) else str(row.pinned_ns).split()
            where = rf", and the groups above {limit} have $n \in \{{{', '.join(ns)}\}}$" if ns else ""
            sentences.append(
                f"{macro(experiment, 'Title')}, {method_label(row.method).lower()}: "
                rf"{100 * row.pinned:.1f}\,\% pinned as a mean over the $(n, \text{{seed}})$ "
                rf"groups, but {100 * row.pinned_pooled:.1f}\,\% of all its problems{where}."
            )
    if not sentences:
        return f"No learned method has more than {limit} of its estimates pinned.\n"
    return (
        f"Methods with more than {limit} of their own estimates pinned to the box edge "
        r"(Table~\ref{tab:health}, mean over the groups, each group weighted alike): "
        + " ".join(sentences) + "\n"
    )
