"""Batched BFGS (optimistix) with a per-iteration loss history and a per-example status.

Every problem is solved on its own, but all n run in one jitted, vmapped ``lax.while_loop``
driving ``optimistix.BFGS`` (or ``optimistix.LBFGS``, ``BFGSSettings.solver``) step by step,
so the loss of every accepted iterate is recorded (optimistix's ``minimise`` keeps no history).

Driving the solver by hand (here and in lio.methods.projected) reads optimistix's internals
(the state's ``f_info``, ``num_accepted_steps``, ``terminate``, ``result`` and ``y_eval``;
``FunctionInfo``'s kinds; the quasi-Newton classes' fields), which may change in any minor
release: pyproject.toml accepts only the minor they were read from, and
tests/test_optimistix.py checks them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from flax import struct
from jaxtyping import Array, Float, Int

from lio.methods.base import STATUS
from lio.methods.projected import ProjectedBFGS, ProjectedLBFGS, ProjectedNewtonDescent
from lio.problems.base import Problem, ProblemSet

# Indices into STATUS, as stored in every results file (flag_values / flag_meanings).
CONVERGED, MAX_STEPS, DIVERGED, FAILED, COMPLETED, ZERO_GRADIENT, NONFINITE_GRADIENT = range(len(STATUS))
PARAMETERIZATIONS = ("raw", "tanh", "projected")
SOLVERS = ("bfgs", "lbfgs")


BATCH_PLATFORMS = ("cpu", "gpu")


def batch_size_here(batch_size: int | dict[str, int]) -> int:
    """``bfgs.batch_size`` on the platform JAX runs on: the number itself, or a mapping's
    entry for ``jax.default_backend()`` (cpu / gpu; a platform it does not name: 0, all at
    once); ValueError naming the key for anything else."""
    if isinstance(batch_size, dict):
        unknown = sorted(set(batch_size) - set(BATCH_PLATFORMS))
        if unknown:
            raise ValueError(
                f"bfgs.batch_size names platform(s) {unknown}; expected keys among "
                f"{list(BATCH_PLATFORMS)}, e.g. {{cpu: 1, gpu: 0}}."
            )
        for value in batch_size.values():
            batch_size_here(value)
        return int(batch_size.get(jax.default_backend(), 0))
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 0:
        raise ValueError(
            f"bfgs.batch_size is {batch_size!r}; expected an integer >= 0 (0: every example in "
            "one vmapped loop) or a mapping by platform such as {cpu: 1, gpu: 0}."
        )
    return batch_size


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
            A mapping by platform, ``{cpu: 1, gpu: 0}``, picks the entry of the platform JAX
            runs on when the settings are made (a platform it does not name: 0).
        parameterization: the variables BFGS moves on the true forward model (baseline and
            refinement). ``raw``: the parameters themselves. ``tanh``: unbounded ``z`` with
            ``xi = Problem.from_network(z)``, the scaled tanh onto the parameter box that the
            networks use (paper §5: "bounded parameters [run] through a scaled tanh"); a first
            BFGS step in ``z`` then moves the estimate far, as the paper's §4.1 describes.
            ``projected``: the parameters themselves, kept in the problem's box
            (``Problem.bounds``) by a projected quasi-Newton method (``ProjectedBFGS`` /
            ``ProjectedLBFGS``): the start is clipped into the box, and every trial point is the
            projection of the quasi-Newton step. Unlike tanh it reaches the box's faces, where
            an image's background pixels sit (value 0). The neural adjoint's search on its
            surrogate always runs on the raw parameters: its boundary loss (Ren et al. 2020)
            is what keeps it in the box.
        solver: ``bfgs`` (paper: BFGS; ``optimistix.BFGS``, a dense d x d inverse Hessian per
            example) or ``lbfgs`` (``optimistix.LBFGS``: the last ``history_length`` step and
            gradient differences instead, 2 * history_length * d values per example), for
            image-sized unknowns where the dense n * d^2 matrices do not fit (64 problems of
            d = 4096 need 8.6 GB). Both use the same backtracking Armijo line search and the
            same Cauchy stopping rule. That search has no Wolfe curvature condition, so in a
            curved non-convex valley L-BFGS can skip its updates (s.y < 0) and crawl: from
            Rosenbrock's (-1.2, 1) it takes 672 iterations where scipy's L-BFGS-B takes 38
            (tests/test_lbfgs.py); on convex objectives (s.y > 0) the counts agree.
        history_length: L-BFGS memory, the number of (step, gradient change) pairs kept
            (optimistix's default, 10); ignored by ``bfgs``.
    """

    max_iterations: int = struct.field(pytree_node=False, default=1000)
    rtol: float = struct.field(pytree_node=False, default=1e-10)
    atol: float = struct.field(pytree_node=False, default=1e-12)
    max_evaluations: int = struct.field(pytree_node=False, default=10000)
    batch_size: int = struct.field(pytree_node=False, default=0)
    parameterization: str = struct.field(pytree_node=False, default="raw")
    solver: str = struct.field(pytree_node=False, default="bfgs")
    history_length: int = struct.field(pytree_node=False, default=10)

    def __post_init__(self):
        # A static field must be hashable (jit compares it): a per-platform mapping becomes
        # the entry of the platform this process runs on.
        object.__setattr__(self, "batch_size", batch_size_here(self.batch_size))
        if self.parameterization not in PARAMETERIZATIONS:
            raise ValueError(
                f"bfgs.parameterization is {self.parameterization!r}; expected one of "
                f"{PARAMETERIZATIONS} (raw: the parameters themselves, tanh: through the "
                "problem's scaled tanh onto its box, projected: the parameters kept in the "
                "box by projection)."
            )
        if self.solver not in SOLVERS:
            raise ValueError(
                f"bfgs.solver is {self.solver!r}; expected one of {SOLVERS} (bfgs: dense "
                "BFGS, the paper's; lbfgs: limited-memory BFGS for many unknowns, e.g. images)."
            )
        if (
            isinstance(self.history_length, bool)
            or not isinstance(self.history_length, int)
            or self.history_length < 1
        ):
            raise ValueError(
                f"bfgs.history_length is {self.history_length!r}; expected an integer >= 1 "
                "(the number of past steps L-BFGS keeps; optimistix's default is 10)."
            )

    def make_solver(self, bounds: tuple[Array, Array] | None = None) -> optx.AbstractMinimiser:
        """The optimistix minimiser these settings name (its stopping rule, not the budgets);
        with ``bounds`` ``(lower, upper)``, its projected variant that stays in that box."""
        if bounds is not None:
            descent = ProjectedNewtonDescent(*bounds)
            if self.solver == "lbfgs":
                return ProjectedLBFGS(self.rtol, self.atol, descent, self.history_length)
            return ProjectedBFGS(self.rtol, self.atol, descent)
        if self.solver == "lbfgs":
            return optx.LBFGS(
                rtol=self.rtol, atol=self.atol, history_length=self.history_length
            )
        return optx.BFGS(rtol=self.rtol, atol=self.atol)


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
    target: Array | None = None,
    bounds: tuple[Array, Array] | None = None,
):
    # BFGS and LBFGS (and their projected variants) share optimistix's quasi-Newton state
    # (f_info.f, num_accepted_steps, terminate, result): only the inverse-Hessian part differs.
    solver = settings.make_solver(bounds)
    if bounds is not None:
        y0 = jnp.clip(y0, *bounds)
    fn = lambda y, a: (objective(y, a), None)  # noqa: E731  optimistix wants (value, aux)
    f_struct = jax.ShapeDtypeStruct((), y0.dtype)
    tags = frozenset()
    if settings.solver == "lbfgs" and jnp.dtype(y0.dtype) != jnp.zeros(()).dtype:
        raise ValueError(
            f"bfgs.solver 'lbfgs' got {y0.dtype} unknowns while JAX's default float is "
            f"{jnp.zeros(()).dtype}: optimistix's LBFGS (as of 0.1.0) builds its history in "
            "JAX's default float and fails on the mismatch. Run in float64 with x64 on (as the "
            "workflow does), switch x64 off for float32, or use solver 'bfgs'."
        )
    state = solver.init(fn, y0, args, {}, f_struct, None, tags)
    # LBFGS's state holds a jaxpr (its inverse Hessian is a closure-converted function), which
    # cannot be a loop carry: carry the arrays, rejoin the static rest in every step, as
    # optimistix's own loop does. BFGS's state is all arrays, so nothing changes for it.
    dynamic, static = eqx.partition(state, eqx.is_array)
    history = jnp.full((settings.max_iterations + 1,), jnp.nan, y0.dtype)

    def reached(state):
        # f_info.f is a placeholder 0 until the first step has evaluated y0 (accepted 1).
        return (state.num_accepted_steps > 0) & (state.f_info.f <= target)

    def finished(state, evaluations):
        accepted = state.num_accepted_steps
        diverged = ~jnp.isfinite(state.f_info.f) & (accepted > 0)
        stop = (
            state.terminate
            | (state.result != optx.RESULTS.successful)
            | diverged
            | (accepted > settings.max_iterations)
            | (evaluations >= settings.max_evaluations)
        )
        return stop if target is None else stop | reached(state)

    def cond(carry):
        _, dynamic, _, evaluations = carry
        return ~finished(eqx.combine(dynamic, static), evaluations)

    def body(carry):
        y, dynamic, history, evaluations = carry
        y, state, _ = solver.step(fn, y, args, {}, eqx.combine(dynamic, static), tags)
        index = jnp.clip(state.num_accepted_steps - 1, 0, settings.max_iterations)
        # step returns the accepted iterate and f_info holds its loss: no second evaluation.
        value = state.f_info.f if monitor is None else monitor(y, args)
        history = history.at[index].set(value.astype(history.dtype))
        return y, eqx.filter(state, eqx.is_array), history, evaluations + 1

    y, dynamic, history, evaluations = jax.lax.while_loop(
        cond, body, (y0, dynamic, history, jnp.array(0))
    )
    state = eqx.combine(dynamic, static)
    last = jnp.clip(state.num_accepted_steps - 1, 0, settings.max_iterations)
    steps = jnp.arange(settings.max_iterations + 1)
    history = jnp.where(steps <= last, history, history[last])
    loss = state.f_info.f
    finite = jnp.isfinite(loss) & jnp.all(jnp.isfinite(y))
    converged = state.terminate if target is None else state.terminate | reached(state)
    status = jnp.select(
        [~finite, converged, state.result != optx.RESULTS.successful],
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
    target: Float[Array, " n"] | None = None,
    bounds: tuple[Float[Array, " d"], Float[Array, " d"]] | None = None,
) -> BFGSOutcome:
    """Minimise ``objective(y_i, args_i)`` for each i independently, all in one vmapped loop.

    Args:
        objective: scalar loss of ONE problem, ``(d,) , args_i -> ()``.
        y0: initial guesses, one row per problem.
        args: pytree whose leaves have a leading axis of size n (one slice per problem).
        settings: stopping rules.
        monitor: value recorded in the history at every accepted iterate; defaults to the
            objective (the neural adjoint records the TRUE loss while minimising a surrogate).
        target: optional per-example stopping target, ``(n,)``: example i also stops once
            an accepted loss is ``<= target[i]`` (the discrepancy principle for ill-posed
            problems: stop when ``||F(x) - y||^2 <= tau * m * sigma^2`` rather than fit the
            noise). Its status is then ``converged``. None: the settings' rules alone.
        bounds: optional ``(lower, upper)``, each ``(d,)`` and shared by all examples: the
            projected solver (``ProjectedBFGS`` / ``ProjectedLBFGS``) from the starts clipped
            into that box, every iterate inside it. None: the unconstrained solver.

    Converged means optimistix's Cauchy criterion held (or the target was reached);
    ``max_steps`` that the iteration or evaluation budget ran out; ``diverged`` that the loss
    or iterate became non-finite (BFGS fails this way when the objective overflows);
    ``failed`` any other optimistix result.
    """
    if bounds is not None:
        lower, upper = (jnp.asarray(bound, y0.dtype) for bound in bounds)
        if lower.shape != y0.shape[1:] or upper.shape != y0.shape[1:]:
            raise ValueError(
                f"minimize_batch: bounds have shapes {lower.shape} and {upper.shape}; expected "
                f"{y0.shape[1:]}, one (lower, upper) pair per unknown of a problem (y0 is "
                f"{y0.shape}). Pass Problem.bounds, or None for an unconstrained run."
            )
        bounds = (lower, upper)
    if target is None:
        solve = lambda y, a: _minimize_one(objective, y, a, settings, monitor, None, bounds)  # noqa: E731
        inputs = (y0, args)
    else:
        target = jnp.broadcast_to(jnp.asarray(target, y0.dtype), y0.shape[:1])
        solve = lambda y, a, t: _minimize_one(objective, y, a, settings, monitor, t, bounds)  # noqa: E731
        inputs = (y0, args, target)
    if settings.batch_size == 1:
        # A plain loop over the examples, not ``lax.map``'s vmap over batches of one: unbatched,
        # the line search's conditionals stay real branches (a batched predicate turns a cond
        # into a select that runs both sides, e.g. the gradient of every rejected trial step).
        # The fluid, n = 4 on one CPU thread: 3.3 s -> 2.3 s, same iterates to round-off.
        return jax.lax.map(lambda ya: solve(*ya), inputs)
    if 0 < settings.batch_size < y0.shape[0]:
        return jax.lax.map(lambda ya: solve(*ya), inputs, batch_size=settings.batch_size)
    return jax.vmap(solve)(*inputs)


@jax.jit
def _solve_problems(
    problem: Problem,
    problems: ProblemSet,
    y0: Array,
    settings: BFGSSettings,
    target: Array | None = None,
):
    if settings.parameterization in ("raw", "projected"):
        objective = lambda y, p: problem.loss(y, p.condition, p.observed)  # noqa: E731
        bounds = problem.bounds if settings.parameterization == "projected" else None
        return minimize_batch(objective, y0, problems, settings, target=target, bounds=bounds)
    objective = lambda z, p: problem.loss(  # noqa: E731
        problem.from_network(z), p.condition, p.observed
    )
    outcome = minimize_batch(objective, problem.to_network(y0), problems, settings, target=target)
    return outcome.replace(solution=problem.from_network(outcome.solution))


def bfgs_on_problems(
    problem: Problem,
    problems: ProblemSet,
    y0: Array,
    settings: BFGSSettings,
    target: Array | None = None,
) -> tuple[BFGSOutcome, float]:
    """BFGS on the true forward model from ``y0``; returns the outcome and its wall time (s).

    ``target``: optional ``(n,)`` losses at which each example stops (``minimize_batch``),
    e.g. the discrepancy principle's ``tau * m * sigma^2``; the loss is ``problem.loss``
    in every parameterization. One compiled function per (problem constants, n, dtype,
    with or without a target): seeds with equal shapes reuse it.
    """
    problem.check_solution_shape(y0, problems.n)
    if target is not None:
        target = jnp.broadcast_to(jnp.asarray(target, y0.dtype), (problems.n,))
    start = time.perf_counter()
    outcome = jax.block_until_ready(_solve_problems(problem, problems, y0, settings, target))
    return outcome, time.perf_counter() - start
