"""The config's JSON schema, with every mistake as one line.

``schema_problems(config, schema)`` lists each way a config breaks the schema as one line that
names the key path, what is expected, what was given and what to do (of a ``oneOf`` / ``anyOf``,
the alternative the value was meant for). Integers are strict. lio.run.config adds the checks a
schema cannot express (registry names, problem parameters, sizes).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import jsonschema
import yaml


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


def guess(name: Any, known) -> str:
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
