"""``numbers.tex``: every number the text uses, as LaTeX macros (the results', the paper's, the
runs' provenance)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from lio.report.paper.reference import title
from lio.report.paper.tex import METHOD_LABELS, latex_escape, macro, percent, power_of_ten

STAGES = ("refined", "unrefined")


def provenance(aggregates: dict[str, xr.Dataset]) -> dict[str, list[str]]:
    """Distinct git SHAs, lio versions and devices of the runs behind the tables."""
    found: dict[str, list[str]] = {"git_sha": [], "lio_version": [], "device": []}
    for dataset in aggregates.values():
        for key in found:
            for value in np.unique(dataset[key].values):
                if str(value) and str(value) not in found[key]:
                    found[key].append(str(value))
    return found


def numbers(
    config: dict[str, Any],
    table: pd.DataFrame,
    aggregates: dict[str, xr.Dataset],
    costs: pd.DataFrame,
    reference: dict[str, Any],
    source: str,
) -> dict[str, str]:
    """Every number the text uses, as LaTeX macro name -> value."""
    comparison = config["comparison"]
    found = provenance(aggregates)
    shas = sorted(set(found["git_sha"]))
    out = {
        macro("ExperimentCount"): str(len(aggregates)),
        macro("Rtol"): power_of_ten(comparison["rtol"]),
        macro("Atol"): power_of_ten(comparison["atol"]),
        macro("Resamples"): str(comparison["bootstrap_resamples"]),
        macro("Confidence"): f"{100 * comparison['confidence']:g}",
        macro("BfgsMaxIterations"): str(config.get("bfgs", {}).get("max_iterations", "--")),
        macro("GitSha"): " ".join(f"\\item {_sha(s)}" for s in shas) or "\\item --",
        macro("LioVersion"): latex_escape(", ".join(found["lio_version"]) or "--"),
        macro("Devices"): latex_escape("; ".join(found["device"]) or "--"),
        macro("Source"): latex_escape(source),
    }
    # The paper's three learned methods always get macros (main.tex names them), "--" if not run.
    methods = list(dict.fromkeys([*(m for m in METHOD_LABELS if m != "bfgs"), *table["method"]]))
    for experiment, dataset in aggregates.items():
        ns, seeds = [int(n) for n in dataset["n"].values], dataset.sizes["seed"]
        block = config["experiments"].get(experiment, {})
        out[macro(experiment, "Title")] = title(experiment, reference)
        out[macro(experiment, "NList")] = ", ".join(map(str, ns))
        out[macro(experiment, "Seeds")] = str(seeds)
        out[macro(experiment, "Problems")] = str(sum(ns) * seeds)
        out[macro(experiment, "CurvesN")] = str(block.get("figures", {}).get("curves_n", max(ns)))
        out[macro(experiment, "SweepNote")] = sweep_note(block, dataset)
        paper = reference.get(experiment, {})
        out[macro(experiment, "PaperTrainingCost")] = str(paper.get("training_cost", "--"))
        rows = table[table["experiment"] == experiment]
        for _, row in rows.iterrows():
            for kind in ("better", "equal"):
                for suffix, column in (("", kind), ("Low", f"{kind}_low"), ("High", f"{kind}_high")):
                    out[macro(experiment, row.method, row.stage, kind, suffix)] = percent(row[column])
        for method in methods:
            published = paper.get("table2", {}).get(method, {})
            for kind in ("better", "equal"):
                value = published.get(kind)
                out[macro(experiment, method, "Paper", kind)] = "--" if value is None else f"{value:.1f}"
        for _, row in costs[costs["experiment"] == experiment].iterrows():
            for kind in ("solve", "total", "job"):
                name = macro(experiment, row.method, "Cost", kind)
                out[name] = _ratio(row[kind])
                if row.method == "bfgs":
                    out[name + "Seconds"] = _ratio(row[f"{kind}_s"])
    for method in methods:  # means over experiments, as the paper's "average of 69%"
        published = {
            e: r["table2"][method]["better"]
            for e, r in reference.items()
            if method in r.get("table2", {})
        }
        shared = [published[e] for e in aggregates if e in published]
        # Ours over the same experiments as the paper's shared mean (beyond-the-paper ones,
        # CT, have their own section); over all of ours where the paper has none of them.
        compared = [e for e in aggregates if e in published] or list(aggregates)
        for stage in STAGES:
            ours = table[(table["method"] == method) & (table["stage"] == stage)
                         & table["experiment"].isin(compared)]["better"]
            out[macro(method, stage, "BetterMean")] = percent(ours.mean()) if len(ours) else "--"
        out[macro(method, "PaperBetterMean")] = _mean(list(published.values()))
        out[macro(method, "PaperBetterMeanShared")] = _mean(shared)
        out[macro(method, "PaperExperimentCount")] = str(len(published))
    out[macro("PaperTrainingCost")] = _paper_cost_sentence(reference)
    return out


def _paper_cost_sentence(reference: dict[str, Any]) -> str:
    """The paper's training cost of the reparameterized networks, grouped by factor."""
    factors: dict[str, list[str]] = {}
    for experiment, published in reference.items():
        if "training_cost" in published:
            names = factors.setdefault(str(published["training_cost"]), [])
            names.append(published.get("title", experiment))
    parts = []
    for factor, titles in factors.items():
        names = ", ".join(titles[:-1]) + (" and " if len(titles) > 1 else "") + titles[-1]
        parts.append(f"{factor} times longer than BFGS for {names}")
    return "; ".join(parts) if parts else "no training cost"


def sweep_note(block: dict[str, Any], dataset: xr.Dataset) -> str:
    """A loud sentence where the runs behind the numbers are not the sweep the config asks for."""
    ns, seeds = [int(n) for n in dataset["n"].values], [int(s) for s in dataset["seed"].values]
    asked_ns, asked_seeds = [int(n) for n in block.get("ns", ns)], [int(s) for s in block.get("seeds", seeds)]
    if (asked_ns, asked_seeds) == (ns, seeds):
        return ""
    return (
        " \\textbf{This is not the sweep the configuration asks for}: it asks for "
        f"$n \\in \\{{{', '.join(map(str, asked_ns))}\\}}$ with seeds {', '.join(map(str, asked_seeds))}; "
        f"these numbers come from $n \\in \\{{{', '.join(map(str, ns))}\\}}$ with seeds "
        f"{', '.join(map(str, seeds))}."
    )


def _sha(sha: str) -> str:
    """A full git SHA for LaTeX; one of an uncommitted tree is marked as such, in bold."""
    if sha.endswith("-dirty"):
        return f"\\texttt{{\\detokenize{{{sha[: -len('-dirty')]}}}}} (\\textbf{{uncommitted tree}})"
    return f"\\texttt{{\\detokenize{{{sha}}}}}"


def _mean(values: list[float]) -> str:
    return f"{np.mean(values):.1f}" if values else "--"


def _ratio(value: float) -> str:
    return "--" if not np.isfinite(value) else f"{value:.1f}"
