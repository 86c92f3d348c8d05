"""Supervised training (paper Eq. 3) on a labelled training set drawn from the prior."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import jax.numpy as jnp

from lio.methods.base import Estimate, Method
from lio.methods.networks import SolverNetwork, network_estimate
from lio.methods.training import TrainSettings, train, training_batches
from lio.problems.base import Problem, ProblemSet


@dataclasses.dataclass(frozen=True)
class Supervised(Method):
    """Train N(y_j, x_j) -> xi_j on a separate labelled set, then predict the n problems.

    Loss: sum_j ||(N(y_j, x_j) - xi_j) / (upper - lower)||^2 over the set (or over each Adam
    step's minibatch, ``training.batch_size``), i.e. Eq. 3 with each parameter
    scaled by its box so parameters of different units weigh alike (our choice). Predictions
    use batch-norm running averages (the problems are not the training batch). The curve is
    the problems' true L/n of the current predictions, before every
    ``training.monitor_every``-th step (NaN between). Fails where the network interpolates
    between modes of a multimodal inverse problem, or generalises poorly for small n.
    """

    name: ClassVar[str] = "supervised"
    needs_training_set: ClassVar[bool] = True
    network: dict[str, Any] = dataclasses.field(default_factory=dict)
    training: TrainSettings = TrainSettings()

    def solve(
        self, problem: Problem, problems: ProblemSet, training_set: ProblemSet, key
    ) -> Estimate:
        problems32 = problems.astype(jnp.float32)
        train32 = training_set.astype(jnp.float32)
        net = SolverNetwork.create(problem, self.network, train32)
        params, batch_stats = net.init(key, train32)
        initial = net.initial_solutions(params, batch_stats, problems32, False)
        n = problems.n

        def loss_fn(params, batch_stats, data):
            net, train32, _ = data
            predicted, batch_stats = net.apply(params, batch_stats, train32, train=True)
            scale = net.upper - net.lower
            supervised = jnp.sum(((predicted - train32.solution) / scale) ** 2)
            return supervised, (batch_stats, supervised)  # monitored: see ``monitor``

        def monitor(params, batch_stats, data):
            # The problems' true L/n of the current predictions: a simulation of all n, so
            # ``training.monitor_every`` may thin it out where the simulator is costly.
            net, _, problems32 = data
            estimate, _ = net.apply(params, batch_stats, problems32, train=False)
            return jnp.mean(net.problem.losses(estimate, problems32))

        trained = train(
            loss_fn, params, batch_stats, self.training, f"{self.name} n={n}",
            (net, train32, problems32), monitor=monitor,
            select=training_batches(self.training, key, at=1),
        )
        return network_estimate(
            problem, problems, net, trained, False, self.training.steps, initial
        )
