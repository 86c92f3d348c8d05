"""Sensitivity studies: one constant the paper does not state, swept on its own.

A study (an entry of the config's ``studies`` list, a list so that a later config file replaces
the whole set: ``studies: []`` runs none) takes one experiment, one setting of it, given as a dotted
path into the experiment's block (``params.width``, ``methods.reparameterized.training.steps``)
or into the comparison block (``comparison.rtol``), and a list of values. Everything else stays
as the record has it. For an experiment setting, each value becomes an experiment of its own,
named ``studies/<study>/v<i>``, that the workflow's ordinary rules sample, solve, refine and
aggregate, restricted to the study's ``ns``, ``seeds`` and ``methods``. Its learned methods train
at the base experiment's calibrated learning rate (so only the studied constant moves), unless
the study varies that rate itself. A comparison setting needs no new runs: the base experiment's
aggregate is compared again under each value.

``table`` turns the aggregates into Table 2's fractions (better/equal than BFGS, refined and
unrefined, bootstrap CIs) and the training health per value, and ``figure`` plots them against
the value. With a value equal to the record's, a study's runs are the record's own runs for those
``ns`` and ``seeds`` (same data keys, same seeds), so a study also checks that the record
reproduces.
"""

from __future__ import annotations

import json
from typing import Any

from lio.run.spec import (  # noqa: F401 (the study's definition lives with the other experiment kinds)
    PREFIX,
    Study,
    base_of,
    bfgs_options,
    bfgs_record,
    block,
    derived_experiments,
    lookup,
    problem_of,
    studies_in,
    varies_learning_rate,
    varies_setting,
)
from lio.run.spec import study_blocks as experiments  # noqa: F401
from lio.run.spec import study_name as experiment_name

COMPARISON_SETTINGS = ("rtol", "atol", "same_minimum")


def problems_in(config: dict[str, Any]) -> list[str]:
    """Config problems of the studies (empty when fine), each naming its key and what to do."""
    problems = []
    experiments_ = config.get("experiments", {})
    names = [entry.get("name") for entry in config.get("studies") or []]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        problems.append(f"studies: names {repeated} are used more than once; give each study its own name")
    for study in studies_in(config).values():
        where = f"studies.{study.name}"
        if study.experiment not in experiments_:
            problems.append(
                f"{where}.experiment: {study.experiment!r} is not an experiment; expected one of "
                f"{sorted(experiments_)}; drop the study, or give `studies: []` in a later config "
                "file to run none"
            )
            continue
        base = experiments_[study.experiment]
        if not study.values:
            problems.append(f"{where}.values: give at least one value of {study.setting!r}")
        path = study.setting.split(".")
        if study.compares_only:
            if len(path) != 2 or path[1] not in COMPARISON_SETTINGS:
                problems.append(
                    f"{where}.setting: {study.setting!r} is not a comparison setting; expected "
                    f"one of {[f'comparison.{s}' for s in COMPARISON_SETTINGS]}"
                )
            elif any(not isinstance(v, (int, float)) or v < 0 for v in study.values):
                problems.append(f"{where}.values: {study.setting} needs numbers >= 0, got {list(study.values)}")
            continue
        if path[0] not in ("params", "methods") or not lookup(base, path)[0]:
            problems.append(
                f"{where}.setting: {study.setting!r} is not set in experiments.{study.experiment}; "
                "give the dotted path of a key the experiment's block has (params.<name>, "
                "methods.<method>.training.<name>, ...) or comparison.<rtol|atol|same_minimum>"
            )
        unknown = sorted(set(study.methods) - set(base.get("methods", {})))
        if unknown:
            problems.append(
                f"{where}.methods: {unknown} are not methods of experiments.{study.experiment} "
                f"({sorted(base.get('methods', {}))})"
            )
        if "bfgs" not in study.methods:
            problems.append(f"{where}.methods: must include 'bfgs' (the fractions compare against it)")
        if not study.ns or not study.seeds:
            problems.append(f"{where}: ns and seeds must not be empty")
        if path[0] == "methods" and len(path) > 1 and path[1] not in study.methods:
            problems.append(f"{where}.setting: {study.setting!r} changes a method the study does not run")
    return problems


def value_label(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(value_label(v) for v in value) + "]"
    return str(value)


def calibrated_method(config: dict[str, Any], study: Study) -> str | None:
    """The method whose calibrated learning rate the study varies (None if it varies none)."""
    from lio.run import calibration

    path = study.setting.split(".")
    if len(path) == 4 and path[0] == "methods" and path[2:] == ["training", "learning_rate"]:
        if calibration.settings(config, study.experiment)["enabled"] and calibration.is_learned(
            config, study.experiment, path[1]
        ):
            return path[1]
    return None


def record_value(config: dict[str, Any], study: Study, calibration_path: str | None = None) -> Any:
    """The value the record uses for the study's setting (a calibrated learning rate is read
    from the base experiment's calibration file)."""
    if calibration_path:
        from lio.run import calibration

        return calibration.read_learning_rate(calibration_path)
    if study.compares_only:
        return config["comparison"][study.setting.split(".")[1]]
    return lookup(config["experiments"][study.experiment], study.setting.split("."))[1]


def inputs(config: dict[str, Any], study: Study) -> list[str]:
    """The aggregates a study's table reads, one per value (a comparison study: the base's)."""
    if study.compares_only:
        return [f"results/{study.experiment}/aggregate.nc"]
    return [f"results/{name}/aggregate.nc" for name in study.experiment_names()]


def table(config: dict[str, Any], study: Study, aggregate_paths: list[str], calibration_path: str | None = None):
    """Table 2's fractions and the training health per value of the study (a DataFrame).

    Columns: value (its label), value_index, is_record (the record's own value), then the
    columns of ``lio.analysis.metrics.fractions`` (method, stage, better [low, high], equal, ...).
    """
    import numpy as np
    import pandas as pd

    from lio.analysis import results
    from lio.analysis.metrics import stage_fractions

    options = dict(config["comparison"])
    recorded = record_value(config, study, calibration_path)
    frames = []
    for index, value in enumerate(study.values):
        if study.compares_only:
            path, experiment = aggregate_paths[0], study.experiment
            options = {**config["comparison"], study.setting.split(".")[1]: value}
        else:
            path, experiment = aggregate_paths[index], experiment_name(study.name, index)
        dataset = results.open_dataset(path)
        problem = problem_of(config, experiment)
        shas = " ".join(sorted({str(v) for v in np.unique(dataset["git_sha"].values) if str(v)}))
        for frame in stage_fractions(dataset, problem, options):
            frame["git_sha"] = shas  # the commits of the runs (publish refuses -dirty ones)
            frame.insert(0, "is_record", _same(value, recorded))
            frame.insert(0, "value_index", index)
            frame.insert(0, "value", value_label(value))
            frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "setting", study.setting)
    out.insert(0, "experiment", study.experiment)
    out.insert(0, "study", study.name)
    return out


def _same(value: Any, recorded: Any) -> bool:
    if isinstance(value, (int, float)) and isinstance(recorded, (int, float)):
        return abs(value - recorded) <= 1e-12 * max(abs(value), abs(recorded), 1e-300)
    return json.dumps(value) == json.dumps(recorded)


def markdown(frame) -> str:
    """The study's refined fractions and health per value, one row per (value, method)."""
    from lio.analysis.metrics import percent

    rows = frame[(frame["stage"] == "refined") & (frame["method"] != "bfgs")]
    head = frame.iloc[0]
    lines = [
        f"**{head['study']}**: {head['experiment']}, {head['setting']} (refined; better / equal "
        "than BFGS with 95% bootstrap interval, exact better, own estimate pinned / error; * the record's value)",
        "",
        "| value | method | better | equal | exact better | pinned | error |",
        "|---|---|---|---|---|---|---|",
    ]
    unrefined = frame[frame["stage"] == "unrefined"].set_index(["value_index", "method"])
    for _, row in rows.iterrows():
        own = unrefined.loc[(row["value_index"], row["method"])]
        lines.append(
            f"| {row['value']}{' *' if row['is_record'] else ''} | {row['method']} | "
            f"{percent(row['better'])} [{percent(row['better_low'])}, {percent(row['better_high'])}] | "
            f"{percent(row['equal'])} [{percent(row['equal_low'])}, {percent(row['equal_high'])}] | "
            f"{percent(row['better_exact'])} | {percent(own['pinned'])} | {own['error']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def write(
    config: dict[str, Any], name: str, aggregate_paths: list[str], csv: str, md: str,
    calibration_path: str | None = None,
) -> None:
    from lio.core.atomic import write_atomically

    frame = table(config, studies_in(config)[name], aggregate_paths, calibration_path)
    write_atomically(csv, frame.to_csv(index=False, float_format="%.6f"))
    write_atomically(md, markdown(frame))
