"""``lio.minimize``: solve many instances of YOUR inverse problem jointly, scipy-style.

After ``validate`` has checked the arguments, the user's forward function is wrapped in a
``FunctionProblem`` (an ordinary ``Problem``), and then solved by exactly the method classes and
the ``refine`` step the Snakemake workflow runs; nothing here trains a network or runs BFGS
itself. The stages' statuses are flagged where their start had a zero or non-finite gradient,
and everything is assembled into a ``MinimizeResult``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PRNGKeyArray

from lio.api.options import bfgs_settings, method_options
from lio.api.problem import FunctionProblem
from lio.api.result import MinimizeResult
from lio.api.validate import (
    check_bounds,
    check_condition,
    check_forward,
    check_method,
    check_network_arguments,
    check_observed,
    check_parameters_used,
    check_x0,
)
from lio.methods import STATUS, BFGSSettings, Estimate, make_method
from lio.methods import refine as refine_estimate
from lio.methods.bfgs_method import gradient_flags
from lio.problems.base import ProblemSet


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
    method_cls = check_method(method)
    dtype = jnp.result_type(float)
    observed = check_observed(observed)
    n = observed.shape[0]
    condition, condition_shape = check_condition(condition, n)
    lower, upper = check_bounds(bounds)
    x0 = check_x0(x0, lower, upper)
    # check_forward's warning names minimize's caller (stacklevel): keep calling it from here.
    check_forward(forward, x0, observed, condition, condition_shape, dtype)
    check_parameters_used(forward, x0, lower, upper, condition, condition_shape, dtype)

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
    settings = bfgs_settings(bfgs, dtype)
    check_network_arguments(method, method_cls, steps, learning_rate, network)
    options = method_options(method_cls, observed.shape[1:], steps, learning_rate, network)
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


def _flagged(estimate: Estimate, flags: np.ndarray) -> Estimate:
    return dataclasses.replace(estimate, status=np.where(flags >= 0, flags, estimate.status))


def _status_names(estimate: Estimate) -> np.ndarray:
    return np.array([STATUS[int(s)] for s in estimate.status])
