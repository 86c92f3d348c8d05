"""The paper's generated inputs from the results: macros, better/equal and cost tables, sections."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
import yaml

from lio import calibration
from lio.metrics import health_verdict
from lio.paper.files import PANELS, Layout
from lio.paper.tex import (
    METHOD_LABELS,
    latex_escape,
    macro,
    method_label,
    newcommands,
    percent,
)

STAGES = ("refined", "unrefined")


def load_reference(path: str | Path) -> dict[str, Any]:
    """The paper's published numbers (paper/reference.yaml), by experiment."""
    return yaml.safe_load(Path(path).read_text())["experiments"]


def title(experiment: str, reference: dict[str, Any]) -> str:
    if experiment in reference and "title" in reference[experiment]:
        return reference[experiment]["title"]
    return latex_escape(experiment.replace("_", " ").capitalize())


def job_seconds(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Snakemake's benchmark files of solve jobs -> one row per job (experiment, method, n, seed)."""
    rows = []
    for path in paths:
        parts = Path(path).parts
        experiment, method, n, seed = parts[-4], parts[-3], parts[-2], Path(parts[-1]).stem
        record = pd.read_csv(path, sep="\t").iloc[-1]
        rows.append(
            {
                "experiment": experiment,
                "method": method,
                "n": int(n.removeprefix("n")),
                "seed": int(seed.removeprefix("seed")),
                "job_s": float(record["s"]),
                "max_rss_mb": pd.to_numeric(record["max_rss"], errors="coerce"),
                "cpu_time_s": pd.to_numeric(record["cpu_time"], errors="coerce"),
            }
        )
    columns = ["experiment", "method", "n", "seed", "job_s", "max_rss_mb", "cpu_time_s"]
    return pd.DataFrame(rows, columns=columns)


def write_benchmarks(paths: Sequence[str | Path], out: str | Path) -> None:
    """The solve jobs' benchmark files as one small CSV (published with the record)."""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    job_seconds(paths).to_csv(out, index=False, float_format="%.4f")


# The problem-set size at which the cost table also compares one run with BFGS's (issue 19's
# n = 64: a mid-sized set of the paper's range, run by every experiment's sweep).
COST_N = 64


def cost_table(aggregates: dict[str, xr.Dataset], jobs: pd.DataFrame | None) -> pd.DataFrame:
    """Wall time of each method relative to BFGS, summed over every (n, seed) of the sweep.

    ``solve``: the method alone (for learned methods the network's training, for the neural
    adjoint also its surrogate search), measured in-process; ``total``: solve plus BFGS
    refinement; ``job``: the whole Snakemake job (start-up, compilation, I/O), from its
    ``benchmark:`` file. BFGS is never refined, so its total is its solve time. ``total_at_n``:
    solve plus refinement at n = ``COST_N`` alone (mean over seeds) relative to BFGS's there
    (NaN where the sweep has no such n).
    """
    rows = []
    for experiment, dataset in aggregates.items():
        solve = dataset["wall_time_unrefined_s"].sum(["n", "seed"])
        total = solve + dataset["wall_time_refine_s"].sum(["n", "seed"])
        baseline = float(solve.sel({"solver": "bfgs"}))
        at_n = np.full(dataset.sizes["solver"], np.nan)
        if COST_N in dataset["n"].values:
            one = dataset.sel(n=COST_N)
            # mean over the seeds that ran: solve + refine, against BFGS's solve at that n
            spent = (one["wall_time_unrefined_s"] + one["wall_time_refine_s"].fillna(0.0)).mean("seed")
            at_n = spent.values / float(one["wall_time_unrefined_s"].sel({"solver": "bfgs"}).mean("seed"))
        job = None
        if jobs is not None:
            job = jobs[jobs["experiment"] == experiment].groupby("method")["job_s"].sum()
        for method in map(str, dataset["solver"].values):
            runs = np.isfinite(dataset["wall_time_unrefined_s"].sel({"solver": method}))
            row = {"experiment": experiment, "method": method, "runs": int(runs.sum())}
            if method == "bfgs":
                row.update(solve_s=baseline, total_s=baseline, solve=1.0, total=1.0)
            else:
                row.update(
                    solve_s=float(solve.sel({"solver": method})),
                    total_s=float(total.sel({"solver": method})),
                    solve=float(solve.sel({"solver": method})) / baseline,
                    total=float(total.sel({"solver": method})) / baseline,
                )
            row["total_at_n"] = float(at_n[list(map(str, dataset["solver"].values)).index(method)])
            if job is not None and method in job and "bfgs" in job:
                row.update(job_s=float(job[method]), job=float(job[method] / job["bfgs"]))
            else:
                row.update(job_s=np.nan, job=np.nan)
            rows.append(row)
    return pd.DataFrame(rows)


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
        macro("Rtol"): _power_of_ten(comparison["rtol"]),
        macro("Atol"): _power_of_ten(comparison["atol"]),
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


def _power_of_ten(value: float) -> str:
    exponent = np.log10(value) if value > 0 else np.nan
    if np.isfinite(exponent) and float(exponent).is_integer():
        return f"10^{{{int(exponent)}}}"
    return f"{value:g}"


def _ratio(value: float) -> str:
    return "--" if not np.isfinite(value) else f"{value:.1f}"


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


HEALTH_COLUMNS = ("pinned", "spread", "error", "in_basin", "degenerate", "better_exact")


def error_cell(own: pd.Series) -> str:
    """Median error of the own estimates, after the one where the search started when the
    table has it (``lio.health.progress``; records made before lio recorded the start lack it)."""
    started = own.get("error_initial", np.nan)
    if not np.isfinite(started):
        return f"{own.error:.3f}"
    return f"{started:.3f} $\\to$ {own.error:.3f}"


def health_tabular(table: pd.DataFrame, experiments: Sequence[str]) -> str:
    """Experiment x method rows: training health (lio.health) and the exact comparison.

    Pinned, spread and median error of the methods' own (unrefined) estimates, the fraction in
    the truth's basin before -> after refinement, degenerate runs of all runs, and the refined
    better / equal / same-minimum fractions compared exactly (rtol = atol = 0). A table written
    before these diagnostics existed (an older record) gives a sentence instead.
    """
    if not set(HEALTH_COLUMNS) <= set(table.columns):
        return (
            "The results this report reads were tabulated before lio recorded training health "
            "(lio.health) and the exact comparison; rerun the sweep to see them.\n"
        )
    pct = lambda v: "--" if not np.isfinite(v) else f"{100 * v:.0f}"  # noqa: E731
    lines = [
        r"\begin{tabular}{llrrrrrrrrr}",
        r"\toprule",
        r" & & \multicolumn{5}{c}{own estimate (unrefined)} & & \multicolumn{3}{c}{refined, exact (\%)} \\",
        r"\cmidrule(lr){3-7}\cmidrule(lr){9-11}",
        r"experiment & method & pinned \% (pooled) & spread & error (start $\to$ own) & closer \% & basin \% $\to$ refined & degen. & better & equal & same min. \\",
        r"\midrule",
    ]
    for index, experiment in enumerate(experiments):
        rows = table[table["experiment"] == experiment]
        if index:
            lines.append(r"\addlinespace")
        for position, method in enumerate(dict.fromkeys(rows["method"])):
            own = rows[(rows["method"] == method) & (rows["stage"] == "unrefined")].iloc[0]
            final = rows[(rows["method"] == method) & (rows["stage"] == "refined")].iloc[0]
            name = macro(experiment, "Title") if position == 0 else ""
            cells = [
                name,
                method_label(method),
                pct(own.pinned) + (f" ({pct(own.pinned_pooled)})" if "pinned_pooled" in own else ""),
                f"{own.spread:.2f}",
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
    from lio.health import DEGENERATE_PINNED

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


DEVIATION_POINTS = 15  # issue 17: a refined better-fraction this far from the paper's needs a measured reason


def deviations_tabular(
    table: pd.DataFrame,
    experiments: Sequence[str],
    reference: dict[str, Any],
    trials: pd.DataFrame | None,
    points: float = DEVIATION_POINTS,
    basins: dict[str, dict[str, Any]] | None = None,
) -> str:
    """The refined better-than-BFGS fractions more than ``points`` from the paper's, each with
    what was measured in those runs: the method's training health next to BFGS's, the
    learning rate it trained at (calibrated, or the config's), and the share of calibration
    problems where BFGS is stuck (``lio.basins``: the bound on "better"; -- without one)."""
    if not set(HEALTH_COLUMNS) <= set(table.columns):
        return "The results this report reads carry no training health; rerun the sweep.\n"
    rows = []
    for experiment in experiments:
        published = reference.get(experiment, {}).get("table2", {})
        ours = table[(table["experiment"] == experiment) & (table["stage"] == "unrefined")]
        refined = table[(table["experiment"] == experiment) & (table["stage"] == "refined")]
        bfgs = ours[ours["method"] == "bfgs"]
        for method, paper in published.items():
            row = refined[refined["method"] == method]
            if row.empty or abs(100 * row.iloc[0].better - paper["better"]) <= points:
                continue
            own = ours[ours["method"] == method].iloc[0]
            rate = "--"
            if trials is not None and len(trials):
                chosen = trials[(trials["experiment"] == experiment) & (trials["method"] == method) & trials["chosen"]]
                rate = f"{chosen.iloc[0].learning_rate:g}" if len(chosen) else "--"
            base = bfgs.iloc[0] if len(bfgs) else None
            pair = lambda name, f: f(own[name]) + (f" / {f(base[name])}" if base is not None else "")  # noqa: E731
            rows.append([
                macro(experiment, "Title"),
                method_label(method),
                f"{100 * row.iloc[0].better:.1f}",
                f"{paper['better']:.1f}",
                f"{100 * row.iloc[0].better - paper['better']:+.1f}",
                f"{100 * own.pinned:.0f}",
                pair("error", lambda v: f"{v:.3f}"),
                pair("in_basin", lambda v: f"{100 * v:.0f}"),
                health_verdict(own),
                rate,
                f"{100 * basins[experiment]['stuck']:.0f}" if experiment in (basins or {}) else "--",
            ])
    if not rows:
        return f"Every refined better-fraction lies within {points:g} points of the paper's.\n"
    lines = [
        r"\begin{tabular}{llrrrrrrrrr}",
        r"\toprule",
        r"experiment & method & ours \% & paper \% & $\Delta$ & pinned \% & error (vs BFGS) & basin \% (vs BFGS) & degen. & rate & BFGS stuck \% \\",
        r"\midrule",
        *(" & ".join(cells) + r" \\" for cells in rows),
        r"\bottomrule",
        r"\end{tabular}",
        "",
    ]
    return "\n".join(lines)


def basins_tabular(basins: dict[str, dict[str, Any]], experiments: Sequence[str]) -> str:
    """Experiment rows of the basins check (``lio.basins``): how often BFGS from the prior mean
    is stuck, i.e. another start reaches a lower optimum."""
    rows = [e for e in experiments if e in basins]
    if not rows:
        return "No experiment of these results has a basins check (\\texttt{basins} in its config block).\n"
    lines = [
        r"\begin{tabular}{lrrrrrr}",
        r"\toprule",
        r"experiment & problems & stuck \% & truth's start lower \% & in basin \% & iterations (median, max) & optima reached \\",
        r"\midrule",
    ]
    for experiment in rows:
        record = basins[experiment]
        problems = sum(int(s["n"]) for s in record["sets"])
        lines.append(
            f"{macro(experiment, 'Title')} & {problems} & {100 * record['stuck']:.0f} & "
            f"{100 * record['truth_start_lower']:.0f} & {100 * record['in_basin']:.0f} & "
            f"{record['iterations_median']:.0f}, {record['iterations_max']} & "
            f"{record['distinct_optima_median']:.0f} \\\\"
        )
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


def calibration_tabular(trials: pd.DataFrame | None, experiments: Sequence[str]) -> str:
    """Experiment x method rows: each learning rate tried (largest first) with its verdict on
    the calibration seeds, and the rate the solve jobs trained at."""
    if trials is None or trials.empty:
        return (
            "No learning rate was calibrated for these results: every learned method trained "
            "at its config's \\texttt{training.learning\\_rate}.\n"
        )
    lines = [
        r"\begin{tabular}{llp{0.52\linewidth}r}",
        r"\toprule",
        r"experiment & method & rates tried: verdict (pinned \%, spread) & chosen \\",
        r"\midrule",
    ]
    for index, experiment in enumerate(e for e in experiments if e in set(trials["experiment"])):
        rows = trials[trials["experiment"] == experiment]
        if index:
            lines.append(r"\addlinespace")
        position = 0
        for method in dict.fromkeys(rows["method"]):
            of_method = rows[rows["method"] == method]
            # One row per calibrated problem-set size (calibration.per_n); older files hold one.
            sizes = sorted(set(of_method["n"])) if "n" in of_method else [None]
            for size in sizes:
                mine = of_method if size is None else of_method[of_method["n"] == size]
                tried = []
                for rate, by_rate in mine.groupby("learning_rate", sort=False):
                    if by_rate["stable"].all():
                        verdict = "stable"
                    else:
                        why = [w for w, flag in (("diverged", "diverged"), ("degenerate", "degenerate"))
                               if by_rate[flag].any()]
                        verdict = ", ".join(why) if why else "not settled"
                    tried.append(
                        f"${_power_of_ten(rate)}$: {verdict} ({100 * by_rate['pinned'].mean():.0f}, "
                        f"{by_rate['spread'].mean():.2f})"
                    )
                chosen = mine[mine["chosen"]]["learning_rate"]
                found = bool(mine["stable_rate_found"].iloc[0])
                chosen_text = f"${_power_of_ten(float(chosen.iloc[0]))}$" if len(chosen) else "--"
                name = macro(experiment, "Title") if position == 0 else ""
                label = method_label(method) + ("" if size is None or len(sizes) == 1 else f", $n = {int(size)}$")
                lines.append(
                    f"{name} & {label} & {'; '.join(tried)} & "
                    f"{chosen_text}{'' if found else ' (none stable)'} \\\\"
                )
                position += 1
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


def guidance_tabular(trials: pd.DataFrame | None, experiments: Sequence[str]) -> str:
    """Experiment x method rows of a sampler's calibrated guidance (the diffusion prior's DPS
    step zeta): each value tried with the median true loss of its estimates, own and refined
    (mean over the calibration seeds), and the value the solve jobs sampled with."""
    if trials is None or trials.empty:
        return (
            "No guidance step was calibrated for these results: every diffusion-prior run "
            "sampled with its config's \\texttt{guidance}.\n"
        )
    lines = [
        r"\begin{tabular}{llp{0.6\linewidth}r}",
        r"\toprule",
        r"experiment & method & $\zeta$ tried: median $L$, own / refined & chosen \\",
        r"\midrule",
    ]
    for experiment in (e for e in experiments if e in set(trials["experiment"])):
        rows = trials[trials["experiment"] == experiment]
        for position, method in enumerate(dict.fromkeys(rows["method"])):
            mine = rows[rows["method"] == method]
            tried = [
                f"{value:g}: "
                + (f"{by_value['median_loss_unrefined'].mean():.4g} / {by_value['median_loss'].mean():.4g}"
                   if by_value["finite"].all() else "non-finite")
                for value, by_value in mine.groupby("guidance", sort=False)
            ]
            chosen = mine[mine["chosen"]]["guidance"]
            chosen_text = f"{float(chosen.iloc[0]):g}" if len(chosen) else "--"
            lines.append(
                f"{macro(experiment, 'Title') if position == 0 else ''} & {method_label(method)} & "
                f"{'; '.join(tried)} & {chosen_text} \\\\"
            )
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


def cost_tabular(costs: pd.DataFrame, experiments: Sequence[str]) -> str:
    """Experiment x method rows: wall time relative to BFGS (BFGS's own row in seconds).

    A record without a benchmark summary (written before it existed) shows "--" for whole jobs.
    """
    lines = [
        r"\begin{tabular}{llrrrrr}",
        r"\toprule",
        r" & & \multicolumn{4}{c}{wall time relative to BFGS} & paper \\",
        r"\cmidrule(lr){3-6}",
        f"experiment & method & solve & solve + refine & whole job & $n = {COST_N}$ & training \\\\",
        r"\midrule",
    ]
    for index, experiment in enumerate(experiments):
        if index:
            lines.append(r"\addlinespace")
        rows = costs[costs["experiment"] == experiment]
        for position, (_, row) in enumerate(rows.iterrows()):
            cells = [macro(experiment, "Title") if position == 0 else "", method_label(row.method)]
            for kind in ("solve", "total", "job"):
                name = macro(experiment, row.method, "Cost", kind)
                if not np.isfinite(row[kind]):
                    cells.append("--")
                elif row.method == "bfgs":
                    cells.append(f"({name}Seconds\\,s)")
                else:
                    cells.append(f"{name}$\\times$")
            at_n = row.get("total_at_n", np.nan)
            cells.append("--" if not np.isfinite(at_n) else "1" if row.method == "bfgs" else f"{at_n:.1f}$\\times$")
            paper = ""
            if row.method == "reparameterized":
                paper = f"{macro(experiment, 'PaperTrainingCost')}$\\times$"
            lines.append(" & ".join([*cells, paper]) + r" \\")
    lines.append(r"\bottomrule")
    if not np.isfinite(costs["job"]).any():
        lines.append(r"\multicolumn{7}{l}{\footnotesize --: no job benchmark summary in this record.}\\")
    lines += [r"\end{tabular}", ""]
    return "\n".join(lines)


def experiment_sections(
    experiments: Sequence[str],
    figures: dict[str, list[str]],
    directory: str,
    methods: dict[str, Sequence[str]],
    published: Sequence[str] = (),
) -> str:
    """One subsection per experiment: description (paper/experiments/{key}.tex), figure, results.

    ``methods``: the learned methods each experiment ran (CT runs no neural adjoint);
    ``published``: the experiments the paper has numbers for (the others get no "paper:").
    """
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
            f"\\caption{{{m('Title')}: (a) an example problem, "
            "(b) loss and gradient along one parameter, "
            f"(c) $L/n$ during the optimisation without refinement at $n = {m('CurvesN')}$, "
            "(d) refined $L/n$ against $n$; "
            f"geometric mean, bars and bands $\\div$ and $\\times$ the geometric standard deviation over {m('Seeds')} seeds.}}\n"
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


def write_generated(
    config: dict[str, Any],
    layout: Layout,
    table_path: str,
    aggregate_paths: Sequence[str],
    benchmarks_path: str | None,
    reference_path: str,
    outputs: dict[str, str],
    calibration_path: str | None = None,
    study_paths: Sequence[str] = (),
    observation_paths: Sequence[str] = (),
    basins_paths: Sequence[str] = (),
) -> None:
    """numbers.tex, both comparison tables, the cost table (.tex, .csv), sections, summary, the
    sensitivity section (from the study tables) and the decreasing-observations section (from
    the observation axes' tables)."""
    from lio import basins as basins_check
    from lio.paper import amounts as observation_amounts
    from lio.paper.sensitivity import read_tables, sensitivity_section
    from lio.paper.imaging import imaging_tabular
    from lio.paper.observations import observations, observations_tabular, summary_config
    from lio.problems import make_problem
    from lio.results import open_dataset

    experiments = list(layout.experiments)
    aggregates = {e: open_dataset(p) for e, p in zip(experiments, aggregate_paths)}
    full_table = pd.read_csv(table_path)
    full_table = full_table[full_table["experiment"].isin(experiments)]
    table = full_table[full_table["method"] != "bfgs"]  # BFGS's rows carry only its health
    missing = sorted(set(experiments) - set(table["experiment"]))
    if missing:
        raise ValueError(f"paper: {table_path} has no rows for {missing}; rerun the tables rule.")
    jobs = pd.read_csv(benchmarks_path) if benchmarks_path else None
    costs = cost_table(aggregates, jobs)
    trials = pd.read_csv(calibration_path) if calibration_path else None
    basins = basins_check.read(basins_paths)
    reference = load_reference(reference_path)
    source = "the record of the full sweep (paper/data)" if layout.record else "this run (results/)"
    panels = layout.figures
    figures = {e: panels[i * len(PANELS) : (i + 1) * len(PANELS)] for i, e in enumerate(experiments)}
    texts = {
        "numbers": "% Generated by lio.paper from the results; do not edit.\n"
        + newcommands(
            numbers(config, table, aggregates, costs, reference, source)
            | {macro(e, "BasinsStuck"): f"{100 * r['stuck']:.0f}" for e, r in basins.items()
               if e in experiments}
        ),
        "table2_refined": comparison_tabular(table, "refined", experiments, reference),
        "table2_unrefined": comparison_tabular(table, "unrefined", experiments, None),
        "cost": cost_tabular(costs, experiments),
        "health": health_tabular(full_table, experiments),
        "pinning": pinning_notes(full_table[full_table["method"] != "bfgs"], experiments),
        "imaging": imaging_tabular(full_table, experiments),
        "observations": observations_tabular(
            observations(
                {e: make_problem(config["experiments"][e]["problem"],
                                 config["experiments"][e].get("params")) for e in experiments},
                summary_config(config),
                aggregates,
                basins,
            ),
            {e: macro(e, "Title") for e in experiments},
        ),
        "calibration": calibration_tabular(calibration.rows_of(trials, "learning_rate"), experiments),
        "guidance": guidance_tabular(calibration.rows_of(trials, "guidance"), experiments),
        "deviations": deviations_tabular(
            full_table, experiments, reference, calibration.rows_of(trials, "learning_rate"),
            basins=basins,
        ),
        "basins": basins_tabular(basins, experiments),
        "experiments": experiment_sections(
            experiments, figures, layout.directory,
            {e: list(dict.fromkeys(table[table["experiment"] == e]["method"])) for e in experiments},
            [e for e in experiments if reference.get(e, {}).get("table2")],
        ),
        "summary": summary(table, experiments, reference),
        "sensitivity": sensitivity_section(
            read_tables(study_paths),
            dict(zip(layout.studies, layout.study_figures)),
            layout.directory,
            reference,
            {e: macro(e, "Title") for e in experiments},
        ),
        "amounts": observation_amounts.section(
            observation_amounts.read_tables(observation_paths),
            dict(zip(layout.axes, layout.observation_figures)),
            layout.directory,
            {e: macro(e, "Title") for e in experiments},
            layout.configured_axes,
        ),
    }
    for name, text in texts.items():
        write_text(outputs[name], text)
    Path(outputs["cost_csv"]).parent.mkdir(parents=True, exist_ok=True)
    costs.to_csv(outputs["cost_csv"], index=False, float_format="%.4g")


def write_text(path: str, text: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text)
