"""Batched BFGS (optimistix) with a per-iteration loss history and a per-example status.

Every problem is solved on its own, but all n run in one jitted, vmapped ``lax.while_loop``
driving ``optimistix.BFGS`` step by step, so the loss of every accepted iterate is recorded
(optimistix's ``minimise`` keeps no history).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optimistix as optx
from flax import struct
from jaxtyping import Array, Float, Int

from lio.methods.base import STATUS
from lio.problems.base import Problem, ProblemSet

# Indices into STATUS, as stored in every results file (flag_values / flag_meanings).
CONVERGED, MAX_STEPS, DIVERGED, FAILED, COMPLETED, ZERO_GRADIENT, NONFINITE_GRADIENT = range(len(STATUS))
PARAMETERIZATIONS = ("raw", "tanh")


class BFGSSettings(struct.PyTreeNode):
    """Stopping rules shared by the BFGS baseline, refinement and the neural adjoint.

    Attributes:
        max_iterations: accepted BFGS iterations before giving up (paper: 1000).
        rtol, atol: optimistix's Cauchy criterion: stop when both the step and the change of
            the loss fall below ``atol + rtol * |value|``.
        max_evaluations: loss evaluations (incl. rejected line-search trials) before giving up.
        batch_size: examples run side by side in one vmapped loop; the batches run one after
            another (``jax.lax.map``) inside the same compiled program. A vmapped loop runs until
            its slowest example stops, so smaller batches waste fewer steps on finished
            examples (compute-bound simulators on CPU), larger ones fill a GPU. 0: all at once.
        parameterization: the variables BFGS moves on the true forward model (baseline and
            refinement). ``raw``: the parameters themselves. ``tanh``: unbounded ``z`` with
            ``xi = Problem.from_network(z)``, the scaled tanh onto the parameter box that the
            networks use (paper §5: "bounded parameters [run] through a scaled tanh"); a first
            BFGS step in ``z`` then moves the estimate far, as the paper's §4.1 describes.
            The neural adjoint's search on its surrogate always runs on the raw parameters:
            its boundary loss (Ren et al. 2020) is what keeps it in the box.
    """

    max_iterations: int = struct.field(pytree_node=False, default=1000)
    rtol: float = struct.field(pytree_node=False, default=1e-10)
    atol: float = struct.field(pytree_node=False, default=1e-12)
    max_evaluations: int = struct.field(pytree_node=False, default=10000)
    batch_size: int = struct.field(pytree_node=False, default=0)
    parameterization: str = struct.field(pytree_node=False, default="raw")

    def __post_init__(self):
        if self.parameterization not in PARAMETERIZATIONS:
            raise ValueError(
                f"bfgs.parameterization is {self.parameterization!r}; expected one of "
                f"{PARAMETERIZATIONS} (raw: the parameters themselves, tanh: through the "
                "problem's scaled tanh onto its box)."
            )


class BFGSOutcome(struct.PyTreeNode):
    """Result of a batched BFGS run.

    Attributes:
        solution: final accepted iterate, ``(n, d)``.
        loss: objective at ``solution``, ``(n,)``.
        status: one of ``STATUS`` per example, ``(n,)``.
        iterations: accepted iterations taken, ``(n,)``.
        history: monitored value at iterate k (forward-filled after stopping),
            ``(n, max_iterations + 1)``.
    """

    solution: Float[Array, "n d"]
    loss: Float[Array, " n"]
    status: Int[Array, " n"]
    iterations: Int[Array, " n"]
    history: Float[Array, "n k"]


def _minimize_one(
    objective: Callable[[Array, Any], Array],
    y0: Array,
    args: Any,
    settings: BFGSSettings,
    monitor: Callable[[Array, Any], Array] | None,
):
    solver = optx.BFGS(rtol=settings.rtol, atol=settings.atol)
    fn = lambda y, a: (objective(y, a), None)  # noqa: E731  optimistix wants (value, aux)
    f_struct = jax.ShapeDtypeStruct((), y0.dtype)
    tags = frozenset()
    state = solver.init(fn, y0, args, {}, f_struct, None, tags)
    history = jnp.full((settings.max_iterations + 1,), jnp.nan, y0.dtype)

    def finished(state, evaluations):
        accepted = state.num_accepted_steps
        diverged = ~jnp.isfinite(state.f_info.f) & (accepted > 0)
        return (
            state.terminate
            | (state.result != optx.RESULTS.successful)
            | diverged
            | (accepted > settings.max_iterations)
            | (evaluations >= settings.max_evaluations)
        )

    def cond(carry):
        _, state, _, evaluations = carry
        return ~finished(state, evaluations)

    def body(carry):
        y, state, history, evaluations = carry
        y, state, _ = solver.step(fn, y, args, {}, state, tags)
        index = jnp.clip(state.num_accepted_steps - 1, 0, settings.max_iterations)
        # step returns the accepted iterate and f_info holds its loss: no second evaluation.
        value = state.f_info.f if monitor is None else monitor(y, args)
        history = history.at[index].set(value.astype(history.dtype))
        return y, state, history, evaluations + 1

    y, state, history, evaluations = jax.lax.while_loop(
        cond, body, (y0, state, history, jnp.array(0))
    )
    last = jnp.clip(state.num_accepted_steps - 1, 0, settings.max_iterations)
    steps = jnp.arange(settings.max_iterations + 1)
    history = jnp.where(steps <= last, history, history[last])
    loss = state.f_info.f
    finite = jnp.isfinite(loss) & jnp.all(jnp.isfinite(y))
    status = jnp.select(
        [~finite, state.terminate, state.result != optx.RESULTS.successful],
        [DIVERGED, CONVERGED, FAILED],
        MAX_STEPS,
    )
    return BFGSOutcome(
        solution=y, loss=loss, status=status, iterations=last, history=history
    )


def minimize_batch(
    objective: Callable[[Array, Any], Array],
    y0: Float[Array, "n d"],
    args: Any,
    settings: BFGSSettings,
    monitor: Callable[[Array, Any], Array] | None = None,
) -> BFGSOutcome:
    """Minimise ``objective(y_i, args_i)`` for each i independently, all in one vmapped loop.

    Args:
        objective: scalar loss of ONE problem, ``(d,) , args_i -> ()``.
        y0: initial guesses, one row per problem.
        args: pytree whose leaves have a leading axis of size n (one slice per problem).
        settings: stopping rules.
        monitor: value recorded in the history at every accepted iterate; defaults to the
            objective (the neural adjoint records the TRUE loss while minimising a surrogate).

    Converged means optimistix's Cauchy criterion held; ``max_steps`` that the iteration or
    evaluation budget ran out; ``diverged`` that the loss or iterate became non-finite (BFGS
    fails this way when the objective overflows); ``failed`` any other optimistix result.
    """
    solve = lambda y, a: _minimize_one(objective, y, a, settings, monitor)  # noqa: E731
    if 0 < settings.batch_size < y0.shape[0]:
        return jax.lax.map(lambda ya: solve(*ya), (y0, args), batch_size=settings.batch_size)
    return jax.vmap(solve)(y0, args)


@jax.jit
def _solve_problems(problem: Problem, problems: ProblemSet, y0: Array, settings: BFGSSettings):
    if settings.parameterization == "raw":
        objective = lambda y, p: problem.loss(y, p.condition, p.observed)  # noqa: E731
        return minimize_batch(objective, y0, problems, settings)
    objective = lambda z, p: problem.loss(  # noqa: E731
        problem.from_network(z), p.condition, p.observed
    )
    outcome = minimize_batch(objective, problem.to_network(y0), problems, settings)
    return outcome.replace(solution=problem.from_network(outcome.solution))


def bfgs_on_problems(
    problem: Problem, problems: ProblemSet, y0: Array, settings: BFGSSettings
) -> tuple[BFGSOutcome, float]:
    """BFGS on the true forward model from ``y0``; returns the outcome and its wall time (s).

    One compiled function per (problem constants, n, dtype): seeds with equal shapes reuse it.
    """
    problem.check_solution_shape(y0, problems.n)
    start = time.perf_counter()
    outcome = jax.block_until_ready(_solve_problems(problem, problems, y0, settings))
    return outcome, time.perf_counter() - start
