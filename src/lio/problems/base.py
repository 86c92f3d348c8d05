"""The problem contract every experiment implements.

A *problem* describes a family of inverse problems ``y_i = F(xi_i | x_i) (+ hidden noise)``:
how to draw a problem set from the prior, the differentiable forward model for ONE problem, the
per-example loss, the parameter box and the prior mean. Batches come from ``jax.vmap``.

Solutions are flat vectors of ``num_parameters`` values everywhere (optimisers, results files,
tables); ``solution_shape`` says how to read one as an array, e.g. ``(64, 64)`` for an image, so
that networks, figures and quality metrics can reshape it. Arrays a problem holds (an imaging
operator's matrix, a sampling mask) are pytree *leaves*: jitted code takes the problem as an
argument, so they are not folded into the compiled program as constants and one compilation
serves every seed.
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jaxtyping import Array, Float, PRNGKeyArray

from lio.core import nets


BASIN_WIDTH = 0.01  # default ``Problem.in_basin`` neighbourhood, of the box's width


class ProblemSet(struct.PyTreeNode):
    """n independent inverse problems.

    Attributes:
        solution: hidden ground truth xi_i, shape ``(n, d)``. Never shown to an optimiser,
            except as labels of a *training* set (supervised, neural adjoint).
        condition: known condition x_i, shape ``(n, c)``; ``c = 0`` when the problem has none.
        observed: observation y_i incl. hidden noise, shape ``(n, *observation_shape)``.
    """

    solution: Float[Array, "n d"]
    condition: Float[Array, "n c"]
    observed: Float[Array, "n ..."]

    @property
    def n(self) -> int:
        return self.solution.shape[0]

    def astype(self, dtype) -> "ProblemSet":
        return jax.tree.map(lambda a: a.astype(dtype), self)


class Problem(struct.PyTreeNode):
    """Base class: subclasses set the fields below and implement ``forward`` and ``sample``.

    Subclasses are frozen pytrees whose constants are static fields, so a problem instance can
    be closed over by jitted code without retracing for equal constants.
    """

    name: ClassVar[str] = "problem"
    parameter_names: ClassVar[tuple[str, ...]] = ()
    # True when the observation's last axis holds channels (e.g. velocity components) rather
    # than a spatial dimension; conv solver networks then convolve over the other axes only.
    observation_channels: ClassVar[bool] = False
    # Example panels the problem draws itself with ``draw_example(ax, problems, index, panel)``:
    # () = panel (a) shows the observation and panel (b) the loss landscape (the defaults).
    example_panels: ClassVar[tuple[str, ...]] = ()
    # What panels (a) and (b) show, for the report's figure captions: a problem that draws its
    # own panel says what it draws.
    panel_captions: ClassVar[dict[str, str]] = {
        "a": "an example problem",
        "b": "loss and gradient along one parameter, the others at the truth",
    }
    # The observation-amount axis (config `observations:`, lio.run.observations): the parameter that
    # sets how much is observed (None: the problem has no such knob), a label for axes, and
    # whether a larger value observes more (CT's angles) or less (MRI's acceleration).
    amount_parameter: ClassVar[str | None] = None
    amount_label: ClassVar[str] = ""
    amount_increases_observations: ClassVar[bool] = True

    # -- to implement -------------------------------------------------------------------------
    def forward(
        self, solution: Float[Array, " d"], condition: Float[Array, " c"]
    ) -> Float[Array, "..."]:
        """The differentiable forward model F(xi | x) of ONE problem."""
        raise NotImplementedError

    @property
    def solution_shape(self) -> tuple[int, ...]:
        """The shape of one solution read as an array; ``(d,)`` for a vector of parameters."""
        return (len(self.parameter_names),)

    def network_input(self, observed: Array, condition: Array) -> Array:
        """What a solver network sees of ONE problem's observation. Default: the observation.

        Imaging problems return a classical reconstruction of it instead (filtered
        back-projection, zero-filled inverse FFT), so that an image-to-image network can map
        it onto the solution's grid.
        """
        return observed

    def quality(self, solution: np.ndarray, truth: np.ndarray) -> dict[str, np.ndarray]:
        """Host-side truth metrics of ``(n, d)`` estimates, each an ``(n,)`` array; higher or
        lower is better as ``lio.core.quality.HIGHER_IS_BETTER`` says. Default: none (the loss is the
        only comparison)."""
        return {}

    def astype(self, dtype) -> "Problem":
        """The problem with its floating-point arrays (operator leaves) cast to ``dtype``, for
        float32 network training; problems without array leaves are returned as they are."""
        return jax.tree.map(
            lambda a: a.astype(dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a, self
        )

    def sample_solution(self, key: PRNGKeyArray, n: int) -> tuple[Array, Array]:
        """Draw ``(solution (n, d), condition (n, c))`` from the ground-truth prior."""
        raise NotImplementedError

    def observe(self, key: PRNGKeyArray, solution: Array, condition: Array) -> Array:
        """The observation of ONE problem, including hidden noise / hidden information."""
        return self.forward(solution, condition)

    @property
    def bounds(self) -> tuple[Float[Array, " d"], Float[Array, " d"]]:
        """Lower and upper bound of each parameter (the box the networks' tanh maps onto)."""
        raise NotImplementedError

    @property
    def prior_mean(self) -> Float[Array, " d"]:
        """The initial guess of BFGS."""
        lower, upper = self.bounds
        return (lower + upper) / 2

    def from_network(self, z: Float[Array, "... d"]) -> Float[Array, "... d"]:
        """Map a solver network's unbounded output ``z`` onto solutions (in ``z``'s dtype).

        Default: the scaled tanh onto ``bounds``, so every network estimate lies in the box.
        A problem whose parameters have no box (``lio.api.FunctionProblem`` without bounds)
        overrides this, e.g. with ``prior_mean + z``.
        """
        lower, upper = (b.astype(z.dtype) for b in self.bounds)
        return nets.bounded(z, lower, upper)

    def to_network(self, solution: Float[Array, "... d"]) -> Float[Array, "... d"]:
        """The inverse of ``from_network``: the unbounded ``z`` whose image is ``solution``.

        Default: the inverse scaled tanh, with estimates on (or beyond) the box's edge pulled
        inside by a relative ``1e-12`` of the box (float64) or ``1e-6`` (float32), so that
        ``z`` stays finite. BFGS in the ``tanh`` parameterisation starts from it.
        """
        lower, upper = (b.astype(solution.dtype) for b in self.bounds)
        margin = 1e-12 if solution.dtype == jnp.float64 else 1e-6
        unit = jnp.clip(2 * (solution - lower) / (upper - lower) - 1, -1 + margin, 1 - margin)
        return jnp.arctanh(unit)

    def in_basin(self, solution: np.ndarray, truth: np.ndarray) -> np.ndarray:
        """Per example: does the estimate lie in the hidden truth's basin of attraction?

        Host-side (numpy), for the training-health diagnostics (``lio.analysis.health``). Default: every
        parameter within ``BASIN_WIDTH`` (1 %) of the box's width of the truth, a
        neighbourhood from which the refinement's BFGS reaches the truth's minimum on the smooth
        landscapes of billiards, KS and NS. Problems whose basins are narrower or of known size
        override it (the wave packet: half an oscillation period).
        """
        lower, upper = (np.asarray(b, float) for b in self.bounds)
        distance = np.abs(np.asarray(solution, float) - np.asarray(truth, float))
        return np.all(distance <= BASIN_WIDTH * (upper - lower), axis=-1)

    # -- provided -------------------------------------------------------------------------------
    @property
    def num_parameters(self) -> int:
        return int(np.prod(self.solution_shape))

    def loss(
        self,
        solution: Float[Array, " d"],
        condition: Float[Array, " c"],
        observed: Float[Array, "..."],
    ) -> Float[Array, ""]:
        """Per-example loss: squared L2 mismatch ``||F(xi | x) - y||^2`` (paper Eq. 1)."""
        predicted = self.forward(solution, condition)
        return jnp.sum((predicted - observed) ** 2)

    def sample(self, key: PRNGKeyArray, n: int) -> ProblemSet:
        """A problem set of size n: hidden truth, known condition, noisy observation."""
        key_solution, key_noise = jax.random.split(key)
        solution, condition = self.sample_solution(key_solution, n)
        noise_keys = jax.random.split(key_noise, n)
        observed = jax.vmap(self.observe)(noise_keys, solution, condition)
        return ProblemSet(solution=solution, condition=condition, observed=observed)

    def sample_training_set(self, key: PRNGKeyArray, n: int) -> ProblemSet:
        """Labelled data for supervised training and the neural-adjoint surrogate.

        By default a fresh draw from the same prior as the problems (paper: "P(xi) known").
        Problems whose solution prior is unknown override this (paper §4.2).
        """
        return self.sample(key, n)

    def losses(self, solution: Array, problems: ProblemSet) -> Float[Array, " n"]:
        """Per-example loss of a batch of candidate solutions."""
        return jax.vmap(self.loss)(solution, problems.condition, problems.observed)

    def check_solution_shape(self, solution: Array, n: int) -> None:
        expected = (n, self.num_parameters)
        if tuple(solution.shape) != expected:
            names = (
                f"the parameters {self.parameter_names}"
                if len(self.solution_shape) == 1
                else f"a flattened {self.solution_shape} array"
            )
            raise ValueError(
                f"{self.name}: solution has shape {tuple(solution.shape)}; expected {expected} "
                f"(n problems x {names}). Reshape the estimate to one flat row per problem."
            )
