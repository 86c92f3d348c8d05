"""The classical baseline: per-problem BFGS from the prior mean on the true forward model."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from lio.methods.base import Estimate, Method
from lio.methods.bfgs import NONFINITE_GRADIENT, ZERO_GRADIENT, BFGSSettings, bfgs_on_problems
from lio.problems.base import Problem, ProblemSet


def estimate_from_bfgs(outcome, wall_time: float, initial=None) -> Estimate:
    return Estimate(
        solution=np.asarray(outcome.solution),
        loss=np.asarray(outcome.loss),
        status=np.asarray(outcome.status),
        iterations=np.asarray(outcome.iterations),
        curve=np.asarray(jnp.mean(outcome.history, axis=0)),
        wall_time=wall_time,
        initial=None if initial is None else np.asarray(initial),
    )


def gradient_flags(problem: Problem, problems: ProblemSet, starts: np.ndarray) -> np.ndarray:
    """``(n,)`` ``NONFINITE_GRADIENT`` / ``ZERO_GRADIENT`` where the loss gradient at ``starts``
    is non-finite / exactly zero at a non-zero loss, else -1. A zero gradient at a zero loss is
    a true minimum (F fits y exactly) and is not flagged."""
    values, gradients = jax.jit(jax.vmap(jax.value_and_grad(problem.loss)))(
        jnp.asarray(starts, problems.observed.dtype), problems.condition, problems.observed
    )
    values, gradients = np.asarray(values), np.asarray(gradients)
    flags = np.full(values.shape, -1)
    flags[np.all(gradients == 0, axis=1) & (values != 0)] = ZERO_GRADIENT
    flags[~np.all(np.isfinite(gradients), axis=1)] = NONFINITE_GRADIENT
    return flags


def flag_stuck_starts(
    problem: Problem, problems: ProblemSet, starts: np.ndarray, estimate: Estimate
) -> Estimate:
    """``estimate`` with ``zero_gradient`` / ``nonfinite_gradient`` as the status of the examples
    whose BFGS run could not leave its start: the gradient there was exactly zero at a non-zero
    loss (a billiards shot that misses the second ball) or non-finite, where BFGS's own status
    would say ``converged``. Only examples that ended exactly at their start are checked, so a
    run in which every example moved compiles no extra gradient."""
    starts = np.broadcast_to(np.asarray(starts, float), estimate.solution.shape)
    # rtol: a start mapped through bfgs.parameterization tanh and back may differ in the last bits.
    unmoved = np.all(np.isclose(np.asarray(estimate.solution, float), starts, rtol=1e-9, atol=0), axis=-1)
    if not unmoved.any():
        return estimate
    flags = np.where(unmoved, gradient_flags(problem, problems, starts), -1)
    return dataclasses.replace(estimate, status=np.where(flags >= 0, flags, estimate.status))


@dataclasses.dataclass(frozen=True)
class BFGS(Method):
    """BFGS (optimistix) on each problem independently, started at the prior mean.

    Converged: optimistix's Cauchy criterion on step and loss change; ``zero_gradient`` where
    the start's gradient is exactly zero (``flag_stuck_starts``). Fails by stopping in the local
    minimum or flat region nearest its start; that is what the learned methods are compared
    against.
    """

    name: ClassVar[str] = "bfgs"
    learns: ClassVar[bool] = False
    refine: ClassVar[bool] = False
    batches_seeds: ClassVar[bool] = True
    settings: BFGSSettings = BFGSSettings()

    def solve(self, problem: Problem, problems: ProblemSet, training_set, key) -> Estimate:
        return self.solve_seeds(problem, [problems], [training_set], [key])[0]

    def solve_seeds(
        self, problem: Problem, problem_sets: Sequence[ProblemSet], training_sets, keys
    ) -> list[Estimate]:
        """Every seed's problems as one batch of independent examples (one compiled loop),
        split back per seed; each seed's wall time is an equal share of the batch's."""
        starts = [
            jnp.broadcast_to(problem.prior_mean, problems.solution.shape).astype(
                problems.observed.dtype
            )
            for problems in problem_sets
        ]
        return _bfgs_per_seed(problem, problem_sets, starts, self.settings, initial=True)


def _bfgs_per_seed(
    problem: Problem,
    problem_sets: Sequence[ProblemSet],
    starts: Sequence[jax.Array],
    settings: BFGSSettings,
    initial: bool,
) -> list[Estimate]:
    """BFGS from ``starts[i]`` on ``problem_sets[i]`` for every i, as one batch (one set: the
    set itself, as always), one estimate per set with stuck starts flagged."""
    if len(problem_sets) == 1:
        joined, y0 = problem_sets[0], starts[0]
    else:
        joined = jax.tree.map(lambda *leaves: jnp.concatenate(leaves), *problem_sets)
        y0 = jnp.concatenate(starts)
    outcome, wall_time = bfgs_on_problems(problem, joined, y0, settings)
    bounds = np.cumsum([0] + [problems.n for problems in problem_sets])
    estimates = []
    for problems, start, begin, end in zip(problem_sets, starts, bounds[:-1], bounds[1:], strict=True):
        part = outcome if len(problem_sets) == 1 else jax.tree.map(lambda a: a[begin:end], outcome)
        estimate = estimate_from_bfgs(
            part, wall_time / len(problem_sets), initial=start if initial else None
        )
        estimates.append(flag_stuck_starts(problem, problems, np.asarray(start), estimate))
    return estimates


def refine(
    problem: Problem, problems: ProblemSet, estimate: Estimate, settings: BFGSSettings
) -> Estimate:
    """BFGS on the true forward model from a learned estimate (paper §3, "Refinement"); an
    example whose estimate has an exactly zero (or non-finite) gradient is ``zero_gradient``
    (``nonfinite_gradient``), not ``converged``."""
    return refine_seeds(problem, [problems], [estimate], settings)[0]


def refine_seeds(
    problem: Problem,
    problem_sets: Sequence[ProblemSet],
    estimates: Sequence[Estimate],
    settings: BFGSSettings,
) -> list[Estimate]:
    """``refine`` of several seeds' estimates as one batch of independent examples, split back
    per seed (equal to one ``refine`` per seed up to float round-off)."""
    starts = [
        jnp.asarray(estimate.solution, problems.observed.dtype)
        for problems, estimate in zip(problem_sets, estimates, strict=True)
    ]
    return _bfgs_per_seed(problem, problem_sets, starts, settings, initial=False)
