"""The JSON schema of a problem's parameters, derived from its dataclass fields.

A problem's constants are typed dataclass fields with defaults (``num_samples: int = 128``,
``cue_centre: tuple[float, float] = (0.5, 0.2)``), static pytree fields; fields that are pytree
leaves are arrays the problem derives (an imaging operator) and no parameters. ``params_schema``
turns those annotations into a JSON schema and ``parameter_errors`` checks a config's ``params`` block against it with
``jsonschema``, so a new problem's parameters are validated without writing a line of checks.
Value ranges (``radius > 0``, ``low < high``) stay in each problem's ``__post_init__``;
``make_problem`` runs those after the types and lengths here have passed.

    float -> number          int -> integer (strict: 256.0 and 256.5 are refused)
    bool  -> boolean         str -> string          Literal[a, b] -> enum [a, b]
    tuple[X, Y] -> array of exactly 2 items        tuple[X, ...] / list[X] -> array of X
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from typing import Any

import jsonschema

_SCALARS = {
    bool: ({"type": "boolean"}, "true or false", "booleans"),
    int: ({"type": "integer"}, "an integer", "integers"),
    float: ({"type": "number"}, "a number", "numbers"),
    str: ({"type": "string"}, "a string", "strings"),
}

# YAML's 256.0 is a float, and JSON schema counts floats with no fraction as integers; a
# shape-setting field (num_samples, resolution) must get a Python int, so integers are strict.
_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool)
    ),
)


def field_schema(annotation: Any, where: str) -> dict[str, Any]:
    """The JSON schema of one field annotation (see the module docstring for the mapping).

    Args:
        annotation: a resolved type, e.g. ``tuple[float, float]``.
        where: ``Class.field``, named in the error when the annotation has no mapping.

    Raises:
        TypeError: for annotations with no JSON counterpart (a developer error: give the
            field one of the mapped types, or extend this function).
    """
    if annotation in _SCALARS:
        return dict(_SCALARS[annotation][0])
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return {"type": "array", "items": field_schema(args[0], where)}
    if origin is tuple and args:
        items = [field_schema(arg, where) for arg in args]
        if all(item == items[0] for item in items):
            return {"type": "array", "items": items[0], "minItems": len(items), "maxItems": len(items)}
        return {"type": "array", "prefixItems": items, "items": False, "minItems": len(items)}
    if origin is list and len(args) == 1:
        return {"type": "array", "items": field_schema(args[0], where)}
    raise TypeError(
        f"{where}: the annotation {annotation!r} has no JSON-schema counterpart; expected one of "
        "bool, int, float, str, Literal[...], tuple[X, ...], tuple[X, Y, ...] or list[X] "
        "(lio/problems/schema.py)."
    )


@functools.cache
def params_schema(cls: type) -> dict[str, Any]:
    """The JSON schema of ``cls``'s constructor arguments: one property per dataclass field."""
    hints = typing.get_type_hints(cls)
    properties = {}
    for field in dataclasses.fields(cls):
        if field.metadata.get("pytree_node") is True:
            continue  # marked a pytree leaf: an array derived from the parameters (an operator)
        schema = field_schema(hints[field.name], f"{cls.__name__}.{field.name}")
        schema["description"] = f"{cls.__name__}.{field.name} ({_type_name(hints[field.name])})"
        if field.default is not dataclasses.MISSING:
            schema["default"] = _plain(field.default)
        properties[field.name] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
    }


def parameter_errors(cls: type, params: dict[str, Any]) -> list[tuple[str, str]]:
    """Every way ``params`` does not fit ``cls``'s fields, as ``(key, message)`` pairs.

    ``key`` is the parameter (``cue_centre``, ``boxes[0]``), or ``""`` for the block as a
    whole (unknown names). Types and lengths only; value ranges are the class's own checks.
    """
    schema = params_schema(cls)
    unknown = sorted(set(params) - set(schema["properties"]))
    if unknown:
        return [
            ("", f"unknown parameter(s) {unknown}; expected a subset of {sorted(schema['properties'])}.")
        ]
    errors = sorted(_Validator(schema).iter_errors(params), key=lambda e: list(map(str, e.absolute_path)))
    return [(_key(error.absolute_path), _message(error)) for error in errors]


def as_field_values(params: dict[str, Any]) -> dict[str, Any]:
    """YAML's lists as tuples (static, hashed problem fields must be hashable), recursively."""

    def convert(value):
        return tuple(convert(item) for item in value) if isinstance(value, (list, tuple)) else value

    return {name: convert(value) for name, value in params.items()}


def _message(error: jsonschema.ValidationError) -> str:
    if error.validator in ("type", "minItems", "maxItems", "items", "enum"):
        return f"expected {_describe(error.schema)}, got {error.instance!r}"
    return error.message  # a validator the mapping does not emit; jsonschema's own wording


def _describe(schema: dict[str, Any]) -> str:
    """``a number``, ``a list of 2 numbers``, ``a list of lists of 4 numbers``."""
    if "enum" in schema:
        return f"one of {schema['enum']}"
    if schema.get("type") != "array":
        return next(singular for s, singular, _ in _SCALARS.values() if s == {"type": schema["type"]})
    if "prefixItems" in schema:
        return f"a list of [{', '.join(_describe(item) for item in schema['prefixItems'])}]"
    if "minItems" in schema and schema.get("maxItems") == schema["minItems"]:
        return f"a list of {schema['minItems']} {_plural(schema['items'])}"
    return f"a list of {_plural(schema['items'])}"


def _plural(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return f"values from {schema['enum']}"
    if schema.get("type") != "array":
        return next(plural for s, _, plural in _SCALARS.values() if s == {"type": schema["type"]})
    return "lists" + _describe(schema).removeprefix("a list")


def _key(path) -> str:
    parts = list(path)
    return str(parts[0]) + "".join(f"[{index}]" for index in parts[1:]) if parts else ""


def _type_name(annotation: Any) -> str:
    return annotation.__name__ if isinstance(annotation, type) and not typing.get_args(annotation) else str(annotation)


def _plain(value: Any) -> Any:
    return [_plain(item) for item in value] if isinstance(value, tuple) else value


__all__ = ["as_field_values", "field_schema", "parameter_errors", "params_schema"]
