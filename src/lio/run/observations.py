"""How should the optimiser change with decreasing observations? The observation-amount axis.

An experiment block with ``observations: {amounts: [...]}`` runs every method x n x seed again
at each amount of its problem's own knob (``Problem.amount_parameter``: CT's projection angles,
MRI's acceleration, FWI's receivers, the wave packet's observed fraction of samples). Each amount
is an experiment of its own, ``{experiment}/amount{value}`` (so its paths carry the amount:
``results/ct/amount45/reparameterized/n16/seed0/result.nc``), sampled, solved, refined and
aggregated by the ordinary rules; its learned methods train at the base experiment's calibrated
learning rate, so only the amount moves. Experiments without the block keep their paths and cost.

``table`` turns the amounts' aggregates into one row per (amount, method, stage): Table 2's
better/equal fractions against BFGS at that amount with their bootstrap intervals, the training
health, the runs' commits (``git_sha``, which publishing checks), and the mean loss L/n and
(image problems) PSNR, SSIM and relative error with 95 % bootstrap intervals of the mean over
all problems (``lio.analysis.bootstrap.mean_interval``, Table 2's bootstrap with one stratum).
``winners`` names
at each amount the method with the best refined mean, and whether its interval separates it
from the runner-up. ``dataset`` stacks the aggregates along an ``amount`` dimension.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from lio.analysis.bootstrap import mean_interval
from lio.problems import PROBLEMS, make_problem
from lio.run.spec import (  # noqa: F401 (the axis's definition lives with the other experiment kinds)
    Axis,
    _amount_value,
    _counts,
    _problem_class,
    amount_label,
    axes_in,
    problem_of,
)
from lio.run.spec import amount_blocks as experiments  # noqa: F401
from lio.run.spec import amount_name as experiment_name  # noqa: F401

# Per-example quantities with an interval per (amount, method, stage): name -> lower is better.
QUANTITIES = {"loss": True, "psnr": False, "ssim": False, "relative_error": True}
TIE_RTOL = 1e-6  # means this close share the best place (comparison.rtol's default)


def problems_in(config: dict[str, Any]) -> list[str]:
    """Config problems of the observation axes (empty when fine), each naming its key."""
    problems = []
    for experiment, block in config.get("experiments", {}).items():
        options = block.get("observations")
        if not options or not options.get("amounts"):
            continue
        where = f"experiments.{experiment}.observations"
        cls = _problem_class(block)
        if cls is None:
            continue  # lio.run.config names the unknown problem
        if cls.amount_parameter is None:
            supported = sorted(k for k, c in PROBLEMS.items() if c.amount_parameter)
            problems.append(
                f"{where}: problem {block.get('problem')!r} has no observation-amount knob "
                f"(Problem.amount_parameter); the axis runs on {supported}. Drop the block, or "
                "give the problem an amount_parameter."
            )
            continue
        try:
            make_problem(block["problem"], block.get("params") or {})
            sound = True
        except (TypeError, ValueError):
            sound = False  # lio.run.config names the experiment's problem once; each amount would repeat it
        for amount in options.get("amounts", []):
            if _counts(cls, cls.amount_parameter) and not float(amount).is_integer():
                # int() would run 45 angles under results/<experiment>/amount45.5/
                problems.append(
                    f"{where}.amounts: {cls.amount_parameter} of {block['problem']!r} is a count "
                    f"({cls.amount_label}); expected whole numbers, got {amount!r}; give "
                    + " or ".join(str(whole) for whole in (int(amount), int(amount) + 1) if whole >= 1)
                )
                continue
            if not sound:
                continue
            params = {**(block.get("params") or {}), cls.amount_parameter: _amount_value(cls, cls.amount_parameter, amount)}
            try:
                make_problem(block["problem"], params)
            except (TypeError, ValueError) as error:
                problems.append(
                    f"{where}.amounts: {amount!r} is not a valid {cls.amount_parameter} of "
                    f"{block['problem']!r}: {error}"
                )
        if options.get("reg_weights") and "reg_weight" not in {f.name for f in dataclasses.fields(cls)}:
            problems.append(
                f"{where}.reg_weights: problem {block['problem']!r} has no reg_weight; drop reg_weights"
            )
        methods = options.get("methods", list(block.get("methods", {})))
        unknown = sorted(set(methods) - set(block.get("methods", {})))
        if unknown:
            problems.append(f"{where}.methods: {unknown} are not methods of experiments.{experiment}")
        if "bfgs" not in methods:
            problems.append(f"{where}.methods: must include 'bfgs' (the fractions compare against it)")
        labels = [amount_label(a) for a in options.get("amounts", [])]
        if len(set(labels)) != len(labels):
            problems.append(f"{where}.amounts: {options['amounts']} name one amount twice")
    return problems


def inputs(config: dict[str, Any], experiment: str) -> list[str]:
    """The aggregates of one axis, one per amount, in the config's order."""
    return [f"results/{name}/aggregate.nc" for name in axes_in(config)[experiment].experiment_names()]


def _per_example(dataset, name: str, method: str, stage: str) -> np.ndarray:
    """Every problem's value of ``name`` (loss, psnr, ...) of one method and stage, pooled over
    n and seed (padding beyond a run's n is NaN and dropped)."""
    key = f"{name}_{stage}"
    if key not in dataset:
        return np.array([])
    return dataset[key].sel(solver=method).values.ravel()


def _shas(dataset, method: str) -> str:
    """The commits of one method's runs in an aggregate, space-separated (what publishing checks)."""
    if "git_sha" not in dataset:
        return ""
    values = np.asarray(dataset["git_sha"].sel(solver=method).values).ravel()
    return " ".join(sorted({str(v) for v in values if str(v) and str(v) != "nan"}))


def table(config: dict[str, Any], experiment: str, aggregate_paths: list[str]):
    """One row per (amount, method, stage): fractions and health (``lio.analysis.metrics.fractions``),
    and the mean of every quantity of ``QUANTITIES`` the aggregate has, with its interval."""
    import pandas as pd

    from lio.analysis import results
    from lio.analysis.metrics import stage_fractions

    axis = axes_in(config)[experiment]
    options = config["comparison"]
    frames = []
    for index, (amount, path) in enumerate(zip(axis.amounts, aggregate_paths, strict=True)):
        dataset = results.open_dataset(path)
        name = experiment_name(experiment, amount)
        for frame in stage_fractions(dataset, problem_of(config, name), options):
            for quantity in QUANTITIES:
                columns = {f"{quantity}_mean": [], f"{quantity}_low": [], f"{quantity}_high": []}
                for row in frame.itertuples():
                    mean, low, high = mean_interval(
                        _per_example(dataset, quantity, row.method, row.stage),
                        options["confidence"], options["bootstrap_resamples"], seed=index,
                    )
                    columns[f"{quantity}_mean"].append(mean)
                    columns[f"{quantity}_low"].append(low)
                    columns[f"{quantity}_high"].append(high)
                if np.isfinite(columns[f"{quantity}_mean"]).any():
                    for column, values in columns.items():
                        frame[column] = values
            frame["git_sha"] = [_shas(dataset, method) for method in frame["method"]]
            frame.insert(0, "amount_index", index)
            frame.insert(0, "amount", amount_label(amount))
            frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "increases_observations", axis.increases_observations)
    out.insert(0, "label", axis.label)
    out.insert(0, "parameter", axis.parameter)
    out.insert(0, "experiment", experiment)
    return out


def judged_stage(frame) -> str:
    """The stage an axis is judged on: the own estimates (``unrefined``; BFGS's own is its
    refined one) on an image problem (a table with PSNR), whose convex objective sends every
    refined start to one minimum; the refined estimates elsewhere, as Table 2."""
    own = frame[frame["stage"] == "unrefined"]
    has_psnr = "psnr_mean" in own and np.isfinite(own["psnr_mean"]).any()
    return "unrefined" if has_psnr else "refined"


def winners(frame, stage: str = "refined") -> Any:
    """Per amount and quantity (of ``stage``: ``refined``, or ``unrefined`` for the methods' own
    estimates, which on a convex imaging objective are what differs: refinement takes every
    start to one minimum): the method with the best mean (``a = b`` when several share it
    within ``TIE_RTOL``), its interval, the runner-up, and whether the two intervals are
    disjoint (``separated``); otherwise the data do not tell them apart there."""
    import pandas as pd

    from lio.analysis.results import _method_order

    rows = []
    refined = frame[frame["stage"] == stage]
    for quantity, lower_is_better in QUANTITIES.items():
        if f"{quantity}_mean" not in refined:
            continue
        for (index, amount), block in refined.groupby(["amount_index", "amount"], sort=True):
            block = block[np.isfinite(block[f"{quantity}_mean"])]
            if block.empty:
                continue
            ranked = block.sort_values(f"{quantity}_mean", ascending=lower_is_better, kind="stable")
            best = ranked.iloc[0]
            means = ranked[f"{quantity}_mean"].to_numpy()
            tied = np.isclose(means, means[0], rtol=TIE_RTOL, atol=0)
            # Methods at the same mean (refinement took them to one minimum) share the place.
            names = " = ".join(sorted(ranked["method"][tied], key=_method_order))
            second = ranked[~tied].iloc[0] if (~tied).any() else None
            separated = second is not None and (
                best[f"{quantity}_high"] < second[f"{quantity}_low"]
                if lower_is_better
                else best[f"{quantity}_low"] > second[f"{quantity}_high"]
            )
            rows.append({
                "experiment": best["experiment"], "quantity": quantity, "amount_index": index,
                "amount": amount, "best": names, "mean": best[f"{quantity}_mean"],
                "low": best[f"{quantity}_low"], "high": best[f"{quantity}_high"],
                "runner_up": None if second is None else second["method"],
                "runner_up_mean": np.nan if second is None else second[f"{quantity}_mean"],
                "separated": bool(separated),
            })
    return pd.DataFrame(rows)


def markdown(frame, best) -> str:
    """The axis's table: per amount and method, better-than-BFGS and the quantities of the stage
    the axis is judged on (``judged_stage``: the own estimates on an image problem)."""
    from lio.analysis.metrics import percent

    stage = judged_stage(frame)
    words = "refined" if stage == "refined" else "own estimates (BFGS's own is its refined one)"
    head = frame.iloc[0]
    quantities = [q for q in QUANTITIES if f"{q}_mean" in frame]
    direction = "more" if head["increases_observations"] else "fewer"
    lines = [
        f"**{head['experiment']}**: quality against {head['label']} ({head['parameter']}; a larger "
        f"value observes {direction}), {words}, means with 95% bootstrap intervals",
        "",
        "| " + " | ".join([head["parameter"], "method", "better than BFGS", *quantities]) + " |",
        "|" + "---|" * (3 + len(quantities)),
    ]
    for row in frame[frame["stage"] == stage].sort_values(["amount_index"]).itertuples():
        better = "–" if row.method == "bfgs" else (
            f"{percent(row.better)} [{percent(row.better_low)}, {percent(row.better_high)}]")
        cells = [f"{getattr(row, f'{q}_mean'):.4g} [{getattr(row, f'{q}_low'):.4g}, "
                 f"{getattr(row, f'{q}_high'):.4g}]" for q in quantities]
        lines.append("| " + " | ".join([row.amount, row.method, better, *cells]) + " |")
    lines += ["", f"**best method per amount** ({'refined' if stage == 'refined' else 'own-estimate'} mean; "
              "* its interval is disjoint from the runner-up's)", "",
              "| " + head["parameter"] + " | " + " | ".join(quantities) + " |",
              "|---|" + "---|" * len(quantities)]
    for amount, block in best.groupby("amount_index", sort=True):
        cells = []
        for quantity in quantities:
            hit = block[block["quantity"] == quantity]
            cells.append("–" if hit.empty else f"{hit.iloc[0]['best']}{' *' if hit.iloc[0]['separated'] else ''}")
        lines.append(f"| {block.iloc[0]['amount']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def dataset(config: dict[str, Any], experiment: str, aggregate_paths: list[str]):
    """The amounts' aggregates stacked along an ``amount`` dimension (padded where their n,
    seeds or examples differ)."""
    import xarray as xr

    from lio.analysis import results

    axis = axes_in(config)[experiment]
    parts = [results.open_dataset(path).drop_vars(["git_sha", "lio_version", "device", "config"], errors="ignore")
             for path in aggregate_paths]
    stacked = xr.concat(parts, dim="amount", join="outer", combine_attrs="drop_conflicts")
    stacked = stacked.assign_coords(amount=("amount", [float(a) for a in axis.amounts]))
    stacked["amount"].attrs.update({"long_name": f"{axis.label} ({axis.parameter})", "units": "1"})
    return stacked


def write(config: dict[str, Any], experiment: str, aggregate_paths: list[str], out: dict[str, str]) -> None:
    """The axis's table (CSV, Markdown), best-method table (CSV) and amount-dimension aggregate."""
    from lio.analysis import results
    from lio.core.atomic import write_atomically

    frame = table(config, experiment, aggregate_paths)
    best = winners(frame, judged_stage(frame))
    write_atomically(out["csv"], frame.to_csv(index=False, float_format="%.6g"))
    write_atomically(out["winners"], best.to_csv(index=False, float_format="%.6g"))
    write_atomically(out["markdown"], markdown(frame, best))
    results.write_atomic(dataset(config, experiment, aggregate_paths), out["aggregate"])
