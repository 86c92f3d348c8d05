"""Helpers shared by the network methods: a solver network applied to a problem set."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from lio.core import nets
from lio.methods.base import Estimate
from lio.methods.bfgs import COMPLETED, DIVERGED
from lio.problems.base import Problem, ProblemSet


class SolverNetwork(struct.PyTreeNode):
    """N(y, x | theta) -> xi: standardised inputs, a standard network, and the problem's map
    from network outputs to solutions (``Problem.from_network``: scaled tanh onto the box).

    The network sees ``Problem.network_input`` of each observation (the observation itself, or
    an imaging problem's classical reconstruction). A pytree whose arrays (the input scalings
    fitted on the data, and the float32 problem with its operator arrays) are leaves and whose
    module is static, so jitted functions take it as an argument: their compiled code is then
    the same for every seed of a (problem, method, n) and comes from the compilation cache.
    """

    module: nets.nn.Module = struct.field(pytree_node=False)
    observed_scale: nets.Standardizer
    condition_scale: nets.Standardizer
    lower: jax.Array
    upper: jax.Array
    problem: Problem  # in float32: training's losses and the network's inputs use it

    @classmethod
    def create(cls, problem: Problem, spec: dict, fit_on: ProblemSet) -> "SolverNetwork":
        lower, upper = problem.bounds
        problem32 = problem.astype(jnp.float32)
        features = _network_inputs(problem32, fit_on.astype(jnp.float32))
        return cls(
            module=nets.build_network(
                spec, problem.num_parameters, problem.observation_channels, problem.solution_shape
            ),
            observed_scale=nets.Standardizer.fit(features, per_feature=False),
            condition_scale=nets.Standardizer.fit(fit_on.condition, per_feature=True),
            lower=lower.astype(jnp.float32),
            upper=upper.astype(jnp.float32),
            problem=problem32,
        )

    def to_solution(self, z: jax.Array) -> jax.Array:
        return self.problem.from_network(z)

    def inputs(self, problems: ProblemSet) -> tuple[jax.Array, jax.Array]:
        features = jax.vmap(self.problem.network_input)(problems.observed, problems.condition)
        return (
            self.observed_scale(features).astype(jnp.float32),
            self.condition_scale(problems.condition).astype(jnp.float32),
        )

    def init(self, key: jax.Array, problems: ProblemSet) -> tuple[dict, dict]:
        # Jitted: eager initialisation compiles every layer's ops one by one (seconds on CPU).
        init = jax.jit(lambda key, *inputs: self.module.init(key, *inputs, train=False))
        variables = init(key, *self.inputs(problems))
        return variables["params"], variables.get("batch_stats", {})

    def solutions(self, params, batch_stats, problems: ProblemSet, train: bool) -> jax.Array:
        """The final estimate, in one compiled call (eager application is slow on CPU)."""
        return _solutions(self, params, batch_stats, problems, train)

    def initial_solutions(self, params, batch_stats, problems: ProblemSet, train: bool) -> np.ndarray:
        """The solutions of the untrained network (``init``'s variables): where training starts."""
        return np.asarray(self.solutions(params, batch_stats, problems, train))

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
        return self.to_solution(z), batch_stats


@jax.jit
def _network_inputs(problem: Problem, problems: ProblemSet) -> jax.Array:
    return jax.vmap(problem.network_input)(problems.observed, problems.condition)


@jax.jit
def true_losses(problem: Problem, solution: jax.Array, problems: ProblemSet) -> jax.Array:
    """``problem.losses`` compiled with the problem as an argument (its operator arrays are
    leaves, not constants of the program)."""
    return problem.losses(solution, problems)


@functools.partial(jax.jit, static_argnames="train")
def _solutions(net: SolverNetwork, params, batch_stats, problems: ProblemSet, train: bool):
    return net.apply(params, batch_stats, problems, train)[0]


def network_estimate(
    problem: Problem,
    problems: ProblemSet,
    net: SolverNetwork,
    trained,
    train_mode: bool,
    steps: int,
    initial: np.ndarray | None = None,
) -> Estimate:
    """The ``Estimate`` of a trained solver network: its solutions for ``problems`` (in the
    problems' precision), their true losses, statuses, the training curve and time, and
    ``initial``, the network's solutions before training (``initial_solutions``)."""
    solution = net.solutions(trained.params, trained.state, problems.astype(jnp.float32), train_mode)
    return trained_estimate(problem, problems, solution, trained, steps, initial)


def trained_estimate(
    problem: Problem,
    problems: ProblemSet,
    solution: jax.Array,
    trained,
    steps: int,
    initial: np.ndarray | None = None,
) -> Estimate:
    """The ``Estimate`` of a trained method's ``solution`` (cast to the problems' precision):
    true losses, statuses, the training curve, times and where the search started."""
    solution = np.asarray(solution, problems.observed.dtype)
    loss = np.asarray(true_losses(problem, jnp.asarray(solution), problems))
    return Estimate(
        solution=solution,
        loss=loss,
        status=training_status(solution, loss, trained.diverged),
        iterations=np.full(problems.n, steps),
        curve=trained.curve,
        wall_time=trained.wall_time,
        extra={"first_step_time_s": trained.first_step_time, "step_time_s": trained.step_time},
        initial=None if initial is None else np.asarray(initial, problems.observed.dtype),
    )


def training_status(solution: np.ndarray, loss: np.ndarray, diverged: bool) -> np.ndarray:
    """``completed`` where training ran to the end and the estimate and its loss are finite;
    ``diverged`` everywhere if training hit a non-finite loss, and where a value is non-finite."""
    finite = np.all(np.isfinite(solution), axis=-1) & np.isfinite(loss) & (not diverged)
    return np.where(finite, COMPLETED, DIVERGED)
