"""The report's conclusion and limitations, written from the verdicts, the basins check and the
health flags, so that every claim in them follows the record's numbers.

Each sentence is conditional on what the record shows: an explanation is only given where its
measurement is present (a basins check, a degenerate run), and an experiment the configuration
lists but the record lacks is named as untested rather than described.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lio.report.paper.tex import macro, method_label, share_interval
from lio.report.paper.verdict import BELOW, REPRODUCED, Cell, sentence


def _titles(experiments: Sequence[str]) -> str:
    names = [f"{macro(e, 'Title')}{{}}" for e in experiments]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _percent(row: Any) -> str:
    return share_interval(row.better, row.better_low, row.better_high)


def controls(table: Any, experiments: Sequence[str], starts: dict[str, int]) -> str:
    """What the random-start controls show (LaTeX), per experiment that has them: the
    reparameterized method's refined better-than-BFGS fraction beside the best of k random
    starts' (k starts cost as much as its solve), and whether the two intervals overlap."""
    refined = table[table["stage"] == "refined"].set_index(["experiment", "method"])
    parts = []
    for experiment in experiments:
        if (experiment, "reparameterized") not in refined.index or (
            experiment,
            "best_of_random_starts",
        ) not in refined.index:
            continue
        learned = refined.loc[(experiment, "reparameterized")]
        control = refined.loc[(experiment, "best_of_random_starts")]
        if learned.better_low > control.better_high:
            verdict = "the network beats the control"
        elif learned.better_high < control.better_low:
            verdict = "the control beats the network"
        else:
            verdict = "the intervals overlap: the network buys no more than the same compute spent on random starts"
        parts.append(
            f"on {macro(experiment, 'Title')}{{}} the reparameterized method is better on {_percent(learned)}, "
            f"the best of {starts.get(experiment, '?')} random starts on {_percent(control)} ({verdict})"
        )
    if not parts:
        return ""
    return (
        "The random-start controls (Table~\\ref{tab:refined}) say how much of `better than BFGS' any "
        "other start buys at the reparameterized solve's compute: "
        + "; ".join(parts)
        + "."
    )


def conclusion(
    found: Sequence[Cell], basins: dict[str, dict[str, Any]], degenerate: dict[str, tuple[int, int]],
    missing: Sequence[str], control_paragraph: str = "",
) -> str:
    """The conclusion's paragraphs (LaTeX)."""
    paragraphs = [sentence(found)]
    method = "reparameterized"
    own = [c for c in found if c.method == method]
    capped = [c for c in own if c.stuck is not None and c.verdict == BELOW and c.stuck < c.paper]
    if capped:
        shares = ", ".join(f"{100 * c.stuck:.0f}\\,\\%" for c in capped)
        paragraphs.append(
            f"The main claim, that reparameterized optimisation with refinement beats BFGS on most "
            f"problems, is not reproduced on {_titles([c.experiment for c in capped])}. There the "
            f"basins check finds BFGS from the prior mean stuck in a worse optimum on only {shares} "
            "of the problems (Table~\\ref{tab:basins}): on every other problem it already reaches "
            "the best optimum any of the tried starts finds, so no method can beat it there by more "
            "than the comparison's tolerance. In our implementation of these experiments the paper's "
            "premise, that BFGS often stops in local optima, holds far less often than the paper's "
            "fractions require; the record cannot tell whether the paper's simulators or BFGS "
            "differ from ours in a way that makes its problems harder."
        )
    roomy = [c for c in own if c.stuck is not None and c.verdict == BELOW and c.stuck >= c.paper]
    if roomy:
        paragraphs.append(
            f"On {_titles([c.experiment for c in roomy])} BFGS is stuck often enough for the paper's "
            "fraction, and the network still falls short: the gap lies in what the training "
            "reached, and the health table (Table~\\ref{tab:health}) shows how many of those runs "
            "were degenerate."
        )
    if control_paragraph:
        paragraphs.append(control_paragraph)
    reproduced = [c for c in found if c.verdict == REPRODUCED]
    if reproduced:
        paragraphs.append(
            "Reproduced within the interval: "
            + "; ".join(f"{macro(c.experiment, 'Title')}{{}} / {method_label(c.method).lower()}" for c in reproduced)
            + "."
        )
    flagged = {e: counts for e, counts in degenerate.items() if counts[0]}
    if flagged:
        paragraphs.append(
            "Runs of the learned methods flagged degenerate are tabulated, not dropped: "
            + "; ".join(f"{k} of {total} on {macro(e, 'Title')}{{}}" for e, (k, total) in flagged.items())
            + " (estimates pinned at the box edge or collapsed; Section~\\ref{sec:health})."
        )
    if missing:
        paragraphs.append(
            "Untested in this record, though configured: " + "; ".join(missing) + ". "
            "Nothing in this report speaks for or against them."
        )
    return "\n\n".join(paragraphs) + "\n"
