"""Helpers shared by the network methods: a solver network applied to a problem set."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from lio import nets
from lio.methods.bfgs import COMPLETED, DIVERGED
from lio.problems.base import Problem, ProblemSet


@dataclasses.dataclass(frozen=True)
class SolverNetwork:
    """N(y, x | theta) -> xi: standardised inputs, a standard network, scaled tanh output."""

    module: nets.nn.Module
    observed_scale: nets.Standardizer
    condition_scale: nets.Standardizer
    lower: jax.Array
    upper: jax.Array

    @classmethod
    def create(cls, problem: Problem, spec: dict, fit_on: ProblemSet) -> "SolverNetwork":
        lower, upper = problem.bounds
        return cls(
            module=nets.build_network(spec, problem.num_parameters),
            observed_scale=nets.Standardizer.fit(fit_on.observed, per_feature=False),
            condition_scale=nets.Standardizer.fit(fit_on.condition, per_feature=True),
            lower=lower.astype(jnp.float32),
            upper=upper.astype(jnp.float32),
        )

    def inputs(self, problems: ProblemSet) -> tuple[jax.Array, jax.Array]:
        return (
            self.observed_scale(problems.observed).astype(jnp.float32),
            self.condition_scale(problems.condition).astype(jnp.float32),
        )

    def init(self, key: jax.Array, problems: ProblemSet) -> tuple[dict, dict]:
        variables = self.module.init(key, *self.inputs(problems), train=False)
        return variables["params"], variables.get("batch_stats", {})

    def apply(self, params, batch_stats, problems: ProblemSet, train: bool):
        """Solutions for ``problems`` and the updated batch statistics."""
        variables = {"params": params, "batch_stats": batch_stats}
        if train:
            z, updates = self.module.apply(
                variables, *self.inputs(problems), train=True, mutable=["batch_stats"]
            )
            batch_stats = updates.get("batch_stats", batch_stats)
        else:
            z = self.module.apply(variables, *self.inputs(problems), train=False)
        return nets.bounded(z, self.lower, self.upper), batch_stats


def training_status(solution: np.ndarray, loss: np.ndarray) -> np.ndarray:
    """``completed`` where the network's estimate and its loss are finite, else ``diverged``."""
    finite = np.all(np.isfinite(solution), axis=-1) & np.isfinite(loss)
    return np.where(finite, COMPLETED, DIVERGED)
