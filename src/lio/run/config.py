"""Config checks: the JSON schema in one line per mistake, then registry names, sizes, figures.

``schema_problems(config, schema)`` and ``problems_in(config)`` return every problem found, as
one-line messages naming the key, what is expected, what was given and what to do, so a
workflow can stop before any job with all of them at once. ``drop_null_experiments`` removes
the experiments a later config file sets to null (``experiments: {fwi: null}``), and the
studies of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lio.run import studies
from lio.run.config_schema import guess, load_schema, schema_problems  # noqa: F401 (the schema half)
from lio.methods import METHODS, make_method
from lio.problems import PROBLEMS, make_problem
from lio.problems.schema import parameter_errors


def load_config(paths: list[str], base: str = "config/config.yaml") -> dict[str, Any]:
    """``base`` with each file of ``paths`` merged over it in order, key by key (as snakemake's
    ``--configfile`` does), then without the experiments a file sets to null."""
    config: dict[str, Any] = {}
    for path in [base, *paths]:
        _merge(config, yaml.safe_load(Path(path).read_text()) or {})
    drop_null_experiments(config)
    return config


def _merge(base: dict, update: dict) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def restore_booleans(config: dict[str, Any], schema: dict[str, Any] | None = None) -> None:
    """Turn the string forms of booleans back into booleans, in place: every key the schema
    types ``boolean`` or lets be ``true`` (without a schema, ``compute.gpu``).

    Snakemake reads ``--config`` values, and a profile's ``config:`` block, with YAML's
    string-only loader: ``--config publish=true`` arrives as ``{"publish": "true"}``,
    ``compute={gpu: true}`` as ``{"gpu": "true"}``, a profile's ``compute: {gpu: true}`` as
    ``{"gpu": "True"}``. Call before validating against the schema.
    """
    if schema is None:
        schema = {"properties": {"compute": {"properties": {"gpu": {"type": "boolean"}}}}}
    _restore(config, schema)


def _restore(config: Any, schema: dict[str, Any]) -> None:
    if not isinstance(config, dict):
        return
    for key, rule in (schema.get("properties") or {}).items():
        value = config.get(key)
        boolean = rule.get("type") == "boolean" or True in (rule.get("enum") or [])
        if boolean and isinstance(value, str) and value.lower() in ("true", "false"):
            config[key] = value.lower() == "true"
        elif isinstance(value, dict):
            _restore(value, rule)


def drop_null_experiments(config: dict[str, Any]) -> list[str]:
    """Remove the experiments set to null, and the studies of them, in place; their names.

    Snakemake merges every ``--configfile`` over config/config.yaml key by key, so a later file
    cannot delete a key, only set it: ``experiments: {fwi: null}`` is how an overlay drops an
    experiment. Its observation axis, calibration and basins blocks live in its block and go
    with it; ``studies`` entries naming it are removed too. Call before validating.
    """
    experiments = config.get("experiments")
    if not isinstance(experiments, dict):
        return []
    dropped = [name for name, block in experiments.items() if block is None]
    for name in dropped:
        del experiments[name]
    if dropped and isinstance(config.get("studies"), list):
        config["studies"] = [
            study for study in config["studies"]
            if not (isinstance(study, dict) and study.get("experiment") in dropped)
        ]
    return dropped


def restrict_methods(config: dict[str, Any]) -> list[str]:
    """Keep only the methods ``only_methods`` names (and BFGS, the reference), in place.

    ``snakemake --config 'only_methods=[supervised]'`` then runs, aggregates and tabulates just
    those methods of every experiment that configures them (its studies and observation axes
    included), e.g. to record the methods a machine can afford. Returns problems as
    ``key: what is wrong`` messages ([] if none); unset, nothing changes.
    """
    only = config.get("only_methods")
    if only is None:
        return []
    unknown = [name for name in only if name not in METHODS]
    if unknown:
        return [
            f"only_methods: {unknown} are not registered methods; expected some of "
            f"{sorted(METHODS)}, e.g. --config 'only_methods=[reparameterized]'"
        ]
    keep = set(only) | {"bfgs"}
    for block in (config.get("experiments") or {}).values():
        methods = block.get("methods")
        if isinstance(methods, dict):
            block["methods"] = {name: options for name, options in methods.items() if name in keep}
        axis = block.get("observations")
        if isinstance(axis, dict) and "methods" in axis:
            axis["methods"] = [name for name in axis["methods"] if name in keep]
    kept_studies = []
    for study in config.get("studies") or []:
        setting = str(study.get("setting", "")).split(".")
        if setting[0] == "methods" and len(setting) > 1 and setting[1] not in keep:
            continue  # a study of a dropped method's setting
        if "methods" in study:
            study["methods"] = [name for name in study["methods"] if name in keep]
        kept_studies.append(study)
    if "studies" in config:
        config["studies"] = kept_studies
    return []


def problems_in(config: dict[str, Any]) -> list[str]:
    """Every problem of a schema-valid config, as ``key: what is wrong`` messages ([] if none).

    Problem params are checked against the problem class's own fields (``lio.problems.schema``:
    types and list lengths), then by constructing the problem (its value ranges), so a new
    problem is validated from its dataclass alone.
    """
    errors: list[str] = []
    from lio.methods import BFGSSettings

    try:
        global_settings = BFGSSettings(**config.get("bfgs", {}))
    except (TypeError, ValueError) as error:
        return [f"bfgs: {error}"]
    for name, block in config.get("experiments", {}).items():
        where = f"experiments.{name}"
        settings = global_settings
        if block.get("bfgs"):
            try:
                settings = BFGSSettings(**studies.bfgs_options(config, block))
            except (TypeError, ValueError) as error:
                errors.append(f"{where}.bfgs: {error}")
        kind = block.get("problem")
        problem = None
        if kind not in PROBLEMS:
            errors.append(
                f"{where}.problem: {kind!r} is not a registered problem; expected one of "
                f"{sorted(PROBLEMS)}{guess(kind, PROBLEMS)}"
            )
        else:
            params = block.get("params") or {}
            # Types and lengths first, one message per key; the ranges only once those fit.
            mismatches = parameter_errors(PROBLEMS[kind], params)
            errors += [
                f"{where}.params.{key}: {message}" if key else f"{where}.params: {message}"
                for key, message in mismatches
            ]
            if not mismatches:
                try:
                    problem = make_problem(kind, params)
                except (TypeError, ValueError) as error:
                    errors.append(f"{where}.params: {error}")
        methods = block.get("methods", {})
        if "bfgs" not in methods:
            errors.append(
                f"{where}.methods: must include 'bfgs' (every method is compared against it); "
                f"got {sorted(methods)}"
            )
        for method, options in methods.items():
            if method not in METHODS:
                errors.append(
                    f"{where}.methods.{method}: not a registered method; expected one of "
                    f"{sorted(METHODS)}{guess(method, METHODS)}"
                )
                continue
            try:
                built = make_method(method, options, settings)
                if problem is not None:
                    built.check(problem)
            except (TypeError, ValueError) as error:
                errors.append(f"{where}.methods.{method}: {error}")
        figures = block.get("figures", {})
        ns = block.get("ns", [])
        if "curves_n" in figures and figures["curves_n"] not in ns:
            errors.append(
                f"{where}.figures.curves_n: {figures['curves_n']} is not one of ns={ns}; "
                "pick an n that the sweep runs"
            )
        # Panels (a, b) draw problem `example` of the largest-n problem set (common.smk).
        if ns and figures.get("example", 0) >= max(ns):
            errors.append(
                f"{where}.figures.example: {figures['example']} must be below the largest n ({max(ns)})"
            )
        parameter = figures.get("landscape_parameter", 0)
        if problem is not None and parameter >= problem.num_parameters:
            errors.append(
                f"{where}.figures.landscape_parameter: {parameter} is not a parameter of {kind}; "
                f"expected an index below {problem.num_parameters} "
                f"({', '.join(f'{i} = {name}' for i, name in enumerate(problem.parameter_names))})"
            )
    return errors


def workflow_problems(config: dict[str, Any]) -> list[str]:
    """Every problem of a schema-valid config, each named once ([] if none).

    ``problems_in`` and the checks of calibration, studies and observation axes, then the
    blocks of the studies' values, each a copy of its experiment's block: those are checked
    only for experiments with no problem of their own, so one bad value is named once, not once
    per study value.
    """
    from lio.run import calibration, observations

    found = problems_in(config)
    broken = {
        name for name in config.get("experiments", {})
        if any(m.startswith((f"experiments.{name}.", f"experiments.{name}:")) for m in found)
    }
    everywhere = any(m.startswith("bfgs:") for m in found)  # the global block: every block has it
    found += calibration.problems_in(config) + studies.problems_in(config) + observations.problems_in(config)
    if not everywhere:
        sound = {
            name: block for name, block in studies.experiments(config).items()
            if block["study"]["base"] not in broken
        }
        found += [
            message.replace("experiments.studies/", "studies: ")
            for message in problems_in({**config, "experiments": sound})
        ]
    return list(dict.fromkeys(found))
