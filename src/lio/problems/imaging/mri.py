"""Undersampled single-coil Cartesian MRI: reconstruct an image from a fraction of its k-space."""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jaxtyping import Array, Float, PRNGKeyArray

from lio.problems.base import ProblemSet
from lio.problems.imaging import fourier, phantoms
from lio.problems.imaging.base import ImageProblem


class UndersampledMRI(ImageProblem):
    """Recover a ``size x size`` image ``xi`` from noisy k-space rows sampled at ``acceleration``.

    ``y = A xi + eps``: ``A = M S F`` is the orthonormal 2D FFT, centred, then masked to the
    phase-encode lines (rows) of ``lio.problems.imaging.fourier.sampling_mask(size,
    acceleration, center_fraction, mask_seed)``: a fully sampled band of ``center_fraction``
    of the rows around zero frequency plus random rows, ``~ size / acceleration`` in all. The
    mask is fixed per experiment: drawn once from ``mask_seed`` (not from the problem set's
    key), so every problem, seed and method of an experiment sees the same scanner protocol.
    ``y`` is ``(size, size, 2)`` ([real, imag], zero where not sampled); ``eps`` is Gaussian on
    each real channel of the sampled entries only, with standard deviation ``noise_level``
    times the clean k-space's RMS over those sampled real values. The prior is random ellipse
    phantoms in ``[0, 1]`` (``lio.problems.imaging.phantoms``, as CT's). There is no known
    condition (``c = 0``).

    The loss is the MAP objective ``||A xi - y||^2 + reg_weight * R(xi)`` with CT's
    regulariser (``lio.problems.imaging.regularizers``: smoothed TV or Tikhonov on the
    gradient). At acceleration 4 the data fix a quarter of the image's degrees of freedom; the
    unsampled frequencies are the null space, which the plain misfit leaves at the start's
    values (aliasing), and which the regulariser fills in. The objective is convex: one basin.
    The box ``[0, 1]`` (``bounds``) is the prior's, as CT's: the networks reach it through their
    scaled tanh, and the config keeps BFGS in it too (``bfgs.parameterization: projected``);
    there TV needs a small smoothing (3e-4: at 1e-2 the estimates lose 1.9 dB) and its weight
    moves up (``benchmarks/tv_baseline.py --experiment mri``).

    Solutions are the flattened image (``solution_shape = (size, size)``); the networks see the
    zero-filled reconstruction (``network_input``: inverse FFT of ``y`` with the unsampled
    entries zero), an image on the same grid.
    """

    name: ClassVar[str] = "mri"
    amount_parameter: ClassVar[str | None] = "acceleration"
    amount_label: ClassVar[str] = "acceleration (k-space rows / sampled rows)"
    amount_increases_observations: ClassVar[bool] = False
    # The observation's last axis is [real, imag], but what the networks read is
    # ``network_input``, a single-channel (size, size) image; ``observation_channels`` tells the
    # conv nets and the U-Net how to read *that* (lio.core.nets: channels_last), so it is False here:
    # True would make the U-Net refuse the (n, size, size) input and the conv net take the
    # image's columns as channels.
    observation_channels: ClassVar[bool] = False

    # size, noise_level, regularizer, tv_smoothing: lio.problems.imaging.base.
    acceleration: int = struct.field(pytree_node=False, default=4)
    center_fraction: float = struct.field(pytree_node=False, default=0.08)
    mask_seed: int = struct.field(pytree_node=False, default=0)
    # Best mean PSNR of L-BFGS (39.0 dB) on 16 calibration problems (seed 1000), 64 x 64, 4x:
    # benchmarks/regularization.py --problem mri, benchmarks/results/mri_regularization-cpu.json.
    reg_weight: float = struct.field(pytree_node=False, default=0.003)
    # Derived arrays (pytree leaves, so no config parameters): built by __post_init__.
    operator: fourier.MaskedFourier | None = struct.field(pytree_node=True, default=None)
    mean_image: Array | None = struct.field(pytree_node=True, default=None)

    def __post_init__(self):
        self.check_image_fields()
        if not 1 <= self.acceleration <= 16:
            raise ValueError(
                f"mri: acceleration must be in 1..16 (1 = full sampling), got {self.acceleration}."
            )
        if not 0 <= self.center_fraction <= 1:
            raise ValueError(
                f"mri: center_fraction must be in [0, 1], got {self.center_fraction}."
            )
        if self.mask_seed < 0:
            raise ValueError(f"mri: mask_seed must be >= 0, got {self.mask_seed}.")
        # Pytree unflattening passes the leaves back in: build them only on construction.
        if self.operator is None:
            object.__setattr__(self, "operator", fourier.MaskedFourier.create(
                self.size, self.acceleration, self.center_fraction, self.mask_seed))
        if self.mean_image is None:
            object.__setattr__(self, "mean_image", phantoms.prior_mean_image(self.size))

    def forward(self, solution: Float[Array, " d"], condition: Array) -> Array:
        return self.operator(solution)

    def observe(self, key: PRNGKeyArray, solution: Array, condition: Array) -> Array:
        clean = self.forward(solution, condition)
        sampled = self.operator.mask.astype(clean.dtype)[..., None]
        rms = jnp.sqrt(jnp.sum(clean**2) / (2 * jnp.sum(sampled)))
        noise = jax.random.normal(key, clean.shape, clean.dtype)
        return clean + self.noise_level * rms * sampled * noise

    def network_input(self, observed: Array, condition: Array) -> Array:
        """The zero-filled reconstruction of the k-space, on the image grid."""
        return self.operator.zero_filled(observed)

    def sample_solution(self, key: PRNGKeyArray, n: int) -> tuple[Array, Array]:
        images = phantoms.random_ellipses(key, n, self.size).astype(jnp.result_type(float))
        return images, jnp.zeros((n, 0), images.dtype)

    @property
    def bounds(self) -> tuple[Array, Array]:
        dtype = jnp.result_type(float)
        return jnp.zeros(self.num_parameters, dtype), jnp.ones(self.num_parameters, dtype)

    @property
    def prior_mean(self) -> Array:
        """The prior's mean image: (L-)BFGS keeps the start's part in the unsampled
        frequencies (the null space), so the start must be the prior's mean."""
        return self.mean_image.astype(jnp.result_type(float))

    def draw_example(self, ax, problems: ProblemSet, index: int, panel: str) -> str:
        """Panel (a): the truth, the log-magnitude of the sampled k-space and the zero-filled
        reconstruction, side by side."""
        truth = np.asarray(problems.solution[index]).reshape(self.solution_shape)
        observed = np.asarray(problems.observed[index])
        magnitude = np.log1p(np.hypot(observed[..., 0], observed[..., 1]))
        magnitude = magnitude / max(float(magnitude.max()), 1e-12)
        zero_filled = np.asarray(
            jax.jit(self.network_input)(problems.observed[index], problems.condition[index])
        )
        strip = np.concatenate([truth, magnitude, np.clip(zero_filled, 0, 1)], axis=1)
        ax.imshow(strip, cmap="gray", vmin=0, vmax=1)
        for k, label in enumerate(("truth", "log |k-space|", "zero-filled")):
            ax.text((k + 0.5) * self.size, -1, label, ha="center", va="bottom", fontsize="small")
        ax.set_axis_off()
        return f"MRI, {self.acceleration}x undersampled"
