"""``FunctionProblem``: a user's forward function as an ordinary ``Problem``."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from flax import struct
from jaxtyping import Array, Float, PRNGKeyArray

from lio.problems.base import Problem


class FunctionProblem(Problem):
    """A ``Problem`` around a user's forward function ``F(xi) -> y`` or ``F(xi, x) -> y``.

    There is no prior: ``sample_solution`` raises, so methods that need a labelled training
    set (supervised, neural adjoint) cannot run on it.

    Attributes:
        function: the differentiable JAX forward model of ONE problem (static: compared by
            identity, so repeated calls with the same function reuse compiled code).
        x0: ``(d,)`` prior mean: BFGS's initial guess, and the offset of unbounded solutions.
        lower, upper: ``(d,)`` parameter box; ``-inf`` / ``inf`` when unbounded.
        bounded: whether the box is finite. If not, ``from_network`` returns ``x0 + z``.
        condition_shape: shape of one problem's condition as the user gave it, or None when
            ``F`` takes no condition (the contract's ``(n, c)`` condition is then ``c = 0``).
    """

    name: ClassVar[str] = "function"

    function: Callable[..., Array] = struct.field(pytree_node=False)
    x0: Float[Array, " d"]
    lower: Float[Array, " d"]
    upper: Float[Array, " d"]
    bounded: bool = struct.field(pytree_node=False, default=True)
    condition_shape: tuple[int, ...] | None = struct.field(pytree_node=False, default=None)

    @property
    def parameter_names(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(f"x[{i}]" for i in range(self.x0.shape[-1]))

    def forward(self, solution: Float[Array, " d"], condition: Float[Array, " c"]) -> Array:
        if self.condition_shape is None:
            return self.function(solution)
        return self.function(solution, condition.reshape(self.condition_shape))

    def sample_solution(self, key: PRNGKeyArray, n: int) -> tuple[Array, Array]:
        raise NotImplementedError(
            "FunctionProblem has no prior to sample solutions from; lio.minimize only solves "
            "the observations it is given."
        )

    @property
    def bounds(self) -> tuple[Array, Array]:
        return self.lower, self.upper

    @property
    def prior_mean(self) -> Float[Array, " d"]:
        return self.x0

    def from_network(self, z: Float[Array, "... d"]) -> Float[Array, "... d"]:
        """Scaled tanh onto the box when bounded; otherwise ``x0 + z`` (z is O(1) at init)."""
        if self.bounded:
            return super().from_network(z)
        return self.x0.astype(z.dtype) + z

    def to_network(self, solution: Float[Array, "... d"]) -> Float[Array, "... d"]:
        """Inverse of ``from_network``."""
        if self.bounded:
            return super().to_network(solution)
        return solution - self.x0.astype(solution.dtype)
