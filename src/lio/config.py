"""Semantic config checks beyond the JSON schema: registry names, sizes, figure choices.

``problems_in(config)`` returns every problem found, as messages naming the key, what is
allowed and what was given, so a workflow can stop before any job with all of them at once.
"""

from __future__ import annotations

from typing import Any

from lio.methods import METHODS, make_method
from lio.problems import PROBLEMS, make_problem


def problems_in(config: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    from lio.experiment import bfgs_settings

    try:
        settings = bfgs_settings(config)
    except (TypeError, ValueError) as error:
        return [f"bfgs: {error}"]
    for name, block in config.get("experiments", {}).items():
        where = f"experiments.{name}"
        kind = block.get("problem")
        if kind not in PROBLEMS:
            errors.append(f"{where}.problem: {kind!r} is not a registered problem; expected one of {sorted(PROBLEMS)}")
        else:
            try:
                make_problem(kind, block.get("params"))
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
                    f"{where}.methods.{method}: not a registered method; expected one of {sorted(METHODS)}"
                )
                continue
            try:
                make_method(method, options, settings)
            except (TypeError, ValueError) as error:
                errors.append(f"{where}.methods.{method}: {error}")
        figures = block.get("figures", {})
        ns = block.get("ns", [])
        if "curves_n" in figures and figures["curves_n"] not in ns:
            errors.append(
                f"{where}.figures.curves_n: {figures['curves_n']} is not one of ns={ns}; "
                "pick an n that the sweep runs"
            )
        if ns and figures.get("example", 0) >= max(ns):
            errors.append(
                f"{where}.figures.example: {figures['example']} must be below the largest n ({max(ns)})"
            )
    return errors
