"""Wave packet localisation (paper §4.1): a 1D curve fit with many local minima."""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jaxtyping import Array, Float, PRNGKeyArray

from lio.problems.base import Problem


class WavePacket(Problem):
    """Locate a wave packet in a noisy signal.

    ``u(t) = A sin(t - t0) exp(-(t - t0)^2 / sigma^2) + eps(t)``, ``t = 1 ... num_samples``.
    The unknown is the centre ``t0`` (same unit as ``t``, samples); ``A`` (amplitude, signal
    units) and ``sigma`` (width, samples) are fixed and known. ``eps`` is i.i.d. Gaussian noise
    with standard deviation ``noise_std`` that no method sees, so ``L = 0`` is unreachable.
    There is no known condition (``c = 0``). ``observed_fraction`` keeps that share of the
    samples, evenly spaced over ``1 ... num_samples`` (1: all of them, the paper's setting): the
    knob of the observation-amount axis (lio.run.observations).

    Notes:
        The loss along ``t0`` is the packet's autocorrelation: a comb of local minima spaced
        ``2 pi`` apart under an envelope of width ``~sqrt(2) sigma``; further away it is flat up
        to the noise. A local optimiser started at the prior mean therefore stops in a nearby
        local minimum or barely moves.

    Good values:
        ``A = 1``, ``sigma = 10`` (about ten local minima around the optimum, as the paper's
        Fig. 2b shows), ``t0 ~ U(32, 224)`` so that the packet's ±3 sigma envelope stays inside
        the 256 samples, ``noise_std = 0.1``.

    Reference:
        Holl & Thuerey, "Can Neural Networks Improve Classical Optimization of Inverse
        Problems?", §4.1.
    """

    name: ClassVar[str] = "wavepacket"
    parameter_names: ClassVar[tuple[str, ...]] = ("t0",)
    amount_parameter: ClassVar[str | None] = "observed_fraction"
    amount_label: ClassVar[str] = "fraction of samples observed"

    amplitude: float = struct.field(pytree_node=False, default=1.0)
    width: float = struct.field(pytree_node=False, default=10.0)
    t0_low: float = struct.field(pytree_node=False, default=32.0)
    t0_high: float = struct.field(pytree_node=False, default=224.0)
    noise_std: float = struct.field(pytree_node=False, default=0.1)
    num_samples: int = struct.field(pytree_node=False, default=256)
    observed_fraction: float = struct.field(pytree_node=False, default=1.0)

    def __post_init__(self):
        if not self.t0_low < self.t0_high:
            raise ValueError(
                f"wavepacket: t0_low={self.t0_low} must be below t0_high={self.t0_high}; "
                "give the t0 prior as an increasing interval."
            )
        for field in ("width", "num_samples"):
            if getattr(self, field) <= 0:
                raise ValueError(
                    f"wavepacket: {field} must be > 0, got {getattr(self, field)}."
                )
        if self.noise_std < 0:
            raise ValueError(f"wavepacket: noise_std must be >= 0, got {self.noise_std}.")
        if not 0 < self.observed_fraction <= 1 or self.observed_count < 2:
            raise ValueError(
                f"wavepacket: observed_fraction must be in (0, 1] and keep at least 2 of the "
                f"{self.num_samples} samples, got {self.observed_fraction}; e.g. 0.5 observes "
                "every other sample."
            )

    @property
    def observed_count(self) -> int:
        """How many of the ``num_samples`` samples are observed."""
        return int(round(self.observed_fraction * self.num_samples))

    @property
    def times(self) -> Float[Array, " t"]:
        """The observed sample times: all of ``1 ... num_samples``, or ``observed_count`` of them
        evenly spaced."""
        every = np.arange(1, self.num_samples + 1)
        if self.observed_count < self.num_samples:
            every = every[np.round(np.linspace(0, self.num_samples - 1, self.observed_count)).astype(int)]
        return jnp.asarray(every, dtype=jnp.result_type(float))

    def forward(self, solution: Float[Array, " 1"], condition: Array) -> Float[Array, " t"]:
        times = self.times.astype(solution.dtype)
        t0 = solution[0]
        # sin(t - t0) = sin t cos t0 - cos t sin t0: sin t and cos t are constants, so one
        # problem costs two sines instead of num_samples (BFGS's cost on CPU is these calls).
        oscillation = jnp.sin(times) * jnp.cos(t0) - jnp.cos(times) * jnp.sin(t0)
        return self.amplitude * oscillation * jnp.exp(-((times - t0) ** 2) / self.width**2)

    def observe(self, key: PRNGKeyArray, solution: Array, condition: Array) -> Array:
        clean = self.forward(solution, condition)
        return clean + self.noise_std * jax.random.normal(key, clean.shape, clean.dtype)

    def sample_solution(self, key: PRNGKeyArray, n: int) -> tuple[Array, Array]:
        dtype = jnp.result_type(float)
        t0 = jax.random.uniform(
            key, (n, 1), dtype, minval=self.t0_low, maxval=self.t0_high
        )
        return t0, jnp.zeros((n, 0), dtype)

    def in_basin(self, solution: np.ndarray, truth: np.ndarray) -> np.ndarray:
        """Within half an oscillation period (pi samples) of the truth: the loss's minima are
        ``2 pi`` apart, so that is the global minimum's basin, up to the noise."""
        return np.abs(np.asarray(solution, float) - np.asarray(truth, float))[..., 0] < np.pi

    @property
    def bounds(self) -> tuple[Array, Array]:
        dtype = jnp.result_type(float)
        return jnp.array([self.t0_low], dtype), jnp.array([self.t0_high], dtype)
