"""Kuramoto–Sivashinsky (paper §4.3): forcing and advection strength of a chaotic 1D PDE."""

from __future__ import annotations

import math
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jaxtyping import Array, Complex, Float, PRNGKeyArray

from lio.problems.base import Problem, ProblemSet

# Points on the complex circle around each L h for the phi-functions (Kassam & Trefethen use
# 32 for float64; the float64 NumPy evaluation below is then accurate to ~1e-15 relative).
_CONTOUR_POINTS = 32


def etdrk4_coefficients(linear: np.ndarray, dt: float) -> dict[str, np.ndarray]:
    """ETDRK4 coefficients of Cox & Matthews for a diagonal linear operator (float64, NumPy).

    The phi-functions are evaluated as means over a circle of radius 1 around each ``L dt``
    (Kassam & Trefethen 2005, §3), which avoids the cancellation of the closed forms near
    ``L dt = 0``.
    """
    z = linear * dt
    roots = np.exp(1j * np.pi * (np.arange(1, _CONTOUR_POINTS + 1) - 0.5) / _CONTOUR_POINTS)
    r = z[:, None] + roots[None, :]
    er = np.exp(r)

    def mean(values: np.ndarray) -> np.ndarray:
        return np.real(np.mean(values, axis=-1))

    return {
        "e": np.exp(z),
        "e2": np.exp(z / 2),
        "q": dt * mean((np.exp(r / 2) - 1) / r),
        "f1": dt * mean((-4 - r + er * (4 - 3 * r + r**2)) / r**3),
        "f2": dt * mean((2 + r + er * (r - 2)) / r**3),
        "f3": dt * mean((-4 - 3 * r - r**2 + er * (4 - r)) / r**3),
    }


class KuramotoSivashinsky(Problem):
    """Recover forcing strength ``alpha`` and advection strength ``beta`` of a KS trajectory.

    ``u_t = alpha G(x) - u_xx - u_xxxx - beta u u_x`` on the periodic domain ``[0, length)``
    (nondimensional KS units: unit diffusion, unit hyperdiffusion), forcing
    ``G(x) = forcing_amplitude sin(2 pi forcing_mode x / length)`` (zero mean, so the mean of
    ``u`` is conserved). Unknowns: ``(alpha, beta)``, uniform over
    ``[alpha_low, alpha_high] x [beta_low, beta_high]``. Known condition: the initial state
    ``u0`` on the ``resolution`` grid points ``x_j = j length / resolution``, a sum of the
    ``initial_modes`` lowest Fourier modes with independent Gaussian amplitudes (standard
    deviation ``initial_amplitude`` each) and uniform phases. Observation: ``u`` every
    ``observe_every`` steps of size ``dt`` at ``t = observe_every dt, ..., t_end``, an image of
    shape ``(t_end / (observe_every dt), resolution)`` (time x space). There is no noise, so
    ``L = 0`` at the truth and refinement can reach machine precision.

    The solver is pseudo-spectral (``rfft``) with ETDRK4 (Cox & Matthews 2002), phi-functions by
    the contour integral of Kassam & Trefethen, and the 2/3 rule applied to ``u u_x``; forcing
    and advection form its nonlinear part, so the linear part ``-u_xx - u_xxxx`` is integrated
    exactly. Its coefficients depend only on the static fields; they are computed in float64
    and cast to the dtype of the state, so one code path serves float32 network training and
    float64 BFGS.

    Notes:
        Modes with wavenumber ``k < 1`` grow at rate ``k^2 - k^4`` (at most 1/4, at
        ``k = 1/sqrt(2)``), higher modes decay. The small random initial state grows for
        ``t ~ 10`` and saturates into travelling, merging cells by ``t ~ 15``; by ``t = 25`` the
        pattern is chaotic but smooth. ``w = beta u`` solves the standard KS equation from
        ``beta u0`` with forcing ``alpha beta G``, so ``beta`` sets the amplitude (``u ~ 1/beta``)
        and when the instability saturates. Along ``beta`` (at the true ``alpha``) the loss is
        mostly a single smooth valley; along ``alpha`` (at the true ``beta``) it is a narrow
        valley in a plateau of uncorrelated trajectories with a few (~4) further local minima.
        BFGS from the prior mean fails by stopping in one of those, or by running to large
        ``beta`` (outside the box), where the predicted amplitude shrinks towards the mean.

    Good values:
        The paper fixes only ``t_end = 25``, the box ``alpha in [-1, 1]``,
        ``beta in [1/2, 3/2]`` and "chaotic but still smooth". ``length = 22`` is the classic
        smallest chaotic KS domain (Cvitanović, Davidchack & Siminos 2010), which resolves with
        ``resolution = 32`` (1e-3 relative difference to 64 points at ``t = 25``);
        ``dt = 0.5`` keeps the time error at that level (median 2e-3 relative at ``t = 25``)
        with 50 steps, so a float32 forward + gradient of 256 problems takes ~55 ms on two CPU
        cores; ``observe_every = 2`` gives a 25 x 32 image at ``t = 1, ..., 25``.
        ``forcing_mode = 1``, ``forcing_amplitude = 0.2`` and ``initial_modes = 4``,
        ``initial_amplitude = 0.1`` give BFGS from ``(0, 1)`` the paper's behaviour: the truth
        in 65 % of 256 problems (paper ~60 %), in a median of 19 iterations (IQR 13-23; paper
        12-22), and loss < 1e-21 there.

    Reference:
        Holl & Thuerey, §4.3; Kassam & Trefethen, "Fourth-order time-stepping for stiff PDEs",
        SIAM J. Sci. Comput. 26 (2005) 1214; Cox & Matthews, J. Comput. Phys. 176 (2002) 430;
        Cvitanović, Davidchack & Siminos, SIAM J. Appl. Dyn. Syst. 9 (2010) 1.
    """

    name: ClassVar[str] = "kuramoto_sivashinsky"
    parameter_names: ClassVar[tuple[str, ...]] = ("alpha", "beta")
    example_panels: ClassVar[tuple[str, ...]] = ("a",)

    length: float = struct.field(pytree_node=False, default=22.0)
    resolution: int = struct.field(pytree_node=False, default=32)
    dt: float = struct.field(pytree_node=False, default=0.5)
    t_end: float = struct.field(pytree_node=False, default=25.0)
    observe_every: int = struct.field(pytree_node=False, default=2)
    forcing_mode: int = struct.field(pytree_node=False, default=1)
    forcing_amplitude: float = struct.field(pytree_node=False, default=0.2)
    initial_modes: int = struct.field(pytree_node=False, default=4)
    initial_amplitude: float = struct.field(pytree_node=False, default=0.1)
    alpha_low: float = struct.field(pytree_node=False, default=-1.0)
    alpha_high: float = struct.field(pytree_node=False, default=1.0)
    beta_low: float = struct.field(pytree_node=False, default=0.5)
    beta_high: float = struct.field(pytree_node=False, default=1.5)

    def __post_init__(self):
        for field in ("length", "dt", "t_end"):
            if not getattr(self, field) > 0:
                raise ValueError(
                    f"kuramoto_sivashinsky: {field} must be > 0, got {getattr(self, field)}."
                )
        if self.resolution < 8 or self.resolution % 2:
            raise ValueError(
                f"kuramoto_sivashinsky: resolution must be even and >= 8 (rfft with a Nyquist "
                f"mode, 2/3 dealiasing), got {self.resolution}."
            )
        if self.observe_every < 1:
            raise ValueError(
                f"kuramoto_sivashinsky: observe_every must be >= 1, got {self.observe_every}."
            )
        steps = self.t_end / self.dt
        if abs(steps - round(steps)) > 1e-9 * steps or round(steps) % self.observe_every:
            raise ValueError(
                f"kuramoto_sivashinsky: t_end / dt = {self.t_end} / {self.dt} = {steps:g} must be "
                f"a whole multiple of observe_every={self.observe_every}; choose dt so that the "
                "observation frames end exactly at t_end."
            )
        if not 1 <= self.forcing_mode < self.resolution // 3:
            raise ValueError(
                f"kuramoto_sivashinsky: forcing_mode must be in [1, {self.resolution // 3}) "
                f"(a resolved, non-constant mode), got {self.forcing_mode}."
            )
        if not 1 <= self.initial_modes < self.resolution // 3:
            raise ValueError(
                f"kuramoto_sivashinsky: initial_modes must be in [1, {self.resolution // 3}), "
                f"got {self.initial_modes}."
            )
        if self.initial_amplitude < 0:
            raise ValueError(
                f"kuramoto_sivashinsky: initial_amplitude must be >= 0, got "
                f"{self.initial_amplitude}."
            )
        for low, high in (("alpha_low", "alpha_high"), ("beta_low", "beta_high")):
            if not getattr(self, low) < getattr(self, high):
                raise ValueError(
                    f"kuramoto_sivashinsky: {low}={getattr(self, low)} must be below "
                    f"{high}={getattr(self, high)}; give the prior as an increasing interval."
                )

    # -- grid and operators --------------------------------------------------------------------
    @property
    def num_steps(self) -> int:
        return round(self.t_end / self.dt)

    @property
    def num_frames(self) -> int:
        return self.num_steps // self.observe_every

    @property
    def times(self) -> np.ndarray:
        """Times of the observed frames, ``(num_frames,)``."""
        return self.dt * self.observe_every * np.arange(1, self.num_frames + 1)

    def grid(self, dtype=None) -> Float[Array, " N"]:
        dtype = dtype or jnp.result_type(float)
        return jnp.asarray(self.length / self.resolution * np.arange(self.resolution), dtype)

    def wavenumbers(self) -> np.ndarray:
        """Wavenumbers of the rfft modes, ``2 pi m / length`` for ``m = 0 ... N/2`` (float64)."""
        return 2 * np.pi / self.length * np.arange(self.resolution // 2 + 1)

    def forcing(self, dtype=None) -> Float[Array, " N"]:
        """``G(x)`` on the grid (zero mean)."""
        x = self.length / self.resolution * np.arange(self.resolution)
        g = self.forcing_amplitude * np.sin(2 * np.pi * self.forcing_mode * x / self.length)
        return jnp.asarray(g, dtype or jnp.result_type(float))

    def _operators(self, dtype) -> dict[str, Array]:
        """Static spectral constants in the real dtype ``dtype`` (traced as constants)."""
        k = self.wavenumbers()
        coefficients = etdrk4_coefficients(k**2 - k**4, self.dt)
        modes = np.arange(self.resolution // 2 + 1)
        # 2/3 rule on the product u^2; the odd derivative of the Nyquist mode is zero anyway.
        derivative = np.where(3 * modes < self.resolution, k, 0.0)
        constants = {name: jnp.asarray(value, dtype) for name, value in coefficients.items()}
        constants["derivative"] = jnp.asarray(derivative, dtype)
        constants["forcing"] = jnp.fft.rfft(self.forcing(dtype))
        return constants

    # -- physics ------------------------------------------------------------------------------
    def _nonlinear(self, spectrum: Array, alpha: Array, beta: Array, ops: dict) -> Array:
        """Fourier transform of ``alpha G - beta u u_x = alpha G - beta/2 (u^2)_x``."""
        u = jnp.fft.irfft(spectrum, n=self.resolution)
        advection = -0.5j * beta * ops["derivative"] * jnp.fft.rfft(u * u)
        return alpha * ops["forcing"] + advection

    def step(
        self, spectrum: Complex[Array, " M"], alpha: Array, beta: Array, ops: dict | None = None
    ) -> Complex[Array, " M"]:
        """One ETDRK4 step of size ``dt`` on the rfft coefficients of ``u``."""
        ops = ops or self._operators(jnp.real(spectrum).dtype)
        nv = self._nonlinear(spectrum, alpha, beta, ops)
        a = ops["e2"] * spectrum + ops["q"] * nv
        na = self._nonlinear(a, alpha, beta, ops)
        b = ops["e2"] * spectrum + ops["q"] * na
        nb = self._nonlinear(b, alpha, beta, ops)
        c = ops["e2"] * a + ops["q"] * (2 * nb - nv)
        nc = self._nonlinear(c, alpha, beta, ops)
        return (
            ops["e"] * spectrum
            + ops["f1"] * nv
            + 2 * ops["f2"] * (na + nb)
            + ops["f3"] * nc
        )

    def trajectory(
        self, solution: Float[Array, " 2"], condition: Float[Array, " N"]
    ) -> Float[Array, "T N"]:
        """``u`` at ``times`` (the observation), rolled out with ``lax.scan`` in the dtype of
        ``solution`` and ``condition``."""
        dtype = jnp.result_type(solution, condition)
        ops = self._operators(dtype)
        alpha, beta = solution[0].astype(dtype), solution[1].astype(dtype)

        def advance(spectrum, _):
            return self.step(spectrum, alpha, beta, ops), None

        def frame(spectrum, _):
            spectrum, _ = jax.lax.scan(advance, spectrum, None, length=self.observe_every)
            return spectrum, jnp.fft.irfft(spectrum, n=self.resolution)

        spectrum = jnp.fft.rfft(condition.astype(dtype))
        _, frames = jax.lax.scan(frame, spectrum, None, length=self.num_frames)
        return frames

    def forward(self, solution: Float[Array, " 2"], condition: Float[Array, " N"]) -> Array:
        return self.trajectory(solution, condition)

    # -- sampling -----------------------------------------------------------------------------
    def sample_condition(self, key: PRNGKeyArray, n: int) -> Float[Array, "n N"]:
        """Random smooth zero-mean initial states: the lowest ``initial_modes`` modes with
        Gaussian amplitudes and uniform phases."""
        dtype = jnp.result_type(float)
        key_amplitude, key_phase = jax.random.split(key)
        shape = (n, self.initial_modes)
        amplitude = self.initial_amplitude * jax.random.normal(key_amplitude, shape, dtype)
        phase = jax.random.uniform(key_phase, shape, dtype, 0.0, 2 * math.pi)
        modes = jnp.arange(1, self.initial_modes + 1, dtype=dtype)
        angle = 2 * math.pi / self.length * modes[:, None] * self.grid(dtype)[None, :]
        return jnp.sum(amplitude[..., None] * jnp.cos(angle + phase[..., None]), axis=1)

    def sample_solution(self, key: PRNGKeyArray, n: int) -> tuple[Array, Array]:
        key_solution, key_condition = jax.random.split(key)
        lower, upper = self.bounds
        solution = jax.random.uniform(key_solution, (n, 2), lower.dtype, lower, upper)
        return solution, self.sample_condition(key_condition, n)

    @property
    def bounds(self) -> tuple[Array, Array]:
        dtype = jnp.result_type(float)
        return (
            jnp.array([self.alpha_low, self.beta_low], dtype),
            jnp.array([self.alpha_high, self.beta_high], dtype),
        )

    # -- figure panel (a) ----------------------------------------------------------------------
    def draw_example(self, ax, problems: ProblemSet, index: int, panel: str) -> str:
        """Panel (a): the example's space-time trajectory ``u(x, t)`` from ``u0`` to ``t_end``.
        Returns the panel's title."""
        frames = np.concatenate(
            [np.asarray(problems.condition[index])[None], np.asarray(problems.observed[index])]
        )
        limit = float(np.max(np.abs(frames)))
        dx, dt = self.length / self.resolution, self.dt * self.observe_every
        image = ax.imshow(
            frames,
            origin="lower",
            aspect="auto",
            cmap="RdBu_r",
            vmin=-limit,
            vmax=limit,
            # pixel centres on the grid points and on the frame times 0, ..., t_end
            extent=(-dx / 2, self.length - dx / 2, -dt / 2, self.t_end + dt / 2),
            interpolation="nearest",
        )
        ax.figure.colorbar(image, ax=ax, label="$u$")
        ax.set_xlabel("$x$")
        ax.set_ylabel("$t$")
        alpha, beta = np.asarray(problems.solution[index])
        return f"example trajectory, α={alpha:.3g}, β={beta:.3g}"
