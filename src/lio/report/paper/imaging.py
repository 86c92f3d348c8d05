"""The report's imaging section: truth metrics beside the loss for the image-valued problems."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from lio.report.paper.tex import macro, method_label

STAGE_LABELS = {"unrefined": "own", "refined": "refined"}


def with_interval(row, name: str, digits: int) -> str:
    """A truth metric's mean with its 95 % interval when the table holds one (LaTeX)."""
    value = f"{row[name]:.{digits}f}"
    low, high = row.get(f"{name}_low", np.nan), row.get(f"{name}_high", np.nan)
    if np.isfinite(low) and np.isfinite(high):
        value += f" [{low:.{digits}f}, {high:.{digits}f}]"
    return value


def own_rows(table: pd.DataFrame, experiment: str) -> pd.DataFrame:
    """Each method's own estimate of ``experiment``: the unrefined stage, except BFGS's, whose
    own estimate is its refined one."""
    rows = table[table["experiment"] == experiment]
    own = rows[(rows["stage"] == "unrefined") & (rows["method"] != "bfgs")]
    bfgs = rows[(rows["stage"] == "refined") & (rows["method"] == "bfgs")]
    return pd.concat([bfgs, own]).dropna(subset=["psnr"])


def label(method: str) -> str:
    """A method's name on an imaging problem: BFGS on the regularised loss is the TV reconstruction."""
    return "the TV reconstruction (BFGS)" if method == "bfgs" else method_label(method)


def owner(method: str) -> str:
    """Whose estimate (LaTeX): ``Supervised's``, or the TV reconstruction itself for BFGS."""
    return label(method) if method == "bfgs" else f"{method_label(method)}'s"


def ranking_sentence(rows: pd.DataFrame, what: str) -> str:
    """Which method has the highest mean PSNR among ``rows``, and whether its 95 % interval
    clears the runner-up's (LaTeX)."""
    ranked = rows.sort_values("psnr", ascending=False)
    if ranked.empty:
        return ""
    best = ranked.iloc[0]
    text = f"By mean PSNR to the hidden truth, the best {what} is {owner(best.method)}, {with_interval(best, 'psnr', 2)}\\,dB"
    if len(ranked) == 1:
        return text + "."
    second = ranked.iloc[1]
    clears = np.isfinite(best.get("psnr_low", np.nan)) and best["psnr_low"] > second.get("psnr_high", np.inf)
    relation = "clears" if clears else "overlaps"
    return (text + f"; its interval {relation} the runner-up's, {label(second.method)} at "
            f"{with_interval(second, 'psnr', 2)}\\,dB.")


def baseline_sentence(table: pd.DataFrame, experiment: str) -> str:
    """How many learned methods' own estimates beat the classical baseline (BFGS on the
    regularised loss) by mean PSNR with intervals that do not overlap, and how many fall behind."""
    own = own_rows(table, experiment)
    base = own[own["method"] == "bfgs"]
    learned = own[own["method"] != "bfgs"]
    if base.empty or learned.empty:
        return ""
    b = base.iloc[0]
    above = [method_label(m) for m, lo in zip(learned["method"], learned.get("psnr_low", np.nan))
             if np.isfinite(lo) and lo > b.get("psnr_high", np.inf)]
    below = [method_label(m) for m, hi in zip(learned["method"], learned.get("psnr_high", np.nan))
             if np.isfinite(hi) and hi < b.get("psnr_low", -np.inf)]
    def names(items):
        return ", ".join(items) if items else "none"
    return (f"Against the classical baseline ({with_interval(b, 'psnr', 2)}\\,dB), the own estimates "
            f"clearly above it: {names(above)}; clearly below it: {names(below)}.")


def answers(
    table: pd.DataFrame, experiments: Sequence[str], titles: dict[str, str], not_recorded: Sequence[str] = ()
) -> str:
    """Per imaging experiment of the record, in words from the table: the best own estimate and
    the best after refinement by PSNR, whether each clears its runner-up, and which learned
    methods beat or lose to the classical baseline (LaTeX paragraphs); then the configured
    imaging experiments (``not_recorded``, by title) that this record has no runs of."""
    paragraphs = []
    for experiment in imaging_experiments(table, experiments):
        rows = table[table["experiment"] == experiment]
        refined = rows[rows["stage"] == "refined"].dropna(subset=["psnr"])
        paragraphs.append(
            f"\\textbf{{{titles.get(experiment, experiment)}.}} "
            + ranking_sentence(own_rows(table, experiment), "own estimate") + " "
            + baseline_sentence(table, experiment) + " "
            + ranking_sentence(refined, "estimate after BFGS refinement")
        )
    if not_recorded:
        paragraphs.append("Configured but not in this record: " + ", ".join(not_recorded) + ".")
    return "\n\n".join(paragraphs) + ("\n" if paragraphs else "")


def configured_imaging(config: dict) -> list[str]:
    """The config's experiments whose problem has truth metrics (overrides ``Problem.quality``)."""
    from lio.problems import PROBLEMS
    from lio.problems.base import Problem

    return [e for e, block in config.get("experiments", {}).items()
            if block.get("problem") in PROBLEMS and PROBLEMS[block["problem"]].quality is not Problem.quality]


def imaging_experiments(table: pd.DataFrame, experiments: Sequence[str]) -> list[str]:
    """The experiments whose rows carry truth metrics (``lio.core.quality``: the imaging problems)."""
    if "psnr" not in table.columns:
        return []
    return [e for e in experiments if table[table["experiment"] == e]["psnr"].notna().any()]


def imaging_tabular(table: pd.DataFrame, experiments: Sequence[str]) -> str:
    """Experiment x method x stage rows: mean PSNR, SSIM and relative error to the hidden truth,
    and better / equal than BFGS judged on PSNR and on the loss; a sentence when no experiment
    of the report is an imaging problem."""
    imaging = imaging_experiments(table, experiments)
    if not imaging:
        return "No experiment of this report has an image as its unknown.\n"
    pct = lambda v: "--" if not np.isfinite(v) else f"{100 * v:.0f}"  # noqa: E731
    lines = [
        r"\begin{tabular}{lllrrrrrrr}",
        r"\toprule",
        r" & & & \multicolumn{3}{c}{to the truth (mean)} & \multicolumn{2}{c}{on PSNR (\%)}"
        r" & \multicolumn{2}{c}{on the loss (\%)} \\",
        r"\cmidrule(lr){4-6}\cmidrule(lr){7-8}\cmidrule(lr){9-10}",
        r"experiment & method & stage & PSNR (dB) & SSIM & rel.\ error & better & equal"
        r" & better & equal \\",
        r"\midrule",
    ]
    for index, experiment in enumerate(imaging):
        rows = table[table["experiment"] == experiment]
        if index:
            lines.append(r"\addlinespace")
        first = True
        for method in dict.fromkeys(rows["method"]):
            for stage in ("unrefined", "refined"):
                row = rows[(rows["method"] == method) & (rows["stage"] == stage)]
                if row.empty or (method == "bfgs" and stage == "unrefined"):
                    continue  # BFGS's own estimate is its refined one
                r = row.iloc[0]
                cells = [
                    macro(experiment, "Title") if first else "",
                    method_label(method),
                    STAGE_LABELS[stage],
                    with_interval(r, "psnr", 2),
                    f"{r.ssim:.3f}",
                    f"{r.relative_error:.3f}",
                    pct(r.get("better_psnr", np.nan)),
                    pct(r.get("equal_psnr", np.nan)),
                    pct(r.better),
                    pct(r.equal),
                ]
                first = False
                lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


def headline(table: pd.DataFrame, experiments: Sequence[str], titles: dict[str, str]) -> str:
    """Page one's line on the imaging problems (LaTeX): per recorded imaging experiment, the best
    own estimate by PSNR and how its interval stands against the classical baseline's."""
    parts = []
    for experiment in imaging_experiments(table, experiments):
        own = own_rows(table, experiment)
        if own.empty:
            continue
        best = own.sort_values("psnr", ascending=False).iloc[0]
        text = (f"on {titles.get(experiment, experiment)}{{}} the best reconstruction by PSNR is "
                f"{owner(best.method)}, {with_interval(best, 'psnr', 2)}\\,dB")
        base = own[own["method"] == "bfgs"]
        if best.method != "bfgs" and not base.empty:
            b = base.iloc[0]
            clear = best.get("psnr_low", np.nan) > b.get("psnr_high", np.inf)
            text += (f", {'clear of' if clear else 'within the interval of'} the classical baseline's "
                     f"{with_interval(b, 'psnr', 2)}\\,dB")
        parts.append(text)
    if not parts:
        return ""
    return "Beyond the paper, on images (Section~\\ref{sec:imaging}): " + "; ".join(parts) + "."
