"""The report's sensitivity section, from the study tables (``lio.run.studies``): how far each
Table 2 fraction moves when one unstated constant moves, and whether the paper's value is
within reach of any value tried."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import pandas as pd

from lio.report.paper.tex import latex_escape, method_label


def _cells(rows: pd.DataFrame) -> list[tuple[str, float, float, float, bool]]:
    """(value, better, low, high, is_record) of one method's refined rows, in value order."""
    rows = rows.sort_values("value_index")
    return [
        (str(r.value), 100 * r.better, 100 * r.better_low, 100 * r.better_high, bool(r.is_record))
        for r in rows.itertuples()
    ]


def reach(cells, paper: float | None) -> str:
    """Whether the paper's fraction lies inside some value's interval, or which value comes closest."""
    if paper is None:
        return "--"
    inside = [value for value, _, low, high, _ in cells if low <= paper <= high]
    if inside:
        return "yes: " + ", ".join(latex_escape(v) for v in inside)
    value, better, *_ = min(cells, key=lambda c: abs(c[1] - paper))
    return f"no ({better:.1f} at {latex_escape(value)})"


def findings(tables: dict[str, pd.DataFrame], reference: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per (study, learned method): the range of its refined better fraction."""
    out = []
    for name, frame in tables.items():
        refined = frame[(frame["stage"] == "refined") & (frame["method"] != "bfgs")]
        head = frame.iloc[0]
        for method in dict.fromkeys(refined["method"]):
            cells = _cells(refined[refined["method"] == method])
            low = min(cells, key=lambda c: c[1])
            high = max(cells, key=lambda c: c[1])
            record = next((c for c in cells if c[4]), None)
            paper = reference.get(head["experiment"], {}).get("table2", {}).get(method, {}).get("better")
            out.append({
                "study": name, "experiment": head["experiment"], "setting": head["setting"],
                "method": method, "cells": cells, "low": low, "high": high, "record": record,
                "paper": paper, "reach": reach(cells, paper),
            })
    return out


def robustness_tabular(found: list[dict[str, Any]], titles: dict[str, str]) -> str:
    if not found:
        return "No sensitivity study is in the results this report reads.\n"
    lines = [
        r"\begin{tabular}{llrrrp{3.2cm}}",
        r"\toprule",
        r"setting & method & record \% & range \% (at value) & paper \% & paper within a CI \\",
        r"\midrule",
    ]
    previous = None
    for f in found:
        if f["experiment"] != previous:
            title = titles.get(f["experiment"], latex_escape(f["experiment"]))
            lines += ([r"\addlinespace"] if previous else []) + [rf"\multicolumn{{6}}{{@{{}}l}}{{\textit{{{title}}}}} \\"]
            previous = f["experiment"]
        record = f"{f['record'][1]:.1f}" if f["record"] else "--"
        span = (f"{f['low'][1]:.1f} ({latex_escape(f['low'][0])}) -- "
                f"{f['high'][1]:.1f} ({latex_escape(f['high'][0])})")
        paper = f"{f['paper']:.1f}" if f["paper"] is not None else "--"
        setting = f["setting"].removeprefix(f"methods.{f['method']}.")  # the method column names it
        lines.append(" & ".join([
            r"\texttt{" + latex_escape(setting) + "}",
            method_label(f["method"]), record, span, paper, f["reach"],
        ]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


def sensitivity_section(
    tables: dict[str, pd.DataFrame],
    figures: dict[str, str],
    directory: str,
    reference: dict[str, Any],
    titles: dict[str, str],
) -> str:
    """The robustness table and one figure per study, with a generated caption of its numbers."""
    found = findings(tables, reference)
    out = [
        "\\begin{table}[!htbp]\n\\centering\\small\n"
        "\\caption{Sensitivity of the refined better-than-BFGS fraction to one unstated constant at a "
        "time (studies of the configuration's \\texttt{studies} list; each value is run at the "
        "study's $n$ and seeds, everything else as in the record). \\emph{record}: at the record's "
        "value; \\emph{range}: lowest and highest over the values tried; \\emph{paper within a CI}: "
        "the values whose 95\\,\\% interval holds the paper's fraction, else the closest.}\n"
        "\\label{tab:sensitivity}\n\\setlength{\\tabcolsep}{3pt}\n"
        "\\fittable{" + robustness_tabular(found, titles) + "}\n\\end{table}\n"
    ]
    for name, frame in tables.items():
        if name not in figures:
            continue
        head = frame.iloc[0]
        relative = os.path.relpath(figures[name], directory).replace(os.sep, "/")
        sizes = _sizes(frame)
        sentences = []
        for f in (f for f in found if f["study"] == name):
            values = ", ".join(
                f"{better:.1f}\\,\\% at {latex_escape(value)}{' (record)' if is_record else ''}"
                for value, better, _, _, is_record in f["cells"]
            )
            paper = f"; paper {f['paper']:.1f}\\,\\%" if f["paper"] is not None else ""
            sentences.append(f"{method_label(f['method'])}: {values}{paper}.")
        out.append(
            "\\begin{figure}[tbp]\n\\centering\n"
            f"\\includegraphics[width=\\linewidth]{{{relative}}}\n"
            f"\\caption{{{titles.get(head['experiment'], latex_escape(head['experiment']))}: "
            f"sensitivity to \\texttt{{{latex_escape(head['setting']).replace('.', '.' + chr(92) + 'allowbreak{}')}}} ({sizes}). "
            "Refined better (left) and equal (right) than BFGS with 95\\,\\% bootstrap intervals; "
            "dashed: the paper's Table~2. " + " ".join(sentences) + "}\n"
            f"\\label{{fig:study-{name.replace('_', '-')}}}\n\\end{{figure}}\n"
        )
    return "\n".join(out)


def _sizes(frame: pd.DataFrame) -> str:
    groups = int(frame["groups"].max()) if "groups" in frame else 0
    return f"{groups} $(n, \\text{{seed}})$ groups per value" if groups else "the study's runs"


def read_tables(paths: Sequence[str]) -> dict[str, pd.DataFrame]:
    tables = {}
    for path in paths:
        frame = pd.read_csv(path, dtype={"value": str})
        if len(frame):
            tables[str(frame.iloc[0]["study"])] = frame
    return tables
