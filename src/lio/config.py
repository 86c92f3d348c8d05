"""Config checks: the JSON schema in one line per mistake, then registry names, sizes, figures.

``schema_problems(config, schema)`` and ``problems_in(config)`` return every problem found, as
one-line messages naming the key, what is expected, what was given and what to do, so a
workflow can stop before any job with all of them at once. ``drop_null_experiments`` removes
the experiments a later config file sets to null (``experiments: {fwi: null}``), and the
studies of them.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from lio import studies
from lio.methods import METHODS, make_method
from lio.problems import PROBLEMS, make_problem
from lio.problems.schema import parameter_errors


def restore_booleans(config: dict[str, Any]) -> None:
    """Turn the string forms of ``compute.gpu``'s booleans back into booleans, in place.

    Snakemake reads nested ``--config`` values, and a profile's ``config:`` block, with YAML's
    string-only loader: ``compute={gpu: true}`` arrives as ``{"gpu": "true"}``, a profile's
    ``compute: {gpu: true}`` as ``{"gpu": "True"}``. Call before validating against the schema.
    """
    compute = config.get("compute")
    if isinstance(compute, dict) and isinstance(compute.get("gpu"), str):
        spelled = compute["gpu"].lower()
        if spelled in ("true", "false"):
            compute["gpu"] = spelled == "true"


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


# YAML's 1000.0 is a float, and JSON schema counts floats with no fraction as integers; counts
# (steps, seeds, n) must reach the code as ints, so integers are strict (as lio.problems.schema).
_StrictValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool)
    ),
)

_TYPE_NAMES = {
    "object": ("a mapping (key: value block)", "mappings"),
    "array": ("a list", "lists"),
    "integer": ("an integer", "integers"),
    "number": ("a number", "numbers"),
    "string": ("a string", "strings"),
    "boolean": ("true or false", "booleans"),
    "null": ("null", "nulls"),
}
_PATTERNS = {"^[a-z][a-z0-9_]*$": "lower-case letters, digits and _, starting with a letter"}


def load_schema(path: str | Path) -> dict[str, Any]:
    """The config schema (YAML or JSON) at ``path``."""
    return yaml.safe_load(Path(path).read_text())


def schema_problems(config: dict[str, Any], schema: dict[str, Any] | str | Path) -> list[str]:
    """Every way ``config`` breaks the JSON ``schema``, one line each ([] if none).

    Each line names the key path (``experiments.myexp.ns``, ``studies[1].name``), what the
    schema expects, what the config gives and what to do; of a ``oneOf`` / ``anyOf`` it reports
    the alternative the value was meant for (the one whose type it has). Integers are strict:
    ``1000.0`` is refused where a count is expected.
    """
    if not isinstance(schema, dict):
        schema = load_schema(schema)
    validator = _StrictValidator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    lines: list[str] = []
    for error in errors:
        lines += _error_lines(error, validator, schema)
    return list(dict.fromkeys(lines))


def _error_lines(error: jsonschema.ValidationError, validator, root: dict[str, Any]) -> list[str]:
    path = list(error.absolute_path)
    where = _dotted(path)
    instance, schema = error.instance, error.schema
    if error.validator in ("oneOf", "anyOf") and error.context:
        branches = error.validator_value
        meant = [
            i for i, branch in enumerate(branches)
            if "type" in branch and _has_type(validator, instance, branch["type"])
        ]
        if meant:
            chosen = [e for e in error.context if e.relative_schema_path[0] == meant[0]]
            return [line for sub in chosen for line in _error_lines(sub, validator, root)]
        expected = " or ".join(_describe(branch) for branch in branches)
        return [f"{where}: expected {expected}, got {_shown(instance)}; {_fix(root, path)}"]
    if "propertyNames" in error.absolute_schema_path:
        wanted = _PATTERNS.get(schema.get("pattern"), f"names matching {schema.get('pattern')!r}")
        return [
            f"{where}: the name {instance!r} is not allowed; expected {wanted}, got {instance!r}; "
            f"rename it"
        ]
    if error.validator == "required":
        missing = [key for key in error.validator_value if key not in instance]
        lines = []
        for key in missing:
            inner = _schema_at(root, [*path, key])
            what = _hint(inner)
            expected = f"{what}, {_describe(inner)}" if what else _describe(inner)
            present = ", ".join(sorted(map(str, instance))) or "nothing"
            block = where if path else "the config"
            lines.append(
                f"{_dotted([*path, key])}: missing; expected {expected}, got only "
                f"{present} in {block}; add {key}: to {block}"
            )
        return lines
    if error.validator == "additionalProperties" and error.validator_value is False:
        known = sorted(schema.get("properties", {}))
        lines = []
        for key in instance:
            if key in known:
                continue
            close = difflib.get_close_matches(str(key), known, n=1)
            guess = f" (did you mean {close[0]}?)" if close else ""
            parent = f"a key of {where}" if path else "a top-level key"
            lines.append(
                f"{_dotted([*path, key])}: not {parent}; expected one of "
                f"{', '.join(known)}, got {key!r}{guess}; rename it or remove it"
            )
        return lines
    if error.validator == "uniqueItems":
        repeated = sorted({str(item) for item in instance if instance.count(item) > 1})
        return [
            f"{where}: expected distinct values, got {_shown(instance)} ({', '.join(repeated)} "
            f"more than once); list each value once"
        ]
    if error.validator in ("type", "enum", "minimum", "maximum", "exclusiveMinimum",
                           "exclusiveMaximum", "minItems", "maxItems", "minProperties", "pattern"):
        return [f"{where}: expected {_describe(schema)}, got {_shown(instance)}; {_fix(root, path, instance, schema)}"]
    return [f"{where}: {error.message}; {_fix(root, path)}"]


def _guess(name: Any, known) -> str:
    """``; did you mean 'bfgs'?`` for a near miss of a known name, else nothing."""
    close = difflib.get_close_matches(str(name), sorted(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _has_type(validator, instance: Any, types: str | list[str]) -> bool:
    return any(validator.is_type(instance, t) for t in ([types] if isinstance(types, str) else types))


def _dotted(path: list) -> str:
    """``experiments.myexp.ns``, ``studies[1].name``, ``config`` for the top level."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "config"


def _schema_at(root: dict[str, Any], path: list) -> dict[str, Any]:
    """The subschema that describes the value at ``path`` ({} where the schema says nothing)."""
    schema = root
    for part in path:
        schema = _resolved(root, schema)
        if isinstance(part, int):
            schema = schema.get("items", {})
        elif part in schema.get("properties", {}):
            schema = schema["properties"][part]
        else:
            schema = schema.get("additionalProperties", {})
        if not isinstance(schema, dict):
            return {}
    return _resolved(root, schema)


def _resolved(root: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with a local ``$ref`` (``#/$defs/bfgs``) replaced by its target, merged
    under the keys written beside it."""
    reference = schema.get("$ref", "")
    if not reference.startswith("#/"):
        return schema
    target = root
    for part in reference[2:].split("/"):
        target = target[part]
    return {**target, **{k: v for k, v in schema.items() if k != "$ref"}}


def _describe(schema: dict[str, Any]) -> str:
    """``an integer >= 1``, ``a non-empty list of distinct integers >= 1``, ``one of [...]``."""
    if "enum" in schema:
        return "one of " + ", ".join(_yaml_word(v) for v in schema["enum"])
    types = schema.get("type")
    if isinstance(types, list):
        return " or ".join(_TYPE_NAMES.get(t, (t, t))[0] for t in types)
    if types == "array":
        items = schema.get("items")
        text = "a non-empty list" if schema.get("minItems") == 1 else "a list"
        if schema.get("minItems", 0) > 1:
            text += f" of at least {schema['minItems']}"
        distinct = "distinct " if schema.get("uniqueItems") else ""
        if isinstance(items, dict) and items:
            text += f" of {distinct}{_plural(items)}"
        elif distinct:
            text += " of distinct values"
        return text
    if types == "object":
        return "a non-empty mapping" if schema.get("minProperties") else _TYPE_NAMES["object"][0]
    text = _TYPE_NAMES.get(types, (None,))[0] or "a value"
    if "pattern" in schema:
        text += " of " + _PATTERNS.get(schema["pattern"], f"the pattern {schema['pattern']!r}")
    return text + _bounds(schema)


def _plural(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return "values from " + ", ".join(_yaml_word(v) for v in schema["enum"])
    types = schema.get("type")
    if types == "array":
        return "lists" + _describe(schema).removeprefix("a list")
    return _TYPE_NAMES.get(types, ("", "values"))[1] + _bounds(schema)


def _bounds(schema: dict[str, Any]) -> str:
    parts = [f"{sign} {schema[key]:g}" for key, sign in (
        ("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<"),
    ) if key in schema]
    return (" " + " and ".join(parts)) if parts else ""


def _yaml_word(value: Any) -> str:
    """An enum value as YAML spells it: ``true``, ``null``, ``auto``."""
    if value is None or isinstance(value, bool):
        return _shown(value)
    return str(value)


def _shown(value: Any) -> str:
    """The config's value as the user wrote it, shortened to one line."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return f"a mapping of {', '.join(map(str, value))}" if value else "an empty mapping"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _hint(schema: dict[str, Any]) -> str:
    """The first clause of a key's description, if short: ``problem-set sizes n``."""
    text = str(schema.get("description", "")).split("; ")[0].strip()
    return text if 0 < len(text) <= 80 else ""


def _fix(root: dict[str, Any], path: list, instance: Any = None, schema: dict[str, Any] | None = None) -> str:
    """What to do: write an integer without its decimal point, pick a listed value, or fix the
    value (and what the key is, from its description)."""
    if schema and schema.get("type") == "integer" and isinstance(instance, float) and instance.is_integer():
        return f"write {int(instance)}, without the decimal point"
    if schema and "enum" in schema:
        return "use one of these"
    named = [part for part in path if not isinstance(part, int)]
    if not named:
        return "fix the value"
    # A list item's description is its list's: ns[0] is one of the problem-set sizes n.
    hint = _hint(_schema_at(root, path)) or (
        _hint(_schema_at(root, path[:-1])) if isinstance(path[-1], int) else "")
    return f"fix the value ({named[-1]}: {hint})" if hint and hint != named[-1] else "fix the value"


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
                f"{sorted(PROBLEMS)}{_guess(kind, PROBLEMS)}"
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
                    f"{sorted(METHODS)}{_guess(method, METHODS)}"
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
    from lio import calibration, observations

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
