"""Tuning: the calibrated settings (lio.run.calibration), the learning rates tried with their
verdicts and the guidance step of a sampler, each with the value the solve jobs used."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from lio.report.paper.tex import group_row, macro, method_label, power_of_ten


def calibration_tabular(trials: pd.DataFrame | None, experiments: Sequence[str]) -> str:
    """Experiment x method rows: each learning rate tried (largest first) with its verdict on
    the calibration seeds, and the rate the solve jobs trained at."""
    if trials is None or trials.empty:
        return (
            "No learning rate was calibrated for these results: every learned method trained "
            "at its config's \\texttt{training.learning\\_rate}.\n"
        )
    lines = [
        r"\begin{tabular}{lp{0.62\linewidth}r}",
        r"\toprule",
        r"method & rates tried: verdict (pinned \%, spread) & chosen \\",
        r"\midrule",
    ]
    for index, experiment in enumerate(e for e in experiments if e in set(trials["experiment"])):
        rows = trials[trials["experiment"] == experiment]
        if index:
            lines.append(r"\addlinespace")
        lines.append(group_row(experiment, 3))
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
                        f"${power_of_ten(rate)}$: {verdict} ({100 * by_rate['pinned'].mean():.0f}, "
                        f"{by_rate['spread'].mean():.2f})"
                    )
                chosen = mine[mine["chosen"]]["learning_rate"]
                found = bool(mine["stable_rate_found"].iloc[0])
                chosen_text = f"${power_of_ten(float(chosen.iloc[0]))}$" if len(chosen) else "--"
                label = method_label(method) + ("" if size is None or len(sizes) == 1 else f", $n = {int(size)}$")
                lines.append(
                    f"{label} & {'; '.join(tried)} & "
                    f"{chosen_text}{'' if found else ' (none stable)'} \\\\"
                )
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
