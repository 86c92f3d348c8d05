"""Reparameterised joint optimisation (paper Eq. 2): the network's outputs are the solutions."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import jax.numpy as jnp

from lio.methods.base import Estimate, Method
from lio.methods.networks import SolverNetwork, network_estimate
from lio.methods.training import TrainSettings, train
from lio.problems.base import Problem, ProblemSet


@dataclasses.dataclass(frozen=True)
class Reparameterized(Method):
    """Train N(y_i, x_i | theta) to minimise sum_i L(F(N(y_i, x_i) | x_i), y_i) over theta.

    Full-batch Adam on the n problems themselves (no training set, no labels, no
    mini-batches); batch norm uses the statistics of the full batch, in training as in the
    final evaluation, so the solutions are exactly what was optimised. Finishes after a fixed
    number of steps ("completed"); fails by settling in local minima like BFGS, or by a
    non-finite loss ("diverged") when the learning rate is too large.
    """

    name: ClassVar[str] = "reparameterized"
    network: dict[str, Any] = dataclasses.field(default_factory=dict)
    training: TrainSettings = TrainSettings()

    def solve(self, problem: Problem, problems: ProblemSet, training_set, key) -> Estimate:
        problems32 = problems.astype(jnp.float32)
        net = SolverNetwork.create(problem, self.network, problems32)
        params, batch_stats = net.init(key, problems32)
        initial = net.initial_solutions(params, batch_stats, problems32, True)
        n = problems.n

        def loss_fn(params, batch_stats, data):
            net, problems32 = data
            solution, batch_stats = net.apply(params, batch_stats, problems32, train=True)
            total = jnp.sum(net.problem.losses(solution, problems32))
            return total, (batch_stats, total / n)

        trained = train(
            loss_fn, params, batch_stats, self.training, f"{self.name} n={n}", (net, problems32)
        )
        return network_estimate(
            problem, problems, net, trained, True, self.training.steps, initial
        )
