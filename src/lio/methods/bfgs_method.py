"""The classical baseline: per-problem BFGS from the prior mean on the true forward model."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax.numpy as jnp
import numpy as np

from lio.methods.base import Estimate, Method
from lio.methods.bfgs import BFGSSettings, bfgs_on_problems
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


@dataclasses.dataclass(frozen=True)
class BFGS(Method):
    """BFGS (optimistix) on each problem independently, started at the prior mean.

    Converged: optimistix's Cauchy criterion on step and loss change. Fails by stopping in
    the local minimum or flat region nearest its start; that is what the learned methods are
    compared against.
    """

    name: ClassVar[str] = "bfgs"
    refine: ClassVar[bool] = False
    settings: BFGSSettings = BFGSSettings()

    def solve(self, problem: Problem, problems: ProblemSet, training_set, key) -> Estimate:
        y0 = jnp.broadcast_to(problem.prior_mean, problems.solution.shape).astype(
            problems.observed.dtype
        )
        outcome, wall_time = bfgs_on_problems(problem, problems, y0, self.settings)
        return estimate_from_bfgs(outcome, wall_time, initial=y0)


def refine(
    problem: Problem, problems: ProblemSet, estimate: Estimate, settings: BFGSSettings
) -> Estimate:
    """BFGS on the true forward model from a learned estimate (paper §3, "Refinement")."""
    y0 = jnp.asarray(estimate.solution, problems.observed.dtype)
    outcome, wall_time = bfgs_on_problems(problem, problems, y0, settings)
    return estimate_from_bfgs(outcome, wall_time)
