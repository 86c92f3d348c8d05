"""Random-start controls for Table 2: BFGS from uniform random starts in the prior's box.

"Better than BFGS" compares a method with BFGS from one start, the prior mean. Where BFGS stays
near that start (the wave packet: a median move of 0.008 box widths), any other start may beat
it. These controls tell a reader how much of "better" another start gives by itself:

- ``random_start``: BFGS from one start drawn uniformly in the box per problem;
- ``best_of_random_starts``: BFGS from ``starts`` such draws, keeping the lowest final loss; the
  config chooses ``starts`` so that the control costs about what a learned method's solve does.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import PRNGKeyArray

from lio.methods.base import Estimate, Method
from lio.methods.bfgs import BFGSSettings, bfgs_on_problems
from lio.methods.bfgs_method import estimate_from_bfgs, flag_stuck_starts
from lio.problems.base import Problem, ProblemSet


def uniform_starts(problem: Problem, key: PRNGKeyArray, starts: int, n: int, dtype) -> jax.Array:
    """``(starts, n, d)`` points drawn uniformly in the problem's parameter box."""
    lower, upper = (jnp.asarray(b, dtype) for b in problem.bounds)
    draws = jax.random.uniform(key, (starts, n, *lower.shape), dtype)
    return lower + draws * (upper - lower)


@dataclasses.dataclass(frozen=True)
class RandomStart(Method):
    """BFGS (the baseline's settings) from ``starts`` uniform random points in the prior's box
    per problem; each problem keeps the start whose run ends at the lowest loss.

    All ``starts x n`` runs are one batch of independent examples. Converged and failed as BFGS
    is, per run; the kept run's status, iterations and curve are reported, and ``initial`` is
    its start. The draws come from the solve's key, so a seed fixes them.
    """

    name: ClassVar[str] = "random_start"
    learns: ClassVar[bool] = False
    refine: ClassVar[bool] = False
    starts: int = 1
    settings: BFGSSettings = BFGSSettings()

    def __post_init__(self) -> None:
        if not isinstance(self.starts, int) or isinstance(self.starts, bool) or self.starts < 1:
            raise ValueError(
                f"method {self.name!r}: starts must be a positive integer, got {self.starts!r}; "
                "set starts: 1 (one random start) or the number of starts to keep the best of."
            )

    def solve(self, problem: Problem, problems: ProblemSet, training_set, key) -> Estimate:
        n, dtype = problems.n, problems.observed.dtype
        points = uniform_starts(problem, key, self.starts, n, dtype)
        tiled = jax.tree.map(lambda leaf: jnp.concatenate([leaf] * self.starts), problems)
        flat = points.reshape((self.starts * n, *points.shape[2:]))
        outcome, wall_time = bfgs_on_problems(problem, tiled, flat, self.settings)
        losses = np.asarray(outcome.loss).reshape(self.starts, n)
        # A non-finite loss never wins; a problem whose every run failed keeps its first.
        best = np.argmin(np.where(np.isfinite(losses), losses, np.inf), axis=0)
        kept = best * n + np.arange(n)
        chosen = jax.tree.map(lambda leaf: leaf[kept], outcome)
        estimate = estimate_from_bfgs(chosen, wall_time, initial=flat[kept])
        estimate = dataclasses.replace(estimate, extra={"starts": self.starts})
        return flag_stuck_starts(problem, problems, np.asarray(flat[kept]), estimate)


@dataclasses.dataclass(frozen=True)
class BestOfRandomStarts(RandomStart):
    """``RandomStart`` under its own name, for the best of several starts (``starts`` > 1) beside
    the one-start control in the same table."""

    name: ClassVar[str] = "best_of_random_starts"
