"""Better or equal than BFGS: one section per experiment, the comparison tables (refined and
unrefined, with the paper's values) and the summary of where the paper's values fall."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import pandas as pd

from lio.problems.base import Problem
from lio.report.figures import LOSS_FLOOR
from lio.report.paper.tex import macro, method_label


def comparison_tabular(
    table: pd.DataFrame, stage: str, experiments: Sequence[str], reference: dict[str, Any] | None
) -> str:
    """Experiment x method rows: ours (and the paper's, where given) better / equal in percent."""
    paper = reference is not None
    head = r"\multicolumn{2}{c}{ours [CI]}" + (" & paper" if paper else "")
    columns = "ll" + ("rlr" if paper else "rl") * 2
    width = 3 if paper else 2
    lines = [
        f"\\begin{{tabular}}{{{columns}}}",
        r"\toprule",
        f" & & \\multicolumn{{{width}}}{{c}}{{better than BFGS (\\%)}}"
        f" & \\multicolumn{{{width}}}{{c}}{{equal to BFGS (\\%)}} \\\\",
        f"\\cmidrule(lr){{3-{2 + width}}}\\cmidrule(lr){{{3 + width}-{2 + 2 * width}}}",
        f"experiment & method & {head} & {head} \\\\",
        r"\midrule",
    ]
    for index, experiment in enumerate(experiments):
        rows = table[(table["experiment"] == experiment) & (table["stage"] == stage)]
        if index:
            lines.append(r"\addlinespace")
        for position, (_, row) in enumerate(rows.iterrows()):
            name = macro(experiment, "Title") if position == 0 else ""
            cells = [name, method_label(row.method)]
            for kind in ("better", "equal"):
                base = macro(experiment, row.method, stage, kind)
                cells += [base, f"{{\\footnotesize[{base}Low, {base}High]}}"]
                if paper:
                    cells.append(macro(experiment, row.method, "Paper", kind))
            lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


def experiment_sections(
    experiments: Sequence[str],
    figures: dict[str, list[str]],
    directory: str,
    methods: dict[str, Sequence[str]],
    published: Sequence[str] = (),
    captions: dict[str, dict[str, str]] | None = None,
    loss_panels: dict[str, str] | None = None,
) -> str:
    """One subsection per experiment: description (paper/experiments/{key}.tex), figure, results.

    ``methods``: the learned methods each experiment ran (CT runs no neural adjoint);
    ``published``: the experiments the paper has numbers for (the others get no "paper:");
    ``captions``: per experiment, what its panels (a) and (b) show (``Problem.panel_captions``);
    ``loss_panels``: per experiment, what its panel (d) draws (``lio.report.figures.loss_panel_kind``).
    """
    default = Problem.panel_captions

    def panel(experiment: str, name: str) -> str:
        return (captions or {}).get(experiment, default).get(name, default[name])

    floor = f"10^{{{round(math.log10(LOSS_FLOOR))}}}"
    solved = f"a loss below ${floor}$ times the largest upper quartile of any method and $n$"

    def loss_panel(experiment: str) -> str:
        if (loss_panels or {}).get(experiment) == "solved":
            return ("the share of problems the refinement solves to round-off against $n$ ("
                    + solved + "), over every problem of every seed, bars the range over seeds: "
                    "solved and missed problems mix, so a mean or median loss jumps between the two")
        return ("the refined loss $L$ of each problem against $n$, median and quartiles over every "
                f"problem of every seed, floored at {solved} (dotted, where reached)")

    out = []
    for experiment in experiments:

        def m(*parts: str) -> str:
            return macro(experiment, *parts) + "{}"

        panels = []
        for path in figures[experiment]:
            relative = os.path.relpath(path, directory).replace(os.sep, "/")
            panels.append(f"\\includegraphics[width=0.49\\linewidth]{{{relative}}}")
        items = []
        for method in methods[experiment]:
            better, equal = (m(method, "Refined", kind) for kind in ("Better", "Equal"))
            paper = (
                f" (paper: {m(method, 'PaperBetter')}\\,\\% and {m(method, 'PaperEqual')}\\,\\%)"
                if experiment in published else ""
            )
            items.append(
                f"\\item \\emph{{{method_label(method)}}}: better than BFGS on {better}\\,\\% of the "
                f"problems (CI {m(method, 'RefinedBetterLow')}--{m(method, 'RefinedBetterHigh')}\\,\\%), "
                f"equal on {equal}\\,\\%{paper}; without refinement "
                f"{m(method, 'UnrefinedBetter')}\\,\\% and {m(method, 'UnrefinedEqual')}\\,\\%."
            )
        out.append(
            f"\\subsection{{{m('Title')}}}\\label{{sec:{experiment}}}\n"
            f"\\IfFileExists{{experiments/{experiment}.tex}}{{\\input{{experiments/{experiment}.tex}}}}"
            "{No description of this experiment is in \\texttt{paper/experiments/} yet.}\n\n"
            "\\begin{figure}[tbp]\n\\centering\n"
            f"{panels[0]}\\hfill{panels[1]}\\\\[1ex]\n{panels[2]}\\hfill{panels[3]}\n"
            f"\\caption{{{m('Title')}: (a) {panel(experiment, 'a')}, "
            f"(b) {panel(experiment, 'b')}, "
            f"(c) $L/n$ during the optimisation without refinement at $n = {m('CurvesN')}$, geometric mean "
            f"with a band $\\div$ and $\\times$ the geometric standard deviation over {m('Seeds')} seeds, "
            f"(d) {loss_panel(experiment)}. The BFGS line is drawn on top.}}\n"
            f"\\label{{fig:{experiment}}}\n\\end{{figure}}\n\n"
            f"Figure~\\ref{{fig:{experiment}}} shows the experiment, "
            f"run for $n \\in \\{{{m('NList')}\\}}$ "
            f"with {m('Seeds')} seeds each: {m('Problems')} inverse problems per method.{m('SweepNote')} The fractions "
            f"below are means over all $(n, \\text{{seed}})$, with {macro('Confidence')}\\,\\% "
            "bootstrap intervals (CI):\n"
            "\\begin{itemize}\n" + "\n".join(items) + "\n\\end{itemize}\n"
        )
    return "\n".join(out)


def summary(table: pd.DataFrame, experiments: Sequence[str], reference: dict[str, Any]) -> str:
    """Where the paper's refined better-fractions fall relative to our confidence intervals."""
    verdicts: dict[str, list[str]] = {"inside": [], "below": [], "above": []}
    for experiment in experiments:
        published = reference.get(experiment, {}).get("table2", {})
        rows = table[(table["experiment"] == experiment) & (table["stage"] == "refined")]
        for _, row in rows.iterrows():
            if row.method not in published:
                continue
            paper = published[row.method]["better"] / 100
            if paper < row.better_low:
                verdict = "below"
            elif paper > row.better_high:
                verdict = "above"
            else:
                verdict = "inside"
            verdicts[verdict].append(
                f"{macro(experiment, 'Title')}{{}} / {method_label(row.method).lower()}"
            )
    compared = sum(len(v) for v in verdicts.values())
    if not compared:
        return "None of our experiments has published numbers to compare with.\n"
    inside = verdicts["inside"]
    sentences = [
        f"Of the {compared} refined better-than-BFGS fractions that the paper publishes for our "
        f"experiments, {len(inside)} {'lies' if len(inside) == 1 else 'lie'} inside our {macro('Confidence')}\\,\\% interval"
        + (f" ({'; '.join(inside)})." if inside else ".")
    ]
    for verdict in ("below", "above"):
        if verdicts[verdict]:
            sentences.append(
                f"The paper's value lies {verdict} our interval for {len(verdicts[verdict])}: "
                + "; ".join(verdicts[verdict])
                + "."
            )
    return " ".join(sentences) + "\n"
