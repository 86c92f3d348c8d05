"""Incompressible Navier–Stokes (paper §4.4): find a force from a half-observed flow."""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
from flax import struct
from jaxtyping import Array, Float, PRNGKeyArray

from lio.problems.base import Problem, ProblemSet
from lio.problems.paper.fluid import DENSE_MAX_RESOLUTION, FlowSolver, MACGrid


def _as_tuples(value) -> tuple:
    """YAML lists of lists -> a tuple of float tuples (static fields must be hashable)."""
    return tuple(tuple(float(x) for x in item) for item in value)


class NavierStokes(Problem):
    """Locate and size a localised force from the initial and final flow in the upper half.

    ``du/dt = nu lap u - (u . grad) u - grad p``, ``div u = 0`` in the square ``[0, size]^2``
    with solid obstacles and free-slip walls (or a periodic box). At ``t = 0`` a random
    divergence-free velocity fills the domain and a force adds the Gaussian blob
    ``v0 exp(-|x - (x0, force_y)|^2 / (2 force_radius^2))`` of velocity; the flow is simulated
    to ``t = duration``. Unknowns: the force position ``x0`` (length units) and velocity
    ``v0 = (vx, vy)`` (length / time). Observation: the initial (before the force) and final
    velocity of the upper half (rows ``y >= size / 2``) as an ``(resolution / 2, resolution, 4)``
    image, channels ``[u_initial, v_initial, u_final, v_final]``, each the MAC face value (u on
    a cell's left face, v on its bottom face). The known condition is the observed initial
    velocity (channels 0-1, flattened); the initial velocity of the lower half is hidden from
    every method. ``forward`` simulates a candidate force from the known upper half with the
    lower half set to zero (the random field's prior mean) and projected, so even the true
    force leaves a non-zero loss; its channels 0-1 are the condition itself and add nothing to
    the loss.

    Fields (lengths and times in the paper's units, domain 100 x 100, t = 56):
        resolution: cells per side (even: the upper half is whole rows). size: domain side.
        observed_fraction: the share of the rows observed, from the top (the paper: the upper
        half, 0.5); the observation-amount axis's knob (issue 20).
        duration, dt: simulated time and step (``duration / dt`` steps). viscosity: nu.
        periodic: periodic box instead of free-slip walls. boxes ``(x_low, y_low, x_high,
        y_high)`` and circles ``(x, y, radius)``: the static obstacles. initial_speed,
        initial_length: RMS speed and correlation length of the random initial velocity.
        force_y, force_radius: height and Gaussian width of the force blob. x0_range,
        velocity_low, velocity_high: the uniform priors (and the networks' box).
        advection: ``semi_lagrangian`` | ``maccormack``. pressure_solver: ``dense`` | ``cg``.
        cg_rtol, cg_max_iterations: CG's stop. checkpoint: rematerialise steps in reverse mode.

    Notes:
        Staggered MAC grid (``lio.problems.paper.fluid``): semi-Lagrangian advection (explicit Euler
        back-trace, bilinear), explicit viscosity, and a pressure projection. The projection's
        SPD system is solved by a product with its precomputed dense inverse (``dense``, exact,
        the gradient is the transposed product) or matrix-free by ``jax.scipy.sparse.linalg.cg``
        (``cg``; implicit gradient through ``lax.custom_linear_solve``, relative tolerance
        ``max(cg_rtol, 100 eps)``: 1e-12 in float64, 1.2e-5 in float32). Both give the same
        flow; ``dense`` is 40-80x faster on a GPU (~200 CG iterations per projection at 32^2).
        The blob is projected into a slowly rising vortex pair, pushed around by the random
        background flow and the obstacles; its pressure and flow reach the upper half. The loss
        is smooth but not convex in ``x0`` (a local minimum on the far side of the prior mean
        for some problems), and the hidden lower half biases every fit: BFGS typically ends
        below the truth's loss. Obstacles are rasterised (a cell is solid when its centre is
        inside), so their shape depends on the resolution. The forward model runs in the dtype
        of its inputs.

    Good values:
        ``size = 100``, ``duration = 56`` (paper). ``resolution = 32``, ``dt = 2`` (28 steps):
        dx = 3.1, the blob spans ~6 cells; 6 ms per Adam step of a conv network through the
        simulation at n = 128 on an H100 (64^2 costs 12 ms and changes no loss ratio).
        ``viscosity = 0.1``: sqrt(nu t) ~ 2.4 at t = 56, so small eddies decay (semi-Lagrangian
        diffusion ~ |u| dx / 2 adds as much). Random background: RMS 0.2, correlation length
        10. Force: ``force_y = 20``, ``force_radius = 10``, ``x0 ~ U(20, 80)``,
        ``vx ~ U(-1, 1)``, ``vy ~ U(1, 3)``: the force's signal in the observation (mean 4.3)
        is ~8x the loss the hidden half leaves at the truth (0.5); BFGS from the prior mean
        ends ~60% below the truth's loss and half its fits leave the prior box, explaining the
        hidden flow with implausible forces. ``initial_speed = 0.1`` is the better-posed
        alternative: signal ~35x the truth's loss, BFGS ~20% below it, 5 of 8 fits in the box.
        Obstacles: a box in the hidden half in the plume's way, a disc and a box in the
        observed half. CI: ``resolution = 16``, ``dt = 4`` (14 steps).

    Reference:
        Holl & Thuerey, "Can Neural Networks Improve Classical Optimization of Inverse
        Problems?", §4.4 (simulated there with PhiFlow).
    """

    name: ClassVar[str] = "navier_stokes"
    parameter_names: ClassVar[tuple[str, ...]] = ("x0", "vx", "vy")
    observation_channels: ClassVar[bool] = True
    example_panels: ClassVar[tuple[str, ...]] = ("a", "b")
    panel_captions: ClassVar[dict[str, str]] = {
        "a": "the initial velocity of an example problem (upper half: the data; lower half, dimmed: "
             "the model at the true force, marked red)",
        "b": "its final velocity, the same way",
    }
    amount_parameter: ClassVar[str | None] = "observed_fraction"
    amount_label: ClassVar[str] = "share of the domain's rows observed"

    resolution: int = struct.field(pytree_node=False, default=32)
    size: float = struct.field(pytree_node=False, default=100.0)
    duration: float = struct.field(pytree_node=False, default=56.0)
    dt: float = struct.field(pytree_node=False, default=2.0)
    viscosity: float = struct.field(pytree_node=False, default=0.1)
    periodic: bool = struct.field(pytree_node=False, default=False)
    boxes: tuple[tuple[float, float, float, float], ...] = struct.field(
        pytree_node=False, default=((15.0, 38.0, 35.0, 46.0), (62.0, 60.0, 72.0, 78.0))
    )
    circles: tuple[tuple[float, float, float], ...] = struct.field(
        pytree_node=False, default=((45.0, 68.0, 7.0),)
    )
    initial_speed: float = struct.field(pytree_node=False, default=0.2)
    initial_length: float = struct.field(pytree_node=False, default=10.0)
    force_y: float = struct.field(pytree_node=False, default=20.0)
    force_radius: float = struct.field(pytree_node=False, default=10.0)
    x0_range: tuple[float, float] = struct.field(pytree_node=False, default=(20.0, 80.0))
    velocity_low: tuple[float, float] = struct.field(pytree_node=False, default=(-1.0, 1.0))
    velocity_high: tuple[float, float] = struct.field(pytree_node=False, default=(1.0, 3.0))
    cg_rtol: float = struct.field(pytree_node=False, default=1e-12)
    cg_max_iterations: int = struct.field(pytree_node=False, default=500)
    checkpoint: bool = struct.field(pytree_node=False, default=False)
    advection: str = struct.field(pytree_node=False, default="semi_lagrangian")
    pressure_solver: str = struct.field(pytree_node=False, default="dense")
    observed_fraction: float = struct.field(pytree_node=False, default=0.5)

    def __post_init__(self):
        object.__setattr__(self, "boxes", _as_tuples(self.boxes))
        object.__setattr__(self, "circles", _as_tuples(self.circles))
        if self.resolution < 8 or self.resolution % 2:
            raise ValueError(
                f"navier_stokes: resolution must be an even number >= 8 (the upper half is "
                f"observed), got {self.resolution}."
            )
        for field in ("size", "duration", "dt", "initial_length", "force_radius", "cg_rtol"):
            if not getattr(self, field) > 0:
                raise ValueError(f"navier_stokes: {field} must be > 0, got {getattr(self, field)}.")
        for field in ("viscosity", "initial_speed"):
            if getattr(self, field) < 0:
                raise ValueError(
                    f"navier_stokes: {field} must be >= 0, got {getattr(self, field)}."
                )
        steps = self.duration / self.dt
        if abs(steps - round(steps)) > 1e-9:
            raise ValueError(
                f"navier_stokes: duration={self.duration} is not a whole number of steps of "
                f"dt={self.dt}; choose dt dividing the duration (e.g. {self.duration / 28:g})."
            )
        dx = self.size / self.resolution
        if self.viscosity * self.dt / dx**2 >= 0.25:
            raise ValueError(
                f"navier_stokes: explicit viscosity is unstable: nu dt / dx^2 = "
                f"{self.viscosity * self.dt / dx**2:.3g}, expected < 0.25; lower viscosity or dt, "
                "or coarsen the grid."
            )
        lower = (self.x0_range[0], *self.velocity_low)
        upper = (self.x0_range[1], *self.velocity_high)
        for name, low, high in zip(self.parameter_names, lower, upper):
            if not low < high:
                raise ValueError(
                    f"navier_stokes: the {name} prior ({low}, {high}) must be an increasing "
                    "interval; check x0_range, velocity_low and velocity_high."
                )
        if not (0 <= self.x0_range[0] and self.x0_range[1] <= self.size):
            raise ValueError(
                f"navier_stokes: x0_range={tuple(self.x0_range)} must lie inside [0, {self.size}]."
            )
        if self.advection not in ("semi_lagrangian", "maccormack"):
            raise ValueError(
                f"navier_stokes: advection={self.advection!r}; expected 'semi_lagrangian' or "
                "'maccormack'."
            )
        if self.pressure_solver not in ("dense", "cg"):
            raise ValueError(
                f"navier_stokes: pressure_solver={self.pressure_solver!r}; expected 'dense' "
                "or 'cg'."
            )
        if self.pressure_solver == "dense" and self.resolution > DENSE_MAX_RESOLUTION:
            raise ValueError(
                f"navier_stokes: pressure_solver='dense' needs resolution <= "
                f"{DENSE_MAX_RESOLUTION} (a resolution^2 x resolution^2 inverse), got "
                f"{self.resolution}; use pressure_solver='cg'."
            )
        rows = self.resolution * self.observed_fraction
        if not 0 < self.observed_fraction < 1 or abs(rows - round(rows)) > 1e-9:
            raise ValueError(
                f"navier_stokes: observed_fraction={self.observed_fraction} must be in (0, 1) and "
                f"observe whole rows of the {self.resolution}-cell grid (resolution x fraction an "
                f"integer: a multiple of 1/{self.resolution}); the paper observes the upper half, 0.5."
            )
        if not 0 < self.force_y < self.hidden_height:
            raise ValueError(
                f"navier_stokes: force_y={self.force_y} must lie in the hidden lower part "
                f"(0, {self.hidden_height:g}) (observed_fraction={self.observed_fraction})."
            )

    # -- simulator ----------------------------------------------------------------------------
    @property
    def grid(self) -> MACGrid:
        return MACGrid(self.resolution, self.size, self.periodic, self.boxes, self.circles)

    @property
    def solver(self) -> FlowSolver:
        return FlowSolver(
            self.grid, self.dt, self.viscosity, self.cg_rtol, self.cg_max_iterations,
            self.checkpoint, self.advection, self.pressure_solver,
        )

    @property
    def num_steps(self) -> int:
        return round(self.duration / self.dt)

    @property
    def first_observed_row(self) -> int:
        """The lowest observed row: the top ``observed_fraction`` of the rows are observed."""
        return self.resolution - round(self.resolution * self.observed_fraction)

    @property
    def hidden_height(self) -> float:
        """The height ``y`` below which the flow is hidden (``size / 2`` in the paper)."""
        return self.size * self.first_observed_row / self.resolution

    @property
    def observed_rows(self) -> slice:
        """Observed rows: cell centres and v faces at ``y >= hidden_height``."""
        return slice(self.first_observed_row, None)

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        return (self.resolution - self.first_observed_row, self.resolution, 4)

    def force(self, solution: Float[Array, " 3"]) -> tuple[Array, Array]:
        """The velocity blob added at t = 0, on the u and v faces (closed faces zeroed)."""
        x0, vx, vy = solution
        grid, dtype = self.grid, solution.dtype
        blobs = []
        for x, y in (grid.u_positions(), grid.v_positions()):
            x, y = jnp.asarray(x, dtype), jnp.asarray(y, dtype)
            distance2 = (x - x0) ** 2 + (y - self.force_y) ** 2
            blobs.append(jnp.exp(-distance2 / (2 * self.force_radius**2)))
        return grid.mask(vx * blobs[0], vy * blobs[1])

    def simulate(self, solution: Array, u0: Array, v0: Array) -> tuple[Array, Array]:
        """Final velocity at ``t = duration`` from initial ``(u0, v0)`` plus the force."""
        du, dv = self.force(solution)
        return self.solver.rollout(u0 + du, v0 + dv, self.num_steps)

    def upper_half(self, u: Array, v: Array) -> Float[Array, "h w 2"]:
        return jnp.stack([u[self.observed_rows], v[self.observed_rows]], axis=-1)

    def fill(self, condition: Float[Array, " c"]) -> tuple[Array, Array]:
        """The full initial velocity a method can assume: known upper half, zero lower half,
        projected onto divergence-free fields."""
        upper = condition.reshape(*self.observation_shape[:2], 2)
        u, v = (
            jnp.zeros((self.resolution, self.resolution), condition.dtype)
            .at[self.observed_rows].set(upper[..., k])
            for k in range(2)
        )
        u, v, _ = self.solver.project(u, v, jnp.zeros_like(u))
        return u, v

    def forward(
        self, solution: Float[Array, " 3"], condition: Float[Array, " c"]
    ) -> Float[Array, "h w 4"]:
        # Jitted once per problem, shape and dtype (eager calls would retrace the scan).
        return _forward(self, solution, condition)

    def _forward(self, solution: Array, condition: Array) -> Array:
        dtype = jnp.result_type(solution, condition)
        solution, condition = solution.astype(dtype), condition.astype(dtype)
        final = self.simulate(solution, *self.fill(condition))
        known = condition.reshape(*self.observation_shape[:2], 2)
        return jnp.concatenate([known, self.upper_half(*final)], axis=-1)

    # -- sampling -----------------------------------------------------------------------------
    def random_velocity(self, key: PRNGKeyArray) -> tuple[Array, Array]:
        """A divergence-free random field: the discrete curl of a Gaussian-filtered white-noise
        stream function on the cell corners, masked, projected, scaled to RMS
        ``initial_speed``."""
        dtype = jnp.result_type(float)
        n, dx = self.resolution, self.size / self.resolution
        noise = jax.random.normal(key, (n, n), dtype)
        k = 2 * jnp.pi * jnp.fft.fftfreq(n, d=dx).astype(dtype)
        filter_ = jnp.exp(-(k[:, None] ** 2 + k[None, :] ** 2) * self.initial_length**2 / 2)
        stream = jnp.fft.ifft2(jnp.fft.fft2(noise) * filter_).real.astype(dtype)
        u = (jnp.roll(stream, -1, axis=0) - stream) / dx
        v = -(jnp.roll(stream, -1, axis=1) - stream) / dx
        u, v, _ = self.solver.project(u, v, jnp.zeros_like(u))
        rms = jnp.sqrt(jnp.mean(u**2) + jnp.mean(v**2))
        scale = self.initial_speed / jnp.where(rms > 0, rms, 1.0)
        return scale * u, scale * v

    def _draw(self, key: PRNGKeyArray, n: int) -> tuple[Array, Array, Array]:
        """Truth (n, 3) and the full initial velocities (n, res, res) x 2."""
        key_solution, key_field = jax.random.split(key)
        lower, upper = self.bounds
        solution = jax.random.uniform(key_solution, (n, 3), lower.dtype, lower, upper)
        u0, v0 = jax.vmap(self.random_velocity)(jax.random.split(key_field, n))
        return solution, u0, v0

    def _condition(self, u0: Array, v0: Array) -> Array:
        return jax.vmap(self.upper_half)(u0, v0).reshape(u0.shape[0], -1)

    def sample_solution(self, key: PRNGKeyArray, n: int) -> tuple[Array, Array]:
        solution, u0, v0 = _draw(self, key, n)
        return solution, self._condition(u0, v0)

    def sample(self, key: PRNGKeyArray, n: int) -> ProblemSet:
        """The truth is simulated from the FULL initial field; methods see only its upper half."""
        return _sample(self, key, n)

    @property
    def bounds(self) -> tuple[Array, Array]:
        dtype = jnp.result_type(float)
        lower = jnp.asarray((self.x0_range[0], *self.velocity_low), dtype)
        upper = jnp.asarray((self.x0_range[1], *self.velocity_high), dtype)
        return lower, upper

    # -- figure panels (a), (b) ----------------------------------------------------------------
    def _model_fields(self, solution: Array, condition: Array):
        """The forward model's full initial (force included, projected) and final velocity."""
        u0, v0 = self.fill(condition)
        du, dv = self.force(solution)
        initial = self.solver.project(u0 + du, v0 + dv, jnp.zeros_like(u0))[:2]
        return initial, self.simulate(solution, u0, v0)

    def draw_example(self, ax, problems: ProblemSet, index: int, panel: str) -> str:
        """Panel (a) the initial, (b) the final velocity: speed image and arrows. The observed
        upper half shows the data; the hidden lower half (dimmed) shows the forward model at
        the true force, whose initial lower half is zero plus the force blob. Obstacles grey,
        the force marked with a circle of radius ``force_radius`` and its velocity arrow."""
        import matplotlib.patches as patches
        import numpy as np

        solution = problems.solution[index]
        observed = np.asarray(problems.observed[index])
        grid, half = self.grid, self.first_observed_row
        initial, final = _model_fields(self, solution, problems.condition[index])
        if panel == "a":
            model, channels, title = initial, (0, 1), "initial velocity"
        else:
            model, channels, title = final, (2, 3), f"final velocity, t = {self.duration:g}"
        u, v = (np.array(c) for c in model)
        u[half:], v[half:] = observed[..., channels[0]], observed[..., channels[1]]
        uc, vc = (np.asarray(c) for c in grid.centred(jnp.asarray(u), jnp.asarray(v)))
        speed = np.where(grid.fluid, np.hypot(uc, vc), np.nan)
        extent = (0, self.size, 0, self.size)
        image = ax.imshow(speed, origin="lower", extent=extent, cmap="viridis", interpolation="nearest")
        ax.figure.colorbar(image, ax=ax, label="speed $|u|$", fraction=0.046, pad=0.04)
        x, y = grid.centres()
        step = max(1, self.resolution // 16)
        pick = (slice(None, None, step), slice(None, None, step))
        ax.quiver(x[pick], y[pick], uc[pick], vc[pick], color="white", width=0.004)
        hidden = self.hidden_height
        ax.add_patch(patches.Rectangle((0, 0), self.size, hidden, color="white", alpha=0.45, lw=0))
        ax.axhline(hidden, color="k", lw=0.8, ls="--")
        label = {"fontsize": "small", "color": "white", "bbox": {"facecolor": "black", "alpha": 0.6, "lw": 0, "pad": 1}}
        ax.text(2, hidden + 3, "observed", va="bottom", **label)
        ax.text(2, hidden - 3, "hidden (model)", va="top", **label)
        solid = np.where(grid.fluid, np.nan, 1.0)
        ax.imshow(solid, origin="lower", extent=extent, cmap="Greys", vmin=0, vmax=1.5)
        x0, vx, vy = (float(s) for s in solution)
        red = "#d62728"
        ax.add_patch(patches.Circle((x0, self.force_y), self.force_radius, fill=False, ec=red))
        ax.arrow(x0, self.force_y, 8 * vx, 8 * vy, color=red, width=0.6, length_includes_head=True)
        ax.set_xlim(0, self.size)
        ax.set_ylim(0, self.size)
        ax.set_aspect("equal")
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        return title


_forward = jax.jit(NavierStokes._forward)
_model_fields = jax.jit(NavierStokes._model_fields)
_draw = jax.jit(NavierStokes._draw, static_argnums=2)


@jax.jit
def _observations(problem: NavierStokes, solution: Array, u0: Array, v0: Array) -> Array:
    def one(solution, u0, v0):
        return jnp.concatenate(
            [problem.upper_half(u0, v0), problem.upper_half(*problem.simulate(solution, u0, v0))],
            axis=-1,
        )

    return jax.vmap(one)(solution, u0, v0)


def _sample(problem: NavierStokes, key: PRNGKeyArray, n: int) -> ProblemSet:
    solution, u0, v0 = _draw(problem, key, n)
    return ProblemSet(
        solution=solution,
        condition=problem._condition(u0, v0),
        observed=_observations(problem, solution, u0, v0),
    )
