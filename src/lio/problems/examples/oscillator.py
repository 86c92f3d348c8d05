"""Damped harmonic oscillator: recover frequency and damping from a noisy ring-down trace."""

from __future__ import annotations

import math
from typing import ClassVar

import jax
import jax.numpy as jnp
from flax import struct
from jaxtyping import Array, Float, PRNGKeyArray

from lio.problems.base import Problem


class DampedOscillator(Problem):
    """Identify the frequency and damping of an oscillator from its noisy ring-down.

    ``y(t) = A exp(-gamma t) cos(omega t + phi) + eps(t)``, ``t = k * duration / (num_samples - 1)``
    for ``k = 0 ... num_samples - 1`` (seconds). This is the underdamped solution of
    ``x'' + 2 gamma x' + omega_0^2 x = 0`` with ``omega_0^2 = omega^2 + gamma^2``. The unknowns
    are the damped angular frequency ``omega`` (rad/s) and the damping rate ``gamma`` (1/s);
    the amplitude ``A`` (signal units) and phase ``phi`` (rad), i.e. the initial state, are
    known. ``eps`` is i.i.d. Gaussian noise with standard deviation ``noise_std`` that no method
    sees, so ``L = 0`` is unreachable. There is no known condition (``c = 0``).

    Notes:
        Along ``omega`` the loss is, up to a constant, minus the correlation of two decaying
        cosines: local minima wherever the two traces come back in phase, spaced about
        ``2 pi / duration`` apart, and shallower the stronger the damping (the envelope
        shortens the informative part of the trace). BFGS from the prior mean therefore
        mostly stops in a minimum near its start. Along ``gamma`` the loss is smooth and
        unimodal for a fixed ``omega``.

    Good values:
        ``A = 1``, ``phi = 0``, ``duration = 10`` s and ``num_samples = 128`` (about 13 samples
        per period at the highest frequency, Nyquist at ~40 rad/s), ``omega ~ U(1, 10)`` rad/s
        (about 15 local minima across the prior), ``gamma ~ U(0.05, 0.3)`` 1/s (the envelope
        decays to between 5 % and 60 % of ``A`` within the trace, so the end of the trace still
        carries frequency information), ``noise_std = 0.05``.

    Reference:
        Any mechanics text, e.g. Landau & Lifshitz, *Mechanics*, §25 (damped oscillations);
        the inverse-problem setting follows Holl & Thuerey, §4.1 (a 1D curve fit with many
        local minima).
    """

    name: ClassVar[str] = "oscillator"
    parameter_names: ClassVar[tuple[str, ...]] = ("omega", "gamma")

    amplitude: float = struct.field(pytree_node=False, default=1.0)
    phase: float = struct.field(pytree_node=False, default=0.0)
    duration: float = struct.field(pytree_node=False, default=10.0)
    num_samples: int = struct.field(pytree_node=False, default=128)
    omega_low: float = struct.field(pytree_node=False, default=1.0)
    omega_high: float = struct.field(pytree_node=False, default=10.0)
    gamma_low: float = struct.field(pytree_node=False, default=0.05)
    gamma_high: float = struct.field(pytree_node=False, default=0.3)
    noise_std: float = struct.field(pytree_node=False, default=0.05)

    def __post_init__(self):
        for low, high in (("omega_low", "omega_high"), ("gamma_low", "gamma_high")):
            if not getattr(self, low) < getattr(self, high):
                raise ValueError(
                    f"oscillator: {low}={getattr(self, low)} must be below "
                    f"{high}={getattr(self, high)}; give the prior as an increasing interval."
                )
        if self.num_samples < 2:
            raise ValueError(f"oscillator: num_samples must be >= 2, got {self.num_samples}.")
        if self.duration <= 0:
            raise ValueError(f"oscillator: duration must be > 0, got {self.duration}.")
        if self.omega_low <= 0:
            raise ValueError(
                f"oscillator: omega_low must be > 0, got {self.omega_low} (omega and -omega give "
                "the same trace up to the phase)."
            )
        if self.gamma_low < 0:
            raise ValueError(
                f"oscillator: gamma_low must be >= 0 (a damped oscillator), got {self.gamma_low}."
            )
        if self.noise_std < 0:
            raise ValueError(f"oscillator: noise_std must be >= 0, got {self.noise_std}.")
        nyquist = math.pi * (self.num_samples - 1) / self.duration
        if self.omega_high >= nyquist:
            raise ValueError(
                f"oscillator: omega_high={self.omega_high} rad/s is at or above the Nyquist "
                f"frequency {nyquist:.4g} rad/s of {self.num_samples} samples over "
                f"{self.duration} s, so frequencies alias; raise num_samples or lower omega_high."
            )

    @property
    def times(self) -> Float[Array, " t"]:
        return jnp.linspace(0.0, self.duration, self.num_samples, dtype=jnp.result_type(float))

    def forward(self, solution: Float[Array, " 2"], condition: Array) -> Float[Array, " t"]:
        omega, gamma = solution[0], solution[1]
        t = self.times.astype(solution.dtype)
        return self.amplitude * jnp.exp(-gamma * t) * jnp.cos(omega * t + self.phase)

    def observe(self, key: PRNGKeyArray, solution: Array, condition: Array) -> Array:
        clean = self.forward(solution, condition)
        return clean + self.noise_std * jax.random.normal(key, clean.shape, clean.dtype)

    def sample_solution(self, key: PRNGKeyArray, n: int) -> tuple[Array, Array]:
        dtype = jnp.result_type(float)
        lower, upper = self.bounds
        solution = jax.random.uniform(key, (n, 2), dtype, minval=lower, maxval=upper)
        return solution, jnp.zeros((n, 0), dtype)

    @property
    def bounds(self) -> tuple[Array, Array]:
        dtype = jnp.result_type(float)
        return (
            jnp.array([self.omega_low, self.gamma_low], dtype),
            jnp.array([self.omega_high, self.gamma_high], dtype),
        )
