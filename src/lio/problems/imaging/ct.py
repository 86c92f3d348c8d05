"""Sparse-view CT (2D parallel beam): reconstruct an attenuation image from few projections."""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jaxtyping import Array, Float, PRNGKeyArray

from lio.problems.base import ProblemSet
from lio.problems.imaging import phantoms, tomography
from lio.problems.imaging.base import ImageProblem


class SparseViewCT(ImageProblem):
    """Recover a ``size x size`` attenuation image ``xi`` from its noisy sinogram at few angles.

    ``y = A xi + eps``: ``A`` is the parallel-beam Radon transform at ``num_angles`` angles in
    ``[0, pi)`` (``lio.problems.imaging.tomography``: its nonzeros, held as pytree leaves),
    ``eps`` Gaussian with standard deviation ``noise_level`` times the clean sinogram's
    RMS (a relative noise level, as in learned-reconstruction benchmarks). The prior is random
    ellipse phantoms with values in ``[0, 1]`` (``lio.problems.imaging.phantoms``). There is no
    known condition (``c = 0``).

    The loss is the regularised (MAP) objective ``||A xi - y||^2 + reg_weight * R(xi)``, with
    ``R`` smoothed total variation ``sum sqrt(|grad xi|^2 + tv_smoothing^2) - tv_smoothing`` or
    Tikhonov on the gradient ``sum |grad xi|^2``. With 30 angles the data fix fewer values than
    the image has pixels, and the plain misfit is minimised by images that fit the noise
    (semi-convergence: PSNR peaks after a few iterations, then falls); the regulariser gives
    the objective a minimiser that is a good image, so the paper's loss-based comparison means
    something. Both regularisers are convex, so the objective has one basin.

    The box ``[0, 1]`` (``bounds``) is the prior's: the networks reach it through their scaled
    tanh, and the config keeps BFGS in it too (``bfgs.parameterization: projected``, the
    baseline and every refinement). Unconstrained, the MAP estimate rings below 0 next to the
    ellipses' edges, where many true pixels sit exactly on 0; in the box it is worth 1.2 dB on
    the calibration set at 64 x 64 and 30 views, about what the standard TV reconstruction
    (Chambolle-Pock, x >= 0) gains (``benchmarks/tv_baseline.py``).

    Solutions are the flattened image (``solution_shape = (size, size)``); the networks see the
    filtered back-projection of the observation (``network_input``), an image on the same grid.
    """

    name: ClassVar[str] = "ct"
    amount_parameter: ClassVar[str | None] = "num_angles"
    amount_label: ClassVar[str] = "projection angles"

    # size, noise_level, regularizer, reg_weight, tv_smoothing: lio.problems.imaging.base.
    num_angles: int = struct.field(pytree_node=False, default=30)
    # Derived arrays (pytree leaves, so no config parameters): built by __post_init__.
    radon: tomography.Radon | None = struct.field(pytree_node=True, default=None)
    mean_image: Array | None = struct.field(pytree_node=True, default=None)

    def __post_init__(self):
        self.check_image_fields()
        if self.num_angles < 1:
            raise ValueError(f"ct: num_angles must be >= 1, got {self.num_angles}.")
        # Pytree unflattening passes the leaves back in: build them only on construction.
        if self.radon is None:
            object.__setattr__(self, "radon", tomography.Radon.create(self.size, self.num_angles))
        if self.mean_image is None:
            object.__setattr__(self, "mean_image", phantoms.prior_mean_image(self.size))

    def forward(self, solution: Float[Array, " d"], condition: Array) -> Array:
        sinogram = self.radon(solution)
        return sinogram.reshape(self.radon.sinogram_shape)

    def observe(self, key: PRNGKeyArray, solution: Array, condition: Array) -> Array:
        clean = self.forward(solution, condition)
        sigma = self.noise_level * jnp.sqrt(jnp.mean(clean**2))
        return clean + sigma * jax.random.normal(key, clean.shape, clean.dtype)

    def network_input(self, observed: Array, condition: Array) -> Array:
        """The filtered back-projection of the sinogram, on the image grid."""
        image = tomography.fbp(self.radon, observed.reshape(-1))
        return image.reshape(self.solution_shape)

    def sample_solution(self, key: PRNGKeyArray, n: int) -> tuple[Array, Array]:
        images = phantoms.random_ellipses(key, n, self.size).astype(jnp.result_type(float))
        return images, jnp.zeros((n, 0), images.dtype)

    @property
    def bounds(self) -> tuple[Array, Array]:
        dtype = jnp.result_type(float)
        return jnp.zeros(self.num_parameters, dtype), jnp.ones(self.num_parameters, dtype)

    @property
    def prior_mean(self) -> Array:
        """The prior's mean image: for an underdetermined linear problem, (L-)BFGS keeps the
        start's null-space part, so the start must be the prior's mean, not the box's middle."""
        return self.mean_image.astype(jnp.result_type(float))

    def draw_example(self, ax, problems: ProblemSet, index: int, panel: str) -> str:
        """Panel (a): the truth, the sinogram and its filtered back-projection, side by side."""
        truth = np.asarray(problems.solution[index]).reshape(self.solution_shape)
        observed = np.asarray(problems.observed[index])
        fbp = np.asarray(jax.jit(self.network_input)(problems.observed[index], problems.condition[index]))
        strip = np.concatenate(
            [truth, _fit_to(observed, self.size), np.clip(fbp, 0, 1)], axis=1
        )
        ax.imshow(strip, cmap="gray", vmin=0, vmax=1)
        for k, label in enumerate(("truth", "sinogram", "FBP")):
            ax.text((k + 0.5) * self.size, -1, label, ha="center", va="bottom", fontsize="small")
        ax.set_axis_off()
        return f"CT, {self.num_angles} angles"


def _fit_to(image: np.ndarray, size: int) -> np.ndarray:
    """A sinogram rescaled to [0, 1] and resampled onto ``size x size`` for display."""
    from skimage.transform import resize

    scaled = (image - image.min()) / max(float(np.ptp(image)), 1e-12)
    return resize(scaled, (size, size), order=0, anti_aliasing=False)
