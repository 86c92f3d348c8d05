"""``lio.minimize``'s argument checks: each refuses bad input with one ``ValueError`` naming what
was expected, what was given and what to do.

Besides shapes and finiteness, ``check_forward`` traces the user's ``F`` (its output shape and
dtype, and out-of-range parameter reads) and ``check_parameters_used`` refuses parameters F's
output does not depend on. Nothing here builds a problem or runs a method (``solve``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify
from jaxtyping import Array

from lio.methods import METHODS

_SHOWN_ROWS = 10


def check_method(method: str) -> type:
    if method not in METHODS:
        raise ValueError(
            f"unknown method {method!r}; expected one of {sorted(METHODS)} "
            "(lio.minimize runs those that need no labelled training set: 'reparameterized', "
            "'bfgs', 'learned_gradient')."
        )
    cls = METHODS[method]
    if cls.needs_training_set:
        raise ValueError(
            f"method {method!r} trains on labelled (solution, observation) pairs drawn from a "
            "prior, which lio.minimize does not have (it only gets your observations); use "
            "method='reparameterized' or 'bfgs', or write a Problem with sample_solution and "
            "run it through the workflow (docs/adding_an_experiment.md)."
        )
    return cls


def check_observed(observed: Any) -> np.ndarray:
    try:
        observed = np.asarray(observed, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"observed must be a numeric array of shape (n, *obs_shape); could not convert it: "
            f"{error}"
        ) from None
    if observed.ndim < 1 or observed.shape[0] == 0:
        raise ValueError(
            f"observed must have shape (n, *obs_shape) with n >= 1 problems; got shape "
            f"{observed.shape}. Stack one observation per problem along axis 0."
        )
    finite = np.isfinite(observed.reshape(observed.shape[0], -1)).all(axis=1)
    if not finite.all():
        rows = np.flatnonzero(~finite)
        shown = ", ".join(str(r) for r in rows[:_SHOWN_ROWS]) + (" ..." if len(rows) > _SHOWN_ROWS else "")
        raise ValueError(
            f"observed has non-finite values (NaN or inf) in {len(rows)} of {observed.shape[0]} "
            f"rows: {shown}; expected finite observations. Drop or repair those rows."
        )
    return observed


def check_condition(condition: Any, n: int) -> tuple[np.ndarray, tuple[int, ...] | None]:
    if condition is None:
        return np.zeros((n, 0)), None
    condition = np.asarray(condition, dtype=float)
    if condition.ndim < 1 or condition.shape[0] != n:
        raise ValueError(
            f"condition has shape {condition.shape} but observed has n={n} rows; expected "
            f"shape ({n}, *cond_shape), one condition per observation in the same order."
        )
    if not np.isfinite(condition).all():
        raise ValueError("condition has non-finite values (NaN or inf); expected finite values.")
    return condition.reshape(n, -1), condition.shape[1:]


def check_bounds(bounds: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    if bounds is None:
        return None, None
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        pairs = np.stack(np.broadcast_arrays(np.asarray(bounds.lb, float), np.asarray(bounds.ub, float)), -1)
    else:
        try:
            pairs = np.asarray(bounds, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(
                "bounds must be numeric (lower, upper) pairs, shape (d, 2); could not convert "
                f"{bounds!r}. For unbounded parameters pass bounds=None."
            ) from None
    if pairs.ndim != 2 or pairs.shape[1] != 2 or pairs.shape[0] == 0:
        raise ValueError(
            f"bounds must have shape (d, 2), one (lower, upper) pair per parameter (as in "
            f"scipy.optimize.minimize); got shape {pairs.shape}."
        )
    lower, upper = pairs[:, 0], pairs[:, 1]
    if not np.isfinite(pairs).all():
        bad = np.flatnonzero(~np.isfinite(pairs).all(axis=1)).tolist()
        raise ValueError(
            f"bounds must be finite; parameter(s) {bad} have an infinite or NaN bound. Pass "
            "bounds=None to leave all parameters unbounded (the network then predicts x0 + z)."
        )
    if not (lower < upper).all():
        bad = np.flatnonzero(~(lower < upper)).tolist()
        raise ValueError(
            f"bounds: expected lower < upper for every parameter; got lower >= upper at "
            f"parameter(s) {bad} ({[tuple(pairs[i]) for i in bad]}). Give each pair as "
            "(lower, upper)."
        )
    return lower, upper


def check_x0(x0: Any, lower: np.ndarray | None, upper: np.ndarray | None) -> np.ndarray:
    if x0 is None:
        if lower is None:
            raise ValueError(
                "give x0 (shape (d,)) or bounds (shape (d, 2)): without either, the number of "
                "parameters d is unknown."
            )
        return (lower + upper) / 2
    x0 = np.asarray(x0, dtype=float)
    if x0.ndim != 1 or x0.shape[0] == 0 or (lower is not None and x0.shape != lower.shape):
        expected = f"({lower.shape[0]},), as many as bounds has pairs" if lower is not None else "(d,)"
        raise ValueError(
            f"x0 must have shape {expected}: one initial guess shared by all problems; got "
            f"shape {x0.shape}."
        )
    if not np.isfinite(x0).all():
        raise ValueError(f"x0 must be finite; got {x0}.")
    if lower is not None and not ((lower <= x0) & (x0 <= upper)).all():
        bad = np.flatnonzero(~((lower <= x0) & (x0 <= upper))).tolist()
        raise ValueError(
            f"x0 lies outside bounds at parameter(s) {bad}; expected lower <= x0 <= upper. "
            "Move x0 into the box or widen the bounds."
        )
    return x0


def check_forward(
    forward: Callable[..., Array],
    x0: np.ndarray,
    observed: np.ndarray,
    condition: np.ndarray,
    condition_shape: tuple[int, ...] | None,
    dtype: Any,
) -> None:
    if not callable(forward):
        raise ValueError(f"forward must be a callable F(xi) -> y; got {type(forward).__name__}.")
    args = [jax.ShapeDtypeStruct(x0.shape, dtype)]
    if condition_shape is not None:
        args.append(jax.ShapeDtypeStruct(condition_shape, dtype))
    call = "forward(x0, condition[0])" if condition_shape is not None else "forward(x0)"
    try:
        out = jax.eval_shape(forward, *args)
    except Exception as error:  # noqa: BLE001  any failure of user code gets the call named
        raise ValueError(
            f"{call} could not be traced by JAX with x0 of shape {x0.shape}: "
            f"{type(error).__name__}: {error}. forward must be a JAX function of ONE problem."
        ) from error
    expected = observed.shape[1:]
    got = getattr(out, "shape", None)
    if got != expected:
        raise ValueError(
            f"{call} returns shape {got}, but observed has shape {observed.shape}, so one "
            f"problem's observation has shape {expected}; expected forward's output shape to "
            "equal observed.shape[1:]. Stack one observation per problem along axis 0, or fix "
            "forward."
        )
    if not jnp.issubdtype(out.dtype, jnp.floating):
        raise ValueError(
            f"{call} returns dtype {out.dtype}; expected a floating-point output. An integer or "
            "boolean output has a zero gradient everywhere, so no method can move from its "
            "start; return the value before the cast (or a smooth surrogate of it)."
        )
    _check_indexing(forward, x0, condition, condition_shape, dtype, call)


def _check_indexing(
    forward: Callable[..., Array],
    x0: np.ndarray,
    condition: np.ndarray,
    condition_shape: tuple[int, ...] | None,
    dtype: Any,
    call: str,
) -> None:
    """Refuse an F that reads more parameters than x0 / bounds give.

    JAX clamps an out-of-range index (``xi[2]`` of a 2-vector reads ``xi[1]``), so too few
    bounds pairs would go unnoticed. ``checkify``'s index checks find every out-of-range read
    in one evaluation of F at x0; a read of an array of x0's shape is taken to be the parameter
    vector's (an error), one of any other array only warns (F may clamp a table on purpose).
    """
    args = [jnp.asarray(x0, dtype)]
    if condition_shape is not None:
        args.append(jnp.asarray(condition[0].reshape(condition_shape), dtype))
    error, _ = jax.jit(checkify.checkify(forward, errors=checkify.index_checks))(*args)
    exception = error.get_exception()
    if exception is None:
        return
    found = str(exception).strip()
    if getattr(exception, "operand_shape", None) == x0.shape:
        raise ValueError(
            f"{call} indexes its parameters out of range ({found}), but x0 has {x0.shape[0]} "
            "entries, one per bounds pair: F reads more parameters than bounds (or x0) gives, "
            "and JAX would silently read the last one instead. Give one (lower, upper) pair "
            "and one x0 entry per parameter F reads."
        )
    warnings.warn(
        f"{call} indexes an array out of range ({found}); JAX clamps such an index to the "
        "array's edge. Check forward if that is not intended.",
        stacklevel=4,  # _check_indexing <- check_forward <- minimize <- the user's call
    )


def check_parameters_used(
    forward: Callable[..., Array],
    x0: np.ndarray,
    lower: np.ndarray | None,
    upper: np.ndarray | None,
    condition: np.ndarray,
    condition_shape: tuple[int, ...] | None,
    dtype: Any,
) -> None:
    """Refuse parameters F's output does not depend on: a bounds pair (x0 entry) too many.

    Such a parameter adds a flat direction that no method can fix: networks leave it wherever
    their output puts it, BFGS keeps it at x0, and both report "converged". A parameter counts
    as unused when F's gradient along it (a random combination of the outputs) is exactly zero
    at x0 and at 4 random points of the box (around x0 when unbounded), and a NaN in it does
    not reach F's output either (so a piecewise constant F, with zero gradients everywhere, is
    not refused here; its runs are flagged ``zero_gradient``).
    """
    d = x0.shape[0]
    known = None if condition_shape is None else jnp.asarray(condition[0].reshape(condition_shape), dtype)

    def output(xi):
        return forward(xi) if known is None else forward(xi, known)

    rng = np.random.default_rng(0)
    if lower is None:
        points = x0 + rng.normal(size=(4, d))
    else:
        points = lower + (upper - lower) * rng.uniform(size=(4, d))
    points = jnp.asarray(np.vstack([x0, points]), dtype)
    weights = jnp.asarray(rng.normal(size=(points.shape[0], *jax.eval_shape(output, points[0]).shape)), dtype)

    def sensitivity(xi, weight):
        _, pullback = jax.vjp(output, xi)
        return pullback(weight.astype(jnp.result_type(xi)))[0]

    gradients = np.asarray(jax.jit(jax.vmap(sensitivity))(points, weights))
    candidates = np.flatnonzero(np.all(gradients == 0, axis=0))
    if candidates.size == 0:
        return
    unused = []
    probe = jax.jit(jax.vmap(output))
    for start in range(0, candidates.size, 256):
        chunk = candidates[start : start + 256]
        probes = np.tile(x0, (chunk.size, 1))
        probes[np.arange(chunk.size), chunk] = np.nan
        with jax.debug_nans(False):  # the NaN is the probe, not a bug
            reached = np.isnan(np.asarray(probe(jnp.asarray(probes, dtype))).reshape(chunk.size, -1)).any(axis=1)
        unused += chunk[~reached].tolist()
    if unused:
        given = f"{d} bounds pairs" if lower is not None else f"{d} x0 entries"
        raise ValueError(
            f"forward's output does not depend on parameter(s) {unused}: expected one (lower, "
            f"upper) pair and one x0 entry per parameter forward reads ({d - len(unused)} "
            f"here), got {given}. An unused parameter stays wherever it starts and would be "
            "reported converged; drop the extra entries, or make forward use them."
        )


def check_network_arguments(
    method: str,
    method_cls: type,
    steps: int | None,
    learning_rate: float | None,
    network: dict[str, Any] | None,
) -> None:
    """Refuse ``steps`` / ``learning_rate`` / ``network`` for a method that trains no network."""
    if "network" in method_cls.__dataclass_fields__:
        return
    given = [
        name
        for name, value in (("steps", steps), ("learning_rate", learning_rate), ("network", network))
        if value is not None
    ]
    if given:
        raise ValueError(
            f"{given} configure a network, but method {method!r} trains none; drop them or "
            "use method='reparameterized'."
        )
