"""Method registry: one solver per module, one line here per method."""

from __future__ import annotations

from typing import Any

from lio.methods.base import Estimate, Method
from lio.methods.bfgs import STATUS, BFGSOutcome, BFGSSettings, minimize_batch
from lio.methods.bfgs_method import BFGS, refine
from lio.methods.neural_adjoint import NeuralAdjoint
from lio.methods.reparameterized import Reparameterized
from lio.methods.supervised import Supervised
from lio.methods.training import TrainSettings

METHODS: dict[str, type[Method]] = {
    "bfgs": BFGS,
    "reparameterized": Reparameterized,
    "supervised": Supervised,
    "neural_adjoint": NeuralAdjoint,
}


def make_method(name: str, options: dict[str, Any] | None, bfgs: BFGSSettings) -> Method:
    """Build a registered method from its config block (``training:`` becomes TrainSettings)."""
    if name not in METHODS:
        raise ValueError(
            f"unknown method {name!r}; expected one of {sorted(METHODS)}. "
            "Register new methods in lio/methods/__init__.py."
        )
    cls = METHODS[name]
    options = dict(options or {})
    if "training" in options:
        options["training"] = TrainSettings(**options["training"])
    if "bfgs" in cls.__dataclass_fields__:
        options.setdefault("bfgs", bfgs)
    if name == "bfgs":
        options.setdefault("settings", bfgs)
    allowed = set(cls.__dataclass_fields__)
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ValueError(
            f"method {name!r}: unknown option(s) {unknown}; expected a subset of {sorted(allowed)}."
        )
    return cls(**options)


__all__ = [
    "BFGS",
    "METHODS",
    "STATUS",
    "BFGSOutcome",
    "BFGSSettings",
    "Estimate",
    "Method",
    "NeuralAdjoint",
    "Reparameterized",
    "Supervised",
    "TrainSettings",
    "make_method",
    "minimize_batch",
    "refine",
]
