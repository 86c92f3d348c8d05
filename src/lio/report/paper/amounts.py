"""The report's section on decreasing observations, from the observation-amount tables.

Each table (``lio.run.observations.table``: one row per amount x method x stage) becomes a figure, a
table and a paragraph whose every statement is computed here from that table: which method is best
at each amount (refined mean loss; PSNR on the image problems), where the best place passes
between hand-crafted BFGS and a learned method as observations shrink, how each learned method's
share of problems better than BFGS moves from the most to the fewest observations, and which
learned method holds up best at the fewest. The loss is compared only within an amount (fewer
observations change its scale); the median error to the hidden truth, normalised by the prior's
range, is comparable across amounts and is shown beside it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from lio.report.paper.tex import latex_escape, method_label, percent, share_interval
from lio.run.observations import judged_stage

HAND_CRAFTED = ("bfgs",)  # the reference every share is taken against
STAGE_WORDS = {"refined": "refined", "unrefined": "own-estimate"}


def _learns(name: str) -> bool:
    """Whether a method trains anything (the registry's ``learns``): BFGS and the random-start
    controls are hand-crafted; a name the registry lacks counts as learned."""
    from lio.methods import METHODS

    return bool(getattr(METHODS.get(name), "learns", True))


def read_tables(paths: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Axis tables by experiment (the ``amount`` column kept as its label: ``0.5``, ``45``)."""
    tables = {}
    for path in paths:
        frame = pd.read_csv(path, dtype={"amount": str})
        if len(frame):
            tables[str(frame.iloc[0]["experiment"])] = frame
    return tables


def ordered_amounts(frame: pd.DataFrame) -> list[str]:
    """The axis's amounts from the most observations to the fewest."""
    head = frame.iloc[0]
    amounts = list(dict.fromkeys(frame.sort_values("amount_index")["amount"]))
    return sorted(amounts, key=float, reverse=bool(head["increases_observations"]))


def quality(frame: pd.DataFrame) -> tuple[str, bool, str]:
    """(column stem, lower is better, words): PSNR where the table has it, else the loss."""
    if "psnr_mean" in frame and np.isfinite(frame["psnr_mean"]).any():
        return "psnr", False, "mean PSNR"
    return "loss", True, "mean loss"


def _kind(best: str) -> str:
    """'hand-crafted', 'learned' or 'tie' for a winners entry (``a = b`` is a tie of several)."""
    names = best.split(" = ")
    hand = [not _learns(n) for n in names]
    return "hand-crafted" if all(hand) else ("learned" if not any(hand) else "tie")


def findings(frame: pd.DataFrame) -> dict:
    """What the axis says, as numbers: per amount (most to fewest observations) the best
    method and whether its interval is clear of the runner-up's; per learned method its refined
    better-than-BFGS share (with interval) at the most and the fewest observations; the
    crossovers between hand-crafted and learned; the methods with degenerate own runs (and
    where); the method nearest the truth at both ends; the learned method without degenerate
    runs most often better than BFGS at the fewest."""
    from lio.run.observations import winners

    stem, lower, words = quality(frame)
    stage = judged_stage(frame)
    order = ordered_amounts(frame)
    best = winners(frame, stage)
    best = best[best["quantity"] == stem].set_index("amount")
    per_amount = [
        {"amount": a, "best": best.loc[a, "best"], "separated": bool(best.loc[a, "separated"]),
         "kind": _kind(best.loc[a, "best"])}
        for a in order if a in best.index
    ]
    crossovers = [
        (before["amount"], after["amount"], before["kind"], after["kind"])
        for before, after in zip(per_amount, per_amount[1:])
        if before["kind"] != after["kind"]
    ]
    refined = frame[frame["stage"] == "refined"]
    learned = [m for m in dict.fromkeys(refined["method"]) if m not in HAND_CRAFTED]
    shares = {}
    for method in learned if stage == "refined" else []:  # refined shares of a convex objective: all ties
        rows = refined[refined["method"] == method].set_index("amount")
        shares[method] = {
            a: (rows.loc[a, "better"], rows.loc[a, "better_low"], rows.loc[a, "better_high"])
            for a in order if a in rows.index
        }
    own = frame[frame["stage"] == "unrefined"].set_index(["method", "amount"])
    degenerate = {  # method -> {amount: (degenerate runs, runs)} where any run is degenerate
        m: {a: (int(own.loc[(m, a), "degenerate"]), int(own.loc[(m, a), "groups"]))
            for a in order if (m, a) in own.index and own.loc[(m, a), "degenerate"] > 0}
        for m in dict.fromkeys(refined["method"]) if _learns(m)  # BFGS and the controls: no training
    }
    degenerate = {m: cells for m, cells in degenerate.items() if cells}
    fewest = order[-1]
    at_fewest = {m: s[fewest][0] for m, s in shares.items()
                 if _learns(m) and fewest in s and np.isfinite(s[fewest][0]) and fewest not in degenerate.get(m, {})}
    if stage == "unrefined":  # on images: the learned own estimate of best quality at the fewest
        judged = frame[(frame["stage"] == stage) & (frame["amount"] == fewest)]
        judged = judged[[_learns(m) and fewest not in degenerate.get(m, {}) for m in judged["method"]]]
        judged = judged[np.isfinite(judged[f"{stem}_mean"])]
        at_fewest = dict(zip(judged["method"], judged[f"{stem}_mean"] * (-1 if lower else 1)))
    holds = max(at_fewest, key=at_fewest.get) if at_fewest else None
    closest = {}
    for a in (order[0], fewest):
        pool = frame[frame["stage"] == stage]
        rows = pool[(pool["amount"] == a) & np.isfinite(pool["error"])]
        if len(rows):
            row = rows.loc[rows["error"].idxmin()]
            closest[a] = (row["method"], float(row["error"]))
    return {"quantity": stem, "lower_is_better": lower, "words": words, "order": order, "stage": stage,
            "per_amount": per_amount, "crossovers": crossovers, "shares": shares, "holds_up": holds,
            "degenerate": degenerate, "closest": closest}


def _share(cell: tuple[float, float, float]) -> str:
    return share_interval(*cell)


def paragraph(frame: pd.DataFrame, title: str) -> str:
    """The generated answer for one axis: sentences built from ``findings``."""
    found = findings(frame)
    head = frame.iloc[0]
    order = found["order"]
    label = latex_escape(str(head["label"]))
    first, last = found["per_amount"][0], found["per_amount"][-1]

    def best(entry) -> str:
        methods = entry["best"].split(" = ")
        names = " and ".join(method_label(m) for m in methods)
        clear = "its interval clear of the runner-up's" if entry["separated"] else "not separated from the runner-up"
        flagged = [m for m in methods if entry["amount"] in found["degenerate"].get(m, {})]
        if flagged:
            clear += "; degenerate runs, see below"
        return f"{names} ({clear})"

    sentences = [
        f"{title}, {label} from {order[0]} (most observed) to {order[-1]} (fewest): the best {STAGE_WORDS[found['stage']]} "
        f"{found['words']} is {best(first)} at {first['amount']} and {best(last)} at {last['amount']}."
    ]
    if found["stage"] == "unrefined":
        sentences.append("On this image problem the own estimates are compared (BFGS's own is its "
                         "TV reconstruction): refinement takes every start to the one minimum of the "
                         "convex objective, so the refined rows tie.")
    if found["crossovers"]:
        moves = "; ".join(f"from {a} ({k}) to {b} ({j})" for a, b, k, j in found["crossovers"])
        sentences.append(f"The best place changes hands between hand-crafted and learned {moves}.")
    else:
        sentences.append(f"It does not change hands between hand-crafted and learned along the axis ({first['kind']} throughout).")
    for method, cells in found["shares"].items():
        if order[0] in cells and order[-1] in cells:
            sentences.append(
                f"{method_label(method)} is better than BFGS on {_share(cells[order[0]])} of the problems at "
                f"{order[0]} and {_share(cells[order[-1]])} at {order[-1]}."
            )
    if found["closest"]:
        sentences.append(f"Closest to the hidden truth ({STAGE_WORDS[found['stage']]} median error, box widths): " + "; ".join(
            f"{method_label(m)} at {a} ({error:.3f})" for a, (m, error) in found["closest"].items()) + ".")
    for method, cells in found["degenerate"].items():
        where = ", ".join(f"{a} ({k} of {g})" for a, (k, g) in cells.items())
        sentences.append(
            f"\\textbf{{{method_label(method)}'s own runs are degenerate}} at {where} (pinned to or "
            "outside the prior's box, or collapsed; Section~\\ref{sec:health}): its numbers there "
            "measure a pathology, not the method."
        )
    if found["holds_up"] and found["stage"] == "unrefined":
        sentences.append(
            f"At the fewest observations the learned method without degenerate runs of best own "
            f"{found['words']} is {method_label(found['holds_up'])}."
        )
    elif found["holds_up"]:
        sentences.append(
            f"At the fewest observations the learned method without degenerate runs most often "
            f"better than BFGS is {method_label(found['holds_up'])}."
        )
    return " ".join(sentences)


def headline(tables: dict[str, pd.DataFrame], titles: dict[str, str]) -> str:
    """Page one's line on the observation question (LaTeX): per axis, who is best at the most
    and the fewest observations, and the learned method that holds up best there."""
    parts = []
    for experiment, frame in tables.items():
        found = findings(frame)
        first, last = found["per_amount"][0], found["per_amount"][-1]
        label = latex_escape(str(frame.iloc[0]["label"]))
        text = (
            f"on {titles.get(experiment, latex_escape(experiment))}{{}} ({label} {first['amount']} to {last['amount']}) "
            f"the best {STAGE_WORDS[found['stage']]} {found['words']} belongs to "
            f"{' and '.join(method_label(m) for m in first['best'].split(' = '))} ({first['kind']}) at the most and "
            f"{' and '.join(method_label(m) for m in last['best'].split(' = '))} ({last['kind']}) at the fewest"
        )
        held = found["holds_up"]
        if held and found["stage"] == "unrefined":
            text += f"; of the learned methods {method_label(held)}'s own estimate is the best at the fewest"
        elif held and last["amount"] in found["shares"].get(held, {}):
            text += (f"; of the learned methods {method_label(held)} holds up best, better than BFGS on "
                     f"{_share(found['shares'][held][last['amount']])} at the fewest")
        parts.append(text)
    if not parts:
        return ""
    return ("Beyond the paper, how the optimiser should change as observations decrease "
            "(Section~\\ref{sec:amounts}): " + "; ".join(parts) + ".")


def mean_cell(row, stem: str) -> str:
    """``mean [low, high]`` of one table row (a Series or a dict) for the column stem."""
    return f"{row[f'{stem}_mean']:.4g} [{row[f'{stem}_low']:.4g}, {row[f'{stem}_high']:.4g}]"


def tabular(frame: pd.DataFrame) -> str:
    """Amount x method rows, refined: better than BFGS (own and refined), the quality mean with
    its interval, the median error to the truth (box-normalised) of own and refined, and the
    method's own degenerate runs of all runs (``lio.analysis.health``)."""
    stem, _, words = quality(frame)
    judged = judged_stage(frame)
    words = f"{STAGE_WORDS[judged]} {words}"
    unit = " (dB)" if stem == "psnr" else ""
    lines = [
        r"\begin{tabular}{llrlrrrr}",
        r"\toprule",
        f"{latex_escape(str(frame.iloc[0]['parameter']))} & method & own better (\\%) & refined better (\\%) "
        f"& {words}{unit} [95\\,\\%] & error own & error refined & degenerate \\\\",
        r"\midrule",
    ]
    own = frame[frame["stage"] == "unrefined"].set_index(["amount", "method"])
    refined = frame[frame["stage"] == "refined"]
    for index, amount in enumerate(ordered_amounts(frame)):
        if index:
            lines.append(r"\addlinespace")
        for row in refined[refined["amount"] == amount].itertuples():
            mine = own.loc[(amount, row.method)] if (amount, row.method) in own.index else None
            hand = row.method in HAND_CRAFTED
            cells = [
                amount,
                method_label(row.method),
                "--" if hand or mine is None else percent(mine["better"]),
                "--" if hand else f"{percent(row.better)} [{percent(row.better_low)}, {percent(row.better_high)}]",
                mean_cell(mine if judged == "unrefined" and mine is not None else row._asdict(), stem),
                "--" if mine is None or not np.isfinite(mine["error"]) else f"{mine['error']:.3f}",
                "--" if not np.isfinite(row.error) else f"{row.error:.3f}",
                "--" if mine is None else f"{int(mine['degenerate'])}/{int(mine['groups'])}",
            ]
            lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


def weights_sentence(frame: pd.DataFrame, weights: dict[str, float] | None) -> str:
    """How the classical baseline's regularisation weight moves along the axis (LaTeX), from
    the axis's ``reg_weights``; empty without them."""
    if not weights:
        return ""
    cells = [f"{weights[a]:.2g} at {a}" for a in ordered_amounts(frame) if a in weights]
    if not cells:
        return ""
    return (" The classical baseline's regulariser weight was chosen again at each amount, by "
            "mean PSNR on the calibration set, from the "
            "most observations to the fewest: " + ", ".join(cells) + "; each learned method trains "
            "again at each amount.")


def section(
    tables: dict[str, pd.DataFrame],
    figures: dict[str, str],
    directory: str,
    titles: dict[str, str],
    configured: Sequence[str] = (),
    weights: dict[str, dict[str, float]] | None = None,
) -> str:
    """Per axis: a table, a figure and the generated paragraph (with the regulariser's weight
    at each amount where ``weights`` gives one per amount label); a sentence naming the
    configured axes the results do not hold, and one when there is no axis at all."""
    missing = [e for e in configured if e not in tables]
    note = (
        f"The configuration has an observation axis for {', '.join(titles.get(e, latex_escape(e)) for e in missing)} "
        "that the results this report reads do not hold.\n"
        if missing else ""
    )
    if not tables:
        return "No observation-amount axis is in the results this report reads.\n" + note
    out = []
    for experiment, frame in tables.items():
        title = titles.get(experiment, latex_escape(experiment))
        tag = experiment.replace("_", "-")
        groups = int(frame["groups"].max()) if "groups" in frame else 0
        out.append(paragraph(frame, title) + weights_sentence(frame, (weights or {}).get(experiment)) + "\n")
        out.append(
            "\\begin{table}[!htbp]\n\\centering\\small\n"
            f"\\caption{{{title}: quality against the amount of observations, most observed first "
            f"({groups} $(n, \\text{{seed}})$ groups per amount). \\emph{{better}}: share of problems "
            "better than BFGS at the same amount, with 95\\,\\% bootstrap intervals; the mean over all "
            "problems with its interval; \\emph{error}: median distance to the hidden truth as a share "
            "of the prior's range; \\emph{degenerate}: the method's own runs flagged by the health "
            "check of all runs.}\n"
            f"\\label{{tab:amounts-{tag}}}\n\\setlength{{\\tabcolsep}}{{3pt}}\n"
            "\\fittable{" + tabular(frame) + "}\n\\end{table}\n"
        )
        if experiment in figures:
            relative = os.path.relpath(figures[experiment], directory).replace(os.sep, "/")
            out.append(
                "\\begin{figure}[tbp]\n\\centering\n"
                f"\\includegraphics[width=\\linewidth]{{{relative}}}\n"
                f"\\caption{{{title}: refined quality against the amount of observations, per method, "
                "with 95\\,\\% bootstrap intervals.}\n"
                f"\\label{{fig:amounts-{tag}}}\n\\end{{figure}}\n"
            )
    return "\n".join(out) + note
