"""Method registry: one solver per module, one line here per method.

Names are imported on first use (PEP 562), so a job that only needs ``Estimate`` or ``STATUS``
(data, aggregation, figures) does not pay for optimistix and the network code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lio.methods.base import Estimate, Method
    from lio.methods.bfgs import BFGSOutcome, BFGSSettings, bfgs_on_problems, minimize_batch
    from lio.methods.bfgs_method import BFGS, refine, refine_seeds
    from lio.methods.diffusion import Diffusion
    from lio.methods.random_start import BestOfRandomStarts, RandomStart
    from lio.methods.learned_gradient import LearnedGradient
    from lio.methods.neural_adjoint import NeuralAdjoint
    from lio.methods.reparameterized import Reparameterized
    from lio.methods.supervised import Supervised
    from lio.methods.training import TrainSettings

# name -> (module, attribute, label in tables and figures) of every registered method
_REGISTRY = {
    "bfgs": ("lio.methods.bfgs_method", "BFGS", "BFGS"),
    "reparameterized": ("lio.methods.reparameterized", "Reparameterized", "Reparameterized"),
    "supervised": ("lio.methods.supervised", "Supervised", "Supervised"),
    "neural_adjoint": ("lio.methods.neural_adjoint", "NeuralAdjoint", "Neural adjoint"),
    "learned_gradient": ("lio.methods.learned_gradient", "LearnedGradient", "Learned gradient"),
    "diffusion": ("lio.methods.diffusion", "Diffusion", "Diffusion prior"),
    "random_start": ("lio.methods.random_start", "RandomStart", "Random start"),
    "best_of_random_starts": ("lio.methods.random_start", "BestOfRandomStarts", "Best random start"),
}
# Labels without importing any method (figure and table jobs need no solver code).
LABELS = {name: label for name, (_, _, label) in _REGISTRY.items()}

# public name -> module that defines it (the method classes come from _REGISTRY)
_EXPORTS = {
    "Estimate": "lio.methods.base",
    "Method": "lio.methods.base",
    "STATUS": "lio.methods.base",
    "BFGSOutcome": "lio.methods.bfgs",
    "BFGSSettings": "lio.methods.bfgs",
    "minimize_batch": "lio.methods.bfgs",
    "bfgs_on_problems": "lio.methods.bfgs",
    "refine": "lio.methods.bfgs_method",
    "refine_seeds": "lio.methods.bfgs_method",
    "TrainSettings": "lio.methods.training",
    **{attribute: module for module, attribute, _ in _REGISTRY.values()},
}


def _method_class(name: str) -> type[Method]:
    module, attribute, _ = _REGISTRY[name]
    return getattr(importlib.import_module(module), attribute)


def __getattr__(name: str) -> Any:
    if name == "METHODS":
        return {key: _method_class(key) for key in _REGISTRY}
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'lio.methods' has no attribute {name!r}")


def make_method(name: str, options: dict[str, Any] | None, bfgs: BFGSSettings) -> Method:
    """Build a registered method from its config block (``training:`` becomes TrainSettings)."""
    if name not in _REGISTRY:
        raise ValueError(
            f"unknown method {name!r}; expected one of {sorted(_REGISTRY)}. "
            "Register new methods in lio/methods/__init__.py."
        )
    from lio.methods.training import TrainSettings

    cls = _method_class(name)
    options = dict(options or {})
    if "training" in options:
        options["training"] = TrainSettings(**options["training"])
    if "bfgs" in cls.__dataclass_fields__:
        options.setdefault("bfgs", bfgs)
    if "settings" in cls.__dataclass_fields__:  # BFGS and its random-start controls
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
    "BestOfRandomStarts",
    "Diffusion",
    "Estimate",
    "LABELS",
    "LearnedGradient",
    "Method",
    "NeuralAdjoint",
    "RandomStart",
    "Reparameterized",
    "Supervised",
    "TrainSettings",
    "bfgs_on_problems",
    "make_method",
    "minimize_batch",
    "refine",
    "refine_seeds",
]
