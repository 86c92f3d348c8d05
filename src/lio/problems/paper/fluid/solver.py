"""``FlowSolver``: time stepping of the flow on a ``MACGrid`` (advect, diffuse, project)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from lio.problems.paper.fluid.geometry import Field
from lio.problems.paper.fluid.grid import MACGrid


@dataclasses.dataclass(frozen=True)
class FlowSolver:
    """Time stepping on a ``MACGrid``: advect, diffuse, project, ``num_steps`` times.

    Attributes:
        grid: the grid and obstacles.
        dt: time step (time units).
        viscosity: kinematic viscosity nu (length^2 / time), explicit Euler; stable for
            ``nu dt / dx^2 < 1/4``.
        cg_rtol: CG stops when ``|r| <= tol |b|``, with ``tol = max(cg_rtol, 100 eps)`` of the
            working dtype (float32 CG stalls near its round-off, ~1e-5).
        cg_max_iterations: CG iteration cap per projection.
        checkpoint: rematerialise each step in the backward pass (memory for time).
        advection: ``"semi_lagrangian"`` or ``"maccormack"`` (see ``MACGrid.advect``).
        pressure_solver: ``"cg"`` or ``"dense"`` (see ``MACGrid.project``).
    """

    grid: MACGrid
    dt: float
    viscosity: float = 0.0
    cg_rtol: float = 1e-12
    cg_max_iterations: int = 500
    checkpoint: bool = False
    advection: str = "semi_lagrangian"
    pressure_solver: str = "cg"

    def tolerance(self, dtype) -> float:
        return max(self.cg_rtol, 100 * float(jnp.finfo(dtype).eps))

    def project(self, u: Field, v: Field, pressure: Field) -> tuple[Field, Field, Field]:
        return self.grid.project(
            u, v, pressure, self.pressure_solver, self.tolerance(u.dtype), self.cg_max_iterations
        )

    def step(self, state: tuple[Field, Field, Field]) -> tuple[Field, Field, Field]:
        """One time step: advect, then ``_diffuse_project``."""
        u, v, pressure = state
        u, v = self.grid.advect(u, v, self.dt, self.advection)
        return self._diffuse_project((u, v, pressure))

    def _diffuse_project(self, state: tuple[Field, Field, Field]) -> tuple[Field, Field, Field]:
        """The rest of a time step after advection: explicit viscosity and projection."""
        u, v, pressure = state
        if self.viscosity:
            du, dv = self.grid.laplacian(u, v)
            u, v = u + self.dt * self.viscosity * du, v + self.dt * self.viscosity * dv
        return self.project(u, v, pressure)

    def rollout(self, u: Field, v: Field, num_steps: int) -> tuple[Field, Field]:
        """Project ``(u, v)`` and take ``num_steps`` steps; returns the final velocity.

        The loop is rotated by one advection: it carries the advected fields, and its body
        diffuses, projects and advects for the next step (the same operations in the same
        order as ``num_steps`` calls of ``step``). A loop carry is stored once. Advected fields
        consumed within the body are not: XLA's CPU backend fuses the gathers that compute
        them into each of the viscosity's and divergence's shifted reads, and recomputes them
        there (fluid, n = 128, one thread: rollout gradient 0.65 s -> 0.39 s;
        benchmarks/results/navier_stokes_parts-cpu-rotated.json).
        """
        u, v, pressure = self.project(u, v, jnp.zeros_like(u))
        if num_steps == 0:
            return u, v

        def body(state, _):
            u, v, pressure = self._diffuse_project(state)
            return (*self.grid.advect(u, v, self.dt, self.advection), pressure), None

        body = jax.checkpoint(body) if self.checkpoint else body
        advected = (*self.grid.advect(u, v, self.dt, self.advection), pressure)
        advected, _ = jax.lax.scan(body, advected, None, length=num_steps - 1)
        u, v, _ = self._diffuse_project(advected)
        return u, v
