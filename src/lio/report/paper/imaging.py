"""The report's imaging section: truth metrics beside the loss for the image-valued problems."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from lio.report.paper.tex import macro, method_label

STAGE_LABELS = {"unrefined": "own", "refined": "refined"}


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
                    f"{r.psnr:.2f}",
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
