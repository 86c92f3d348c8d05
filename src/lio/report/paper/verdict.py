"""Page one: the reproducibility summary of the paper's Table 2 cells, one row per experiment.

For each (experiment, method) with a published refined better-than-BFGS fraction: the paper's
number, ours with its bootstrap interval and a verdict, beside what the record measured that
bears on a gap. The verdict is ``reproduced`` when the paper's number lies inside our interval, ``below the paper`` when our
whole interval lies under it, ``above the paper`` when it lies over it. Beside it:

- the basins check (lio.run.basins): a learned method can only beat BFGS where BFGS from the
  prior mean is stuck, so the share of stuck problems bounds "better" from above (up to the
  comparison's tolerance and the starts tried);
- the training health: runs flagged degenerate (estimates pinned at the box edge, collapse).

Everything comes from the record's Table 2 and basins files; nothing is typed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from lio.report.paper.reference import title
from lio.report.paper.tex import macro, method_label

REPRODUCED, BELOW, ABOVE = "reproduced", "below the paper", "above the paper"


@dataclass(frozen=True)
class Cell:
    experiment: str
    method: str
    paper: float  # fraction, 0..1
    ours: float
    low: float
    high: float
    degenerate: int  # runs flagged degenerate (unrefined stage), of ``groups``
    groups: int
    stuck: float | None  # BFGS stuck share of the basins check, if the experiment has one

    @property
    def verdict(self) -> str:
        if self.paper > self.high:
            return BELOW
        if self.paper < self.low:
            return ABOVE
        return REPRODUCED


def cells(
    table: pd.DataFrame, experiments: Sequence[str], reference: dict[str, Any],
    basins: dict[str, dict[str, Any]],
) -> list[Cell]:
    """The published Table 2 cells of ``experiments`` with our refined fraction beside each."""
    found = []
    for experiment in experiments:
        published = reference.get(experiment, {}).get("table2", {})
        rows = table[table["experiment"] == experiment].set_index(["method", "stage"])
        for method, values in published.items():
            if (method, "refined") not in rows.index:
                continue
            refined = rows.loc[(method, "refined")]
            unrefined = rows.loc[(method, "unrefined")] if (method, "unrefined") in rows.index else refined
            found.append(Cell(
                experiment=experiment,
                method=method,
                paper=values["better"] / 100,
                ours=float(refined["better"]),
                low=float(refined["better_low"]),
                high=float(refined["better_high"]),
                degenerate=int(unrefined.get("degenerate", 0) or 0),
                groups=int(refined["groups"]),
                stuck=basins[experiment]["stuck"] if experiment in basins else None,
            ))
    return found


SYMBOLS = {REPRODUCED: r"$\checkmark$", BELOW: r"$\downarrow$", ABOVE: r"$\uparrow$"}


def tabular(found: Sequence[Cell]) -> str:
    """One row per experiment, one column per method: paper / ours [CI] and the verdict's symbol,
    with the runs flagged degenerate under it; the basins check's stuck share beside."""
    experiments = list(dict.fromkeys(c.experiment for c in found))
    methods = list(dict.fromkeys(c.method for c in found))
    by_key = {(c.experiment, c.method): c for c in found}
    lines = [
        r"\begin{tabular}{lr" + "l" * len(methods) + "}",
        r"\toprule",
        "experiment & stuck & " + " & ".join(method_label(m) for m in methods) + r" \\",
        r" & BFGS \% & " + " & ".join(["paper / ours [CI]"] * len(methods)) + r" \\",
        r"\midrule",
    ]
    for experiment in experiments:
        cells = []
        for method in methods:
            cell = by_key.get((experiment, method))
            if cell is None:
                cells.append("--")
                continue
            text = (f"{100 * cell.paper:.1f} / {100 * cell.ours:.1f} "
                    f"[{100 * cell.low:.1f}, {100 * cell.high:.1f}] {SYMBOLS[cell.verdict]}")
            if cell.degenerate:
                text = (r"\begin{tabular}[t]{@{}l@{}}" + text + r"\\ "
                        + f"{cell.degenerate}/{cell.groups} runs degenerate" + r"\end{tabular}")
            cells.append(text)
        stuck = next((c.stuck for c in found if c.experiment == experiment and c.stuck is not None), None)
        lines.append(f"{macro(experiment, 'Title')}{{}} & {'--' if stuck is None else f'{100 * stuck:.0f}'} & "
                     + " & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


LEGEND = (
    r"$\checkmark$ reproduced: the paper's number lies inside our {conf}\,\% interval; "
    r"$\downarrow$ our whole interval lies below it; $\uparrow$ above it. BFGS stuck: the share of "
    r"problems on which another start finds a lower optimum than BFGS from the prior mean "
    r"(Table~\ref{{tab:basins}}), so about the most often any method can beat it. Degenerate: runs "
    r"whose own estimates the health checks flag (Table~\ref{{tab:health}})."
)


def sentence(found: Sequence[Cell]) -> str:
    """The abstract's one-sentence verdict."""
    if not found:
        return "None of our experiments has a published Table 2 cell to compare with."
    counts = {v: sum(c.verdict == v for c in found) for v in (REPRODUCED, BELOW, ABOVE)}
    text = (f"Of the {len(found)} refined better-than-BFGS fractions the paper publishes for our "
            f"experiments, we reproduce {counts[REPRODUCED]} within our {macro('Confidence')}\\,\\% interval")
    others = [f"{counts[v]} {'lie' if counts[v] != 1 else 'lies'} {v}" for v in (BELOW, ABOVE) if counts[v]]
    return text + (", and " + " and ".join(others) if others else "") + "."


def section(found: Sequence[Cell], configured_not_recorded: Sequence[str], compute: str = "",
            unrecorded_experiments: Sequence[str] = (), claims: str = "") -> str:
    """The summary's body: the sentence, the table, its legend, what the config runs that the
    record lacks (methods, then whole experiments), and ``compute``
    (``lio.report.paper.costs.compute_sentence``)."""
    out = [sentence(found), ""]
    if found:  # no published cell (an experiment of one's own): the sentence says so, no table
        out += [r"\begin{center}", r"\footnotesize", r"\setlength{\tabcolsep}{3pt}",
                tabular(found), r"\end{center}", "", LEGEND.format(conf=macro("Confidence")), ""]
    if claims:
        out += [claims, ""]
    if configured_not_recorded:
        out.append("Configured but not in this record: " + "; ".join(configured_not_recorded) + ".\n")
    if unrecorded_experiments:
        out.append("Configured experiments with no run in this record, so that nothing here answers for them: "
                   + "; ".join(unrecorded_experiments) + ".\n")
    if compute:
        out.append(compute + "\n")
    return "\n".join(out)


def configured_not_recorded(config: dict[str, Any], table: pd.DataFrame, experiments: Sequence[str]) -> list[str]:
    """Experiment / method pairs the config runs that the table has no rows for."""
    missing = []
    for experiment in experiments:
        configured = list((config["experiments"].get(experiment) or {}).get("methods", {}))
        present = set(table[table["experiment"] == experiment]["method"])
        for method in configured:
            if method != "bfgs" and method not in present:
                missing.append(f"{macro(experiment, 'Title')}{{}} / {method_label(method).lower()}")
    return missing


def experiments_not_recorded(config: dict[str, Any], experiments: Sequence[str], reference: dict[str, Any]) -> list[str]:
    """The config's experiments that the record has no runs of, by title."""
    return [title(e, reference) for e in config.get("experiments", {}) if e not in experiments]
