"""The asymmetric bounds: the networks' outputs pass through a scaled tanh into the prior's box,
BFGS and the refinement run on raw parameters. A paragraph with the effect measured by
``benchmarks/bfgs_parameterization.py`` (BFGS raw against BFGS through the same tanh)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from lio.report.paper.tex import macro

# A mean loss within this relative difference counts as unchanged by the tanh.
SAME_LOSS = 0.05


def _effect(raw: dict, tanh: dict) -> str:
    change = tanh["loss_per_problem"] / raw["loss_per_problem"] - 1 if raw["loss_per_problem"] else 0.0
    if abs(change) <= SAME_LOSS:
        return "unchanged"
    return "lower" if change < 0 else "higher"


def paragraph(path: str | Path | None, experiments: Sequence[str]) -> str:
    """LaTeX: per experiment of ``experiments`` that the benchmark measured, BFGS's mean loss,
    share of estimates outside the box and share in the truth's basin, raw -> tanh, and what it
    means for the comparison."""
    if path is None or not Path(path).exists():
        return ("BFGS through the networks' tanh (\\texttt{bfgs.parameterization: tanh}) is not measured in "
                "these results; \\texttt{python benchmarks/bfgs\\_parameterization.py} measures it.\n")
    record = json.loads(Path(path).read_text())
    found = {e: r for e, r in record["experiments"].items() if e in experiments and {"raw", "tanh"} <= set(r)}
    if not found:
        return "The bounds benchmark measured none of this report's experiments.\n"
    parts, lower, higher, same = [], [], [], []
    for experiment, result in found.items():
        raw, tanh = result["raw"], result["tanh"]
        outside = raw.get("outside_box")
        outside_text = "" if outside is None else f", {100 * outside:.0f}\\,\\% of its raw estimates outside the box"
        parts.append(
            f"{macro(experiment, 'Title')}{{}}: $L/n$ {raw['loss_per_problem']:.3g} raw against "
            f"{tanh['loss_per_problem']:.3g} through the tanh{outside_text}, in the truth's basin "
            f"{100 * raw['in_basin']:.0f}\\,\\% against {100 * tanh['in_basin']:.0f}\\,\\%"
        )
        {"lower": lower, "higher": higher, "unchanged": same}[_effect(raw, tanh)].append(f"{macro(experiment, 'Title')}{{}}")
    sentences = [
        "The networks' outputs pass through a scaled tanh into the prior's box, while BFGS and the refinement "
        "run on the raw parameters and may leave it. To measure what this asymmetry does to the baseline, "
        "\\texttt{benchmarks/bfgs\\_parameterization.py} runs BFGS from the prior mean both ways "
        f"(\\texttt{{bfgs.parameterization}}: \\texttt{{raw}} and \\texttt{{tanh}}) on $n = {record['n']}$ problems "
        f"of seeds {', '.join(map(str, record['seeds']))}, which are not evaluation seeds. "
        + "; ".join(parts) + "."
    ]
    if higher:
        sentences.append(
            "Through the tanh BFGS ends higher on " + ", ".join(higher) + ": there the raw baseline is the "
            "stronger one, so the asymmetry works against the learned methods, not for them."
        )
    if lower:
        sentences.append(
            "Through the tanh BFGS ends lower on " + ", ".join(lower) + ": there a bounded baseline would be "
            "stronger than the raw one this record compares against, so part of the learned methods' "
            "``better'' there may come from the bounds rather than from the network."
        )
    if same:
        sentences.append("On " + ", ".join(same) + f" the tanh changes BFGS's mean loss by at most "
                         f"{100 * SAME_LOSS:.0f}\\,\\%.")
    return " ".join(sentences) + "\n"
