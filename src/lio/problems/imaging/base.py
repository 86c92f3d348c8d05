"""What the image-valued problems share: a ``size x size`` unknown, a regularised (MAP) loss and
truth metrics.

CT, MRI and seismic FWI subclass ``ImageProblem``; each sets its forward operator, prior, box and
classical reconstruction (``network_input``). The MAP objective ``||F(xi) - y||^2 + reg_weight *
R(xi)`` uses ``lio.problems.imaging.regularizers``: on an ill-posed problem the plain misfit is
minimised by images that fit the noise, and the regulariser gives the objective a minimiser that
is a good image, so the paper's loss-based comparison keeps its meaning.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import jax.numpy as jnp
import numpy as np
from flax import struct
from jaxtyping import Array, Float

from lio.core import quality
from lio.problems.base import Problem
from lio.problems.imaging import regularizers


class ImageProblem(Problem):
    """A problem whose unknown is a ``size x size`` image, flattened row by row.

    Subclasses implement ``forward``, ``observe``, ``network_input``, ``sample_solution``,
    ``bounds`` and ``prior_mean``, and call ``check_image_fields()`` first in ``__post_init__``.
    """

    example_panels: ClassVar[tuple[str, ...]] = ("a",)

    size: int = struct.field(pytree_node=False, default=64)
    noise_level: float = struct.field(pytree_node=False, default=0.05)
    regularizer: Literal["tv", "tikhonov"] = struct.field(pytree_node=False, default="tv")
    reg_weight: float = struct.field(pytree_node=False, default=0.01)
    tv_smoothing: float = struct.field(pytree_node=False, default=0.01)

    def check_image_fields(self) -> None:
        """Raise ``ValueError`` naming the field for a size, noise or regulariser out of range."""
        if self.size < 8:
            raise ValueError(
                f"{self.name}: size must be >= 8 pixels, got {self.size}; use 16 for tests."
            )
        for field in ("noise_level", "reg_weight"):
            if getattr(self, field) < 0:
                raise ValueError(f"{self.name}: {field} must be >= 0, got {getattr(self, field)}.")
        if self.tv_smoothing <= 0:
            raise ValueError(
                f"{self.name}: tv_smoothing must be > 0 (it makes TV differentiable), got "
                f"{self.tv_smoothing}."
            )

    @property
    def solution_shape(self) -> tuple[int, int]:
        return (self.size, self.size)

    @property
    def parameter_names(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(f"pixel[{i},{j}]" for i in range(self.size) for j in range(self.size))

    def regularization(self, solution: Float[Array, " d"]) -> Float[Array, ""]:
        """``R(xi)`` of the flat image (``lio.problems.imaging.regularizers``)."""
        return regularizers.regularization(
            solution.reshape(self.solution_shape), self.regularizer, self.tv_smoothing
        )

    def loss(self, solution: Array, condition: Array, observed: Array) -> Float[Array, ""]:
        """The MAP objective: squared data misfit plus ``reg_weight`` times the regulariser."""
        misfit = jnp.sum((self.forward(solution, condition) - observed) ** 2)
        return misfit + self.reg_weight * self.regularization(solution)

    def in_basin(self, solution: np.ndarray, truth: np.ndarray) -> np.ndarray:
        """Every estimate, for a linear operator: the objective is convex (quadratic misfit plus
        a convex regulariser), so it has one basin. Nonlinear operators override this."""
        return np.ones(np.shape(solution)[0], bool)

    def quality(self, solution: np.ndarray, truth: np.ndarray) -> dict[str, np.ndarray]:
        """PSNR, SSIM and relative error, with the box's range as PSNR's peak value."""
        lower, upper = (np.asarray(b, float) for b in self.bounds)
        data_range = float(np.max(upper) - np.min(lower))
        return quality.image_quality(solution, truth, self.solution_shape, data_range=data_range)
