"""``lio.minimize``: solve many instances of YOUR inverse problem jointly, scipy-style.

The user's forward function is wrapped in a ``FunctionProblem`` (an ordinary ``Problem``), and
then solved by exactly the method classes and the ``refine`` step the Snakemake workflow runs;
nothing here trains a network or runs BFGS itself.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.experimental import checkify
from jaxtyping import Array, Float, PRNGKeyArray

from lio import metrics
from lio.methods import METHODS, STATUS, BFGSSettings, Estimate, make_method
from lio.methods import refine as refine_estimate
from lio.methods.bfgs_method import gradient_flags
from lio.problems.base import Problem, ProblemSet

DEFAULT_STEPS = 1000
DEFAULT_LEARNING_RATE = 1e-3
# A 1-D observation at least this long is treated as a signal (conv net); shorter vectors are
# a handful of features, for which pooling would throw information away (MLP).
CONV_MIN_LENGTH = 32
# The VGG-style net of the wave-packet experiment (config/config.yaml) and a plain 2-layer MLP.
CONV_NETWORK = {"kind": "conv", "features": [16, 16, 32, 32, 64], "kernel_size": 3, "dense": 64}
MLP_NETWORK = {"kind": "mlp", "hidden": [128, 128], "activation": "relu"}
# Without x64, float32 iterates stall at ~1e-7 relative change, so the workflow's float64
# Cauchy tolerances (1e-10 / 1e-12) would never hold and every BFGS run would spend its budget.
FLOAT32_BFGS = BFGSSettings(rtol=1e-6, atol=1e-9)
# "Better than BFGS" uses the workflow's tolerances (config/config.yaml, comparison).
COMPARISON_RTOL, COMPARISON_ATOL = 1e-6, 1e-12
_SHOWN_ROWS = 10


class FunctionProblem(Problem):
    """A ``Problem`` around a user's forward function ``F(xi) -> y`` or ``F(xi, x) -> y``.

    There is no prior: ``sample_solution`` raises, so methods that need a labelled training
    set (supervised, neural adjoint) cannot run on it.

    Attributes:
        function: the differentiable JAX forward model of ONE problem (static: compared by
            identity, so repeated calls with the same function reuse compiled code).
        x0: ``(d,)`` prior mean: BFGS's initial guess, and the offset of unbounded solutions.
        lower, upper: ``(d,)`` parameter box; ``-inf`` / ``inf`` when unbounded.
        bounded: whether the box is finite. If not, ``from_network`` returns ``x0 + z``.
        condition_shape: shape of one problem's condition as the user gave it, or None when
            ``F`` takes no condition (the contract's ``(n, c)`` condition is then ``c = 0``).
    """

    name: ClassVar[str] = "function"

    function: Callable[..., Array] = struct.field(pytree_node=False)
    x0: Float[Array, " d"]
    lower: Float[Array, " d"]
    upper: Float[Array, " d"]
    bounded: bool = struct.field(pytree_node=False, default=True)
    condition_shape: tuple[int, ...] | None = struct.field(pytree_node=False, default=None)

    @property
    def parameter_names(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(f"x[{i}]" for i in range(self.x0.shape[-1]))

    def forward(self, solution: Float[Array, " d"], condition: Float[Array, " c"]) -> Array:
        if self.condition_shape is None:
            return self.function(solution)
        return self.function(solution, condition.reshape(self.condition_shape))

    def sample_solution(self, key: PRNGKeyArray, n: int) -> tuple[Array, Array]:
        raise NotImplementedError(
            "FunctionProblem has no prior to sample solutions from; lio.minimize only solves "
            "the observations it is given."
        )

    @property
    def bounds(self) -> tuple[Array, Array]:
        return self.lower, self.upper

    @property
    def prior_mean(self) -> Float[Array, " d"]:
        return self.x0

    def from_network(self, z: Float[Array, "... d"]) -> Float[Array, "... d"]:
        """Scaled tanh onto the box when bounded; otherwise ``x0 + z`` (z is O(1) at init)."""
        if self.bounded:
            return super().from_network(z)
        return self.x0.astype(z.dtype) + z

    def to_network(self, solution: Float[Array, "... d"]) -> Float[Array, "... d"]:
        """Inverse of ``from_network``."""
        if self.bounded:
            return super().to_network(solution)
        return solution - self.x0.astype(solution.dtype)


@dataclasses.dataclass(frozen=True)
class MinimizeResult:
    """What ``lio.minimize`` returns (host numpy arrays, one row per problem).

    Attributes:
        x: ``(n, d)`` solutions, BFGS-refined when ``refine=True``.
        fun: ``(n,)`` loss ``||F(x_i) - y_i||^2`` at ``x``.
        status: ``(n,)`` strings: ``converged`` / ``max_steps`` / ``diverged`` / ``failed``
            (BFGS), or ``completed`` (a network trained for its steps, unrefined); or, in
            place of those, ``zero_gradient`` (the loss gradient was exactly zero, at a non-zero
            loss, where the stage started: x0 for ``method="bfgs"``, the network's estimate for
            the network and its refinement; the stage could not move, e.g. an ``F`` made
            piecewise constant by ``round``) or ``nonfinite_gradient`` (NaN or inf there).
        nit: ``(n,)`` BFGS iterations of the last stage, or training steps of a network.
        x_unrefined, fun_unrefined, status_unrefined: the method's own estimate before
            refinement (equal to ``x``, ``fun``, ``status`` when nothing was refined).
        history: mean loss L/n along the method's optimisation (``steps + 1`` values for the
            network methods, one per BFGS iteration for ``bfgs``).
        refine_history: L/n along the refinement (empty when not refined).
        wall_time: seconds spent in the method and its refinement, compilation included.
        method: the method that ran.
        in_bounds: ``(n,)`` True where ``x`` lies in ``bounds`` (all True without bounds):
            BFGS is unconstrained, so ``method="bfgs"`` and refinement may leave the box.
        bfgs_x, bfgs_fun: ``(n, d)`` / ``(n,)`` plain BFGS from ``x0`` on every problem, when
            ``compare_bfgs=True``; else None.
        bfgs_wall_time: seconds of that comparison run (None without it).
    """

    x: np.ndarray
    fun: np.ndarray
    status: np.ndarray
    nit: np.ndarray
    x_unrefined: np.ndarray
    fun_unrefined: np.ndarray
    status_unrefined: np.ndarray
    history: np.ndarray
    refine_history: np.ndarray
    wall_time: float
    method: str
    in_bounds: np.ndarray
    bfgs_x: np.ndarray | None = None
    bfgs_fun: np.ndarray | None = None
    bfgs_wall_time: float | None = None

    @property
    def success(self) -> np.ndarray:
        """``(n,)`` True where BFGS converged or a network completed its training."""
        return np.isin(self.status, ("converged", "completed"))

    def _against_bfgs(self) -> tuple[np.ndarray, np.ndarray]:
        if self.bfgs_fun is None:
            raise ValueError(
                "no BFGS comparison in this result; call lio.minimize(..., compare_bfgs=True)."
            )
        return metrics.compare(self.fun, self.bfgs_fun, COMPARISON_RTOL, COMPARISON_ATOL)

    @property
    def n_better_than_bfgs(self) -> int:
        """Problems where ``fun`` is lower than plain BFGS's loss beyond the workflow's
        tolerance (``|L - L_BFGS| > 1e-12 + 1e-6 max(|L|, |L_BFGS|)``)."""
        return int(self._against_bfgs()[0].sum())

    @property
    def n_equal_to_bfgs(self) -> int:
        """Problems where ``fun`` equals plain BFGS's loss within the same tolerance."""
        return int(self._against_bfgs()[1].sum())


def minimize(
    forward: Callable[..., Array],
    observed: Any,
    *,
    bounds: Any = None,
    x0: Any = None,
    condition: Any = None,
    method: str = "reparameterized",
    refine: bool = True,
    key: PRNGKeyArray | None = None,
    compare_bfgs: bool = False,
    steps: int | None = None,
    learning_rate: float | None = None,
    network: dict[str, Any] | None = None,
    bfgs: BFGSSettings | dict[str, Any] | None = None,
) -> MinimizeResult:
    """Solve n inverse problems ``min_xi ||F(xi) - y_i||^2`` jointly (paper Eq. 2).

    The default method trains one network ``N(y_i) -> xi_i`` on all n problems at once with
    full-batch Adam on the true loss (no labels, no prior), then refines every estimate with
    BFGS on ``F``. It runs the same ``lio.methods`` classes and ``refine`` as the workflow.

    Args:
        forward: differentiable JAX function of ONE problem, ``F(xi) -> y`` with ``xi`` of
            shape ``(d,)``, or ``F(xi, x) -> y`` when ``condition`` is given.
        observed: ``(n, *obs_shape)`` observations, one row per problem, all finite.
        bounds: ``(d, 2)`` finite ``(lower, upper)`` pairs, one per parameter ``F`` reads, or
            an object with ``.lb`` / ``.ub`` (``scipy.optimize.Bounds``). Unlike scipy's
            L-BFGS-B, BFGS here never enforces them; what they mean depends on the method:
            ``"reparameterized"`` maps the network's estimates into the box with a scaled tanh
            (``x_unrefined`` always lies in it), and its BFGS refinement is unconstrained, as
            in the workflow, so ``x`` may leave it; for ``"bfgs"`` the box only fixes d and
            the default ``x0`` (its centre), and solutions may leave it. ``in_bounds`` marks
            the solutions inside. An ``F`` that indexes beyond the d parameters is refused
            (JAX would clamp the index silently). None: unbounded, the network's output ``z``
            is used as ``x0 + z`` (so give parameters of order one, or bounds).
        x0: ``(d,)`` initial guess of BFGS (baseline and ``method="bfgs"``) and, without
            bounds, the centre of the network's estimates. Default: centre of ``bounds``,
            else zeros. One of ``x0`` / ``bounds`` is required (it fixes d).
        condition: ``(n, *cond_shape)`` known per-problem inputs ``x_i`` passed to ``forward``.
        method: ``"reparameterized"`` (default), ``"bfgs"`` or ``"learned_gradient"`` (an
            unrolled optimiser trained jointly on the problems' own losses; its network sees
            the iterate and its gradient and is chosen by the unknown's shape, so ``network``
            is its spec, not an observation network). ``"supervised"`` and
            ``"neural_adjoint"`` need labelled data drawn from a prior, which ``minimize`` does
            not have; they are rejected (use a registered ``Problem`` and the workflow).
        refine: refine the network's estimates with BFGS on ``forward``.
        key: PRNG key of the network initialisation; default ``jax.random.PRNGKey(0)``.
        compare_bfgs: also run plain BFGS from ``x0`` on every problem (``bfgs_fun``,
            ``n_better_than_bfgs``).
        steps: Adam steps, default 1000 (the paper's network settles after ~500).
        learning_rate: Adam step size, default 1e-3 (the workflow's wave-packet setting).
        network: a ``lio.nets`` spec. Default by the shape of one observation: 1-D of length
            >= 32 -> 1D conv net, 2-D -> 2D conv net (both ``CONV_NETWORK``), anything else
            (a scalar, a vector shorter than 32, 3-D and more, flattened) -> ``MLP_NETWORK``.
        bfgs: ``BFGSSettings`` (or its fields as a dict) for refinement and the comparison.
            Default: the workflow's float64 settings with x64 on, looser ones
            (``FLOAT32_BFGS``) without.

    Returns:
        A ``MinimizeResult``. Before trusting ``converged``, note that a stage that starts
        where the loss gradient is exactly zero (at a non-zero loss) or non-finite is reported
        ``zero_gradient`` / ``nonfinite_gradient`` instead: BFGS would otherwise stop at once
        and call it converged.

    Raises:
        ValueError: on bad input, naming what was expected, what was given and what to do:
            among others an ``F`` with integer or boolean output (zero gradient everywhere),
            an ``F`` that reads more parameters than ``bounds`` / ``x0`` give, and one whose
            output does not depend on some of them (a bounds pair too many).

    Precision: networks always train in float32. Everything else runs in JAX's default float:
    float32 unless you call ``jax.config.update("jax_enable_x64", True)`` before creating
    arrays; BFGS refinement is most accurate with x64 on.
    """
    method_cls = _check_method(method)
    dtype = jnp.result_type(float)
    observed = _check_observed(observed)
    n = observed.shape[0]
    condition, condition_shape = _check_condition(condition, n)
    lower, upper = _check_bounds(bounds)
    x0 = _check_x0(x0, lower, upper)
    _check_forward(forward, x0, observed, condition, condition_shape, dtype)
    _check_parameters_used(forward, x0, lower, upper, condition, condition_shape, dtype)

    bounded = lower is not None
    if not bounded:
        lower, upper = np.full(x0.shape, -np.inf), np.full(x0.shape, np.inf)
    problem = FunctionProblem(
        function=forward,
        x0=jnp.asarray(x0, dtype),
        lower=jnp.asarray(lower, dtype),
        upper=jnp.asarray(upper, dtype),
        bounded=bounded,
        condition_shape=condition_shape,
    )
    problems = ProblemSet(
        # No ground truth exists here; NaN makes any accidental use of it visible.
        solution=jnp.full((n, x0.shape[0]), jnp.nan, dtype),
        condition=jnp.asarray(condition, dtype),
        observed=jnp.asarray(observed, dtype),
    )
    settings = _bfgs_settings(bfgs, dtype)
    options = _method_options(method, method_cls, observed.shape[1:], steps, learning_rate, network)
    solver = make_method(method, options, settings)
    key = jax.random.PRNGKey(0) if key is None else key

    start = time.perf_counter()
    unrefined = solver.solve(problem, problems, None, key)
    refined = (
        refine_estimate(problem, problems, unrefined, settings)
        if refine and solver.refine
        else None
    )
    wall_time = time.perf_counter() - start
    # Where each stage started: x0 for BFGS; for a network, its estimate, which is also where
    # the refinement starts (a network with zero gradients stays at its estimate too).
    starts = unrefined.solution
    if method == "bfgs":
        starts = np.broadcast_to(np.asarray(problem.x0), starts.shape)
    flags = gradient_flags(problem, problems, starts)
    unrefined = _flagged(unrefined, flags)
    refined = None if refined is None else _flagged(refined, flags)
    final = refined if refined is not None else unrefined

    baseline = None
    if compare_bfgs:
        baseline = (
            unrefined
            if method == "bfgs"
            else make_method("bfgs", {}, settings).solve(problem, problems, None, key)
        )
    return MinimizeResult(
        x=final.solution,
        fun=final.loss,
        status=_status_names(final),
        nit=final.iterations,
        x_unrefined=unrefined.solution,
        fun_unrefined=unrefined.loss,
        status_unrefined=_status_names(unrefined),
        history=unrefined.curve,
        refine_history=refined.curve if refined is not None else np.zeros(0),
        wall_time=wall_time,
        method=method,
        in_bounds=np.all((final.solution >= lower) & (final.solution <= upper), axis=1),
        bfgs_x=None if baseline is None else baseline.solution,
        bfgs_fun=None if baseline is None else baseline.loss,
        bfgs_wall_time=None if baseline is None else baseline.wall_time,
    )


def default_network(observation_shape: tuple[int, ...]) -> dict[str, Any]:
    """The network ``minimize`` uses when none is given (see its ``network`` argument)."""
    if len(observation_shape) == 1 and observation_shape[0] >= CONV_MIN_LENGTH:
        return dict(CONV_NETWORK)
    if len(observation_shape) == 2:
        return dict(CONV_NETWORK)
    return dict(MLP_NETWORK)


def _flagged(estimate: Estimate, flags: np.ndarray) -> Estimate:
    return dataclasses.replace(estimate, status=np.where(flags >= 0, flags, estimate.status))


def _status_names(estimate: Estimate) -> np.ndarray:
    return np.array([STATUS[int(s)] for s in estimate.status])


def _check_method(method: str) -> type:
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


def _check_observed(observed: Any) -> np.ndarray:
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


def _check_condition(condition: Any, n: int) -> tuple[np.ndarray, tuple[int, ...] | None]:
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


def _check_bounds(bounds: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
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


def _check_x0(x0: Any, lower: np.ndarray | None, upper: np.ndarray | None) -> np.ndarray:
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


def _check_forward(
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
        stacklevel=4,
    )


def _check_parameters_used(
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


def _bfgs_settings(bfgs: BFGSSettings | dict[str, Any] | None, dtype: Any) -> BFGSSettings:
    if isinstance(bfgs, BFGSSettings):
        return bfgs
    if bfgs is not None:
        return BFGSSettings(**bfgs)
    return BFGSSettings() if jnp.dtype(dtype) == jnp.float64 else FLOAT32_BFGS


def _method_options(
    method: str,
    method_cls: type,
    observation_shape: tuple[int, ...],
    steps: int | None,
    learning_rate: float | None,
    network: dict[str, Any] | None,
) -> dict[str, Any]:
    if "network" not in method_cls.__dataclass_fields__:
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
        return {}
    if network is not None:
        network = dict(network)
    elif method_cls.network_input == "observation":
        network = default_network(observation_shape)
    else:
        network = {}  # the method picks its network by the unknown's shape
    return {
        "network": network,
        "training": {
            "steps": DEFAULT_STEPS if steps is None else steps,
            "learning_rate": DEFAULT_LEARNING_RATE if learning_rate is None else learning_rate,
            "log_every": 0,
        },
    }
