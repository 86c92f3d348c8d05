"""lio.methods.bfgs (with lio.methods.projected) drives optimistix's (L-)BFGS step by step
and reads its internals: the solver state's fields, ``FunctionInfo``'s kinds, the quasi-Newton
classes' fields and the descent and step signatures. pyproject.toml accepts only the optimistix
minor they were read from; these tests fail with one line naming the installed version and the
supported range."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import re
import tomllib

import jax
import jax.numpy as jnp
import pytest
from packaging.specifiers import SpecifierSet

from tests.workflow_helpers import ROOT

INSTALLED = importlib.metadata.version("optimistix")


def supported() -> str:
    """pyproject.toml's optimistix range, e.g. ``>=0.1.0,<0.2``."""
    for spec in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        found = re.fullmatch(r"optimistix\s*([^;]*)", spec.strip())
        if found:
            return found.group(1).replace(" ", "")
    raise AssertionError("pyproject.toml does not list optimistix")


def fail(problem: str) -> None:
    pytest.fail(
        f"optimistix {INSTALLED} is installed; lio.methods.bfgs reads its internals and supports "
        f"optimistix{supported()} (pyproject.toml): {problem}",
        pytrace=False,
    )


# What lio.methods.bfgs and lio.methods.projected touch: module names, solver fields it fills in (the projected
# solvers subclass optimistix's abstract ones), state fields its loop reads.
NAMES = (
    "AbstractBFGS", "AbstractLBFGS", "AbstractDescent", "AbstractMinimiser", "BFGS", "LBFGS",
    "BacktrackingArmijo", "FunctionInfo", "RESULTS", "max_norm",
)
FIELDS = {
    "BFGS": ("rtol", "atol", "norm", "use_inverse", "descent", "search", "verbose"),
    "LBFGS": ("rtol", "atol", "norm", "use_inverse", "descent", "search", "verbose", "history_length"),
}
STATE = ("f_info", "num_accepted_steps", "terminate", "result", "y_eval")


def missing_internals() -> list[str]:
    import optimistix as optx

    from lio.methods.bfgs import BFGSSettings

    missing = [f"optimistix.{name}" for name in NAMES if not hasattr(optx, name)]
    if missing:
        return missing
    missing += [f"optimistix.{owner}.{name}" for owner, name in
                (("RESULTS", "successful"), ("FunctionInfo", "EvalGradHessian")) if not hasattr(getattr(optx, owner), name)]
    for cls, fields in FIELDS.items():
        have = {field.name for field in dataclasses.fields(getattr(optx, cls))}
        missing += [f"optimistix.{cls}.{field}" for field in fields if field not in have]
    fn = lambda y, _: (jnp.sum((y - 0.25) ** 2), None)  # noqa: E731
    y0 = jnp.zeros(2)
    bounds = (jnp.zeros(2), jnp.ones(2))
    for kind in ("bfgs", "lbfgs"):
        for box in (None, bounds):
            try:
                solver = BFGSSettings(solver=kind).make_solver(box)
                label = type(solver).__name__
                state = solver.init(fn, y0, None, {}, jax.ShapeDtypeStruct((), y0.dtype), None, frozenset())
                missing += [f"{label}'s state.{field}" for field in STATE if not hasattr(state, field)]
                missing += [f"{label}'s state.f_info.f"] if not hasattr(state.f_info, "f") else []
                # The projected descent reads the gradient and the (inverse) Hessian.
                hessian = "hessian" if kind == "bfgs" and box is not None else "hessian_inv"
                missing += [f"{label}'s state.f_info.{name}" for name in ("grad", hessian)
                            if not hasattr(state.f_info, name)]
                solver.step(fn, y0, None, {}, state, frozenset())
            except Exception as error:  # noqa: BLE001 - any failure: the internals differ
                missing.append(f"{kind} (bounds {box is not None}): {type(error).__name__}: {error}".splitlines()[0])
    return missing


def test_installed_optimistix_is_in_the_supported_range():
    if INSTALLED not in SpecifierSet(supported()):
        fail("outside the supported range; install a supported optimistix, or read its internals again")


def test_optimistix_has_the_internals_bfgs_reads():
    missing = missing_internals()
    if missing:
        fail("lacks " + "; ".join(missing))
