"""Seismic full-waveform inversion (2D acoustic): recover a velocity model from shot gathers."""

from __future__ import annotations

import math
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jaxtyping import Array, Float, PRNGKeyArray

from lio.problems.base import ProblemSet
from lio.problems.imaging import acoustic, velocity_models
from lio.problems.imaging.base import ImageProblem

# An estimate is in the truth's basin when its relative L2 model error is below this: 5 % of
# velocity shifts a reflection from the model's bottom by ~5 % of its travel time, under half a
# period of the peak frequency for these models (health diagnostics only).
BASIN_RELATIVE_ERROR = 0.05
# FD time steps per recorded sample: the recording is decimated to ~6 samples per period of
# the peak frequency (the Ricker spectrum is negligible above ~3x its peak: Nyquist holds).
SAMPLES_PER_PEAK_PERIOD = 6
TIME_STEP_SAFETY = 0.8  # dt = 0.8 x the CFL limit at the box's top velocity
# The simulation clips velocities into [VELOCITY_FLOOR x min, VELOCITY_CEILING x max]: an
# optimiser's step outside the box then cannot break the CFL condition (1.2 x 0.8 < 1).
VELOCITY_FLOOR, VELOCITY_CEILING = 0.5, 1.2


class SeismicFWI(ImageProblem):
    """Recover a ``size x size`` velocity model ``xi`` (km/s, depth first) from its shot gathers.

    ``y = F(xi) + eps``: ``F`` runs the 2D constant-density acoustic wave equation
    (``lio.problems.imaging.acoustic``: finite differences, absorbing sponge on all four sides,
    so no free surface and no surface multiples) for ``num_sources`` Ricker sources (peak
    ``peak_frequency``, high-passed below ``lowest_frequency``) spread along the row below the
    surface, and records the pressure at ``num_receivers`` receivers on the same row for
    ``record_time`` seconds, decimated to ``SAMPLES_PER_PEAK_PERIOD`` samples per peak period.
    ``y`` is ``(time samples, receivers, sources)``: the shots are the channels. ``eps`` is
    Gaussian with standard deviation ``noise_level`` times the clean gathers' RMS. The model is
    square, ``extent`` km on a side. There is no known condition (``c = 0``).

    Why a grid, not a few layers plus an anomaly: a grid is what FWI estimates in practice, it
    has the image-sized unknown the imaging contract is for (L-BFGS, U-Nets, image metrics),
    and its loss keeps the non-convexity that matters (cycle skipping). The prior is random
    layered models with dipping interfaces (``velocity_models.random_layered``); the start is
    the prior's mean at each depth, a smooth 1-D gradient model (``velocity_models.smooth_start``).

    The loss is the MAP objective of ``ImageProblem`` (misfit plus ``reg_weight`` times TV or
    Tikhonov). Unlike CT and MRI the operator is nonlinear: a model whose travel times are off
    by more than half a period matches the wrong cycle (cycle skipping), which gives the loss
    the local minima the paper is about. The knobs are ``num_sources``, ``num_receivers`` and
    ``lowest_frequency``.
    """

    name: ClassVar[str] = "fwi"
    amount_parameter: ClassVar[str | None] = "num_receivers"
    amount_label: ClassVar[str] = "receivers"
    observation_channels: ClassVar[bool] = True

    # size, noise_level, regularizer, reg_weight, tv_smoothing: lio.problems.imaging.base.
    size: int = struct.field(pytree_node=False, default=32)
    extent: float = struct.field(pytree_node=False, default=1.6)
    num_layers: int = struct.field(pytree_node=False, default=4)
    min_velocity: float = struct.field(pytree_node=False, default=1.5)
    max_velocity: float = struct.field(pytree_node=False, default=4.5)
    num_sources: int = struct.field(pytree_node=False, default=4)
    num_receivers: int = struct.field(pytree_node=False, default=16)
    peak_frequency: float = struct.field(pytree_node=False, default=5.0)
    lowest_frequency: float = struct.field(pytree_node=False, default=0.0)
    record_time: float = struct.field(pytree_node=False, default=2.0)
    sponge_width: int = struct.field(pytree_node=False, default=20)
    # Best mean PSNR of L-BFGS (20.2 dB; start 12.3 dB, no regulariser 13.5 dB) on 8 calibration
    # problems (seed 1000), the quick geometry: benchmarks/results/fwi_regularization-cpu.json.
    reg_weight: float = struct.field(pytree_node=False, default=1e-4)
    # Derived arrays (pytree leaves, so no config parameters): built by __post_init__.
    wave: acoustic.AcousticWave | None = struct.field(pytree_node=True, default=None)
    start: Array | None = struct.field(pytree_node=True, default=None)

    def __post_init__(self):
        self.check_image_fields()
        checks = {
            "extent": self.extent > 0,
            "num_layers": self.num_layers >= 1,
            "min_velocity": 0 < self.min_velocity < self.max_velocity,
            "num_sources": 1 <= self.num_sources <= self.size,
            "num_receivers": 1 <= self.num_receivers <= self.size,
            "peak_frequency": self.peak_frequency > 0,
            "lowest_frequency": 0 <= self.lowest_frequency < self.peak_frequency,
            "record_time": self.record_time > 0,
            "sponge_width": self.sponge_width >= 1,
        }
        expected = {
            "extent": "> 0 km", "num_layers": ">= 1", "min_velocity": "in (0, max_velocity)",
            "num_sources": f"in 1..size ({self.size})", "num_receivers": f"in 1..size ({self.size})",
            "peak_frequency": "> 0 Hz", "lowest_frequency": "in [0, peak_frequency) Hz",
            "record_time": "> 0 s", "sponge_width": ">= 1 cell",
        }
        for field, ok in checks.items():
            if not ok:
                raise ValueError(
                    f"fwi: {field} must be {expected[field]}, got {getattr(self, field)}."
                )
        spacing = self.spacing
        wavelength = self.min_velocity / (2.5 * self.peak_frequency)
        if wavelength < 4 * spacing:
            raise ValueError(
                f"fwi: {wavelength / spacing:.1f} grid points per shortest wavelength "
                f"(min_velocity / (2.5 peak_frequency) = {wavelength:.3f} km, spacing "
                f"{spacing:.3f} km); expected >= 4, or the wave equation is too dispersive. "
                "Lower peak_frequency, or raise size for this extent."
            )
        if self.wave is None:
            object.__setattr__(self, "wave", self._make_wave())
        if self.start is None:
            object.__setattr__(self, "start", velocity_models.smooth_start(
                self.size, self.num_layers, self.min_velocity, self.max_velocity))

    @property
    def spacing(self) -> float:
        """Grid spacing in km."""
        return self.extent / self.size

    @property
    def record_every(self) -> int:
        """FD time steps per recorded sample."""
        return max(1, math.floor(1 / (SAMPLES_PER_PEAK_PERIOD * self.peak_frequency * self.dt)))

    @property
    def dt(self) -> float:
        return acoustic.stable_time_step(self.max_velocity, self.spacing, TIME_STEP_SAFETY)

    def _make_wave(self) -> acoustic.AcousticWave:
        dt = self.dt
        num_steps = math.ceil(self.record_time / dt)
        wavelet = acoustic.highpass(
            acoustic.ricker(num_steps, dt, self.peak_frequency), dt, self.lowest_frequency)
        return acoustic.AcousticWave.create(
            shape=(self.size, self.size), spacing=self.spacing, dt=dt, num_steps=num_steps,
            sources=_row_positions(self.size, self.num_sources),
            receivers=_row_positions(self.size, self.num_receivers),
            wavelet=np.asarray(wavelet), max_velocity=VELOCITY_CEILING * self.max_velocity,
            sponge_width=self.sponge_width,
        )

    def forward(self, solution: Float[Array, " d"], condition: Array) -> Array:
        velocity = jnp.clip(
            solution.reshape(self.solution_shape),
            VELOCITY_FLOOR * self.min_velocity, VELOCITY_CEILING * self.max_velocity,
        )
        gathers = self.wave(velocity)[:, :: self.record_every, :]
        return jnp.moveaxis(gathers, 0, -1)  # (time samples, receivers, sources)

    def observe(self, key: PRNGKeyArray, solution: Array, condition: Array) -> Array:
        clean = self.forward(solution, condition)
        sigma = self.noise_level * jnp.sqrt(jnp.mean(clean**2))
        return clean + sigma * jax.random.normal(key, clean.shape, clean.dtype)

    def sample_solution(self, key: PRNGKeyArray, n: int) -> tuple[Array, Array]:
        models = velocity_models.random_layered(
            key, n, self.size, self.num_layers, self.min_velocity, self.max_velocity
        ).astype(jnp.result_type(float))
        return models, jnp.zeros((n, 0), models.dtype)

    @property
    def bounds(self) -> tuple[Array, Array]:
        dtype = jnp.result_type(float)
        shape = (self.num_parameters,)
        return jnp.full(shape, self.min_velocity, dtype), jnp.full(shape, self.max_velocity, dtype)

    @property
    def prior_mean(self) -> Array:
        """The smooth 1-D start (the prior's mean at each depth): L-BFGS from a constant model
        cycle-skips."""
        return self.start.astype(jnp.result_type(float))

    def in_basin(self, solution: np.ndarray, truth: np.ndarray) -> np.ndarray:
        """Relative L2 model error at most ``BASIN_RELATIVE_ERROR`` (5 %)."""
        solution, truth = (np.asarray(a, float) for a in (solution, truth))
        error = np.linalg.norm(solution - truth, axis=-1) / np.linalg.norm(truth, axis=-1)
        return error <= BASIN_RELATIVE_ERROR

    def draw_example(self, ax, problems: ProblemSet, index: int, panel: str) -> str:
        """Panel (a): the true model, the smooth start and the middle shot's gather."""
        from skimage.transform import resize

        lower, upper = self.min_velocity, self.max_velocity
        truth = (np.asarray(problems.solution[index]).reshape(self.solution_shape) - lower)
        start = (np.asarray(self.prior_mean).reshape(self.solution_shape) - lower)
        gather = np.asarray(problems.observed[index])[..., self.num_sources // 2]
        clip = max(float(np.percentile(np.abs(gather), 99)), 1e-12)
        gather = resize(np.clip(gather / clip, -1, 1) / 2 + 0.5, self.solution_shape, order=1)
        strip = np.concatenate([truth / (upper - lower), start / (upper - lower), gather], axis=1)
        ax.imshow(strip, cmap="gray", vmin=0, vmax=1)
        for k, label in enumerate(("truth", "start", "shot gather")):
            ax.text((k + 0.5) * self.size, -1, label, ha="center", va="bottom", fontsize="small")
        ax.set_axis_off()
        return (f"FWI, {self.num_sources} shots, {self.num_receivers} receivers, "
                f"{self.peak_frequency:g} Hz")


def _row_positions(size: int, count: int) -> tuple[tuple[int, int], ...]:
    """``count`` positions spread evenly along row 1 (one cell below the model's top edge)."""
    columns = np.round((np.arange(count) + 0.5) * size / count - 0.5).astype(int)
    return tuple((1, int(column)) for column in columns)
