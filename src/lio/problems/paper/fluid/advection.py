"""Self-advection of the velocity on a MAC grid: semi-Lagrangian or MacCormack back-traces.

Each face takes the velocity found one explicit-Euler back-trace upstream, by bilinear
interpolation of the staggered components (``Advection.advect``). Reverse mode recomputes the
step and, in vmapped batches whose back-traces stay within a cell, sums shifted copies of the
cotangents instead of scatter-adding them (``_bilinear``): the same numbers, and half the CPU
gradient time of a vmapped rollout (n = 128; benchmarks/navier_stokes_parts.py).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jaxtyping import Array

from lio.problems.paper.fluid.geometry import Field, GridGeometry

# Advection's back-trace differentiates its bilinear interpolation by summing shifted copies of
# the cotangents when every corner lies within this many cells of its face (row and column
# offsets of the lower corner in [-r, r - 1]), by the scatter-add otherwise (see _bilinear).
# 1: displacements |u| dt / dx < 1, the CFL bound the configured fluid keeps (9 copies; the
# 25 copies of r = 2 cost more than the scatter on the 2-core CPU, measured).
ADVECTION_STENCIL = 1
# The shifted copies pay off in a vmapped batch of at least this many examples: measured on one
# CPU thread (28-step rollout gradient, 32^2), advection took 13.0 ms against the scatter's 10.9
# at 4 examples, 28 against 67 ms at 16, 0.24 against 0.44 s at 128; unbatched (scipy's loop)
# and batches of 1 (BFGS with batch_size 1) keep the scatter.
SHIFTED_MIN_BATCH = 8


@jax.custom_batching.custom_vmap
def _use_shifted(inside: Array) -> Array:
    """Whether ``_bilinear``'s reverse mode takes the shifted copies: never unbatched (one
    example's four small scatters are cheaper); under ``vmap`` of at least
    ``SHIFTED_MIN_BATCH`` examples, the AND of ``inside`` over the batch, unbatched. An
    unbatched predicate keeps the ``lax.cond`` between the two a real branch in a vmapped
    rollout (a batched one turns a cond into a select that runs both branches)."""
    return jnp.logical_and(inside, False)


@_use_shifted.def_vmap
def _use_shifted_vmap(axis_size: int, in_batched: list[bool], inside: Array):
    everywhere = jnp.all(inside) if in_batched[0] else inside
    return jnp.logical_and(everywhere, axis_size >= SHIFTED_MIN_BATCH), False


class Advection(GridGeometry):
    """Advection and velocity sampling on a ``GridGeometry`` (a part of ``MACGrid``)."""

    def _sample(
        self, field: Field, ix: Array, iy: Array, bounds: bool = False, stencil: int = 0
    ):
        """Bilinear interpolation of ``field`` at fractional indices (column ix, row iy):
        wrapped in a periodic box, clamped to the stored range otherwise. With ``bounds``
        also the min and max of the four values interpolated between. One flat gather per
        corner (on CPU about 5x faster than 2D indexing under vmap).

        ``stencil = r > 0``, for one point per grid position ``[j, i]`` (a back-trace) and
        without ``bounds``: the same value, whose reverse mode sums the cotangents into the
        field from ``(2 r + 1)^2`` shifted copies instead of scattering them (see
        ``_bilinear``).
        """
        rows, cols = field.shape
        x0, y0 = jnp.floor(ix), jnp.floor(iy)
        if not self.periodic:
            ix, iy = jnp.clip(ix, 0, cols - 1), jnp.clip(iy, 0, rows - 1)
            x0, y0 = jnp.clip(jnp.floor(ix), 0, cols - 2), jnp.clip(jnp.floor(iy), 0, rows - 2)
        fx, fy = ix - x0, iy - y0
        x0, y0 = x0.astype(jnp.int32), y0.astype(jnp.int32)
        if stencil > 0 and ix.ndim == 2 and not bounds:
            return _bilinear(self.periodic, stencil, field, x0, y0, fx, fy)
        corners = _gathered_corners(self.periodic, field, x0, y0)
        value = _interpolate(corners, fx, fy)
        if not bounds:
            return value
        stacked = jnp.stack(corners)
        return value, stacked.min(axis=0), stacked.max(axis=0)

    def _padded(self, u: Field, v: Field) -> tuple[Field, Field]:
        """In a closed box, append the unstored right/top wall faces (velocity 0)."""
        if self.periodic:
            return u, v
        return (
            jnp.concatenate([u, jnp.zeros_like(u[:, :1])], axis=1),
            jnp.concatenate([v, jnp.zeros_like(v[:1, :])], axis=0),
        )

    def _sample_component(
        self, padded: Field, component: int, x, y, bounds: bool = False, stencil: int = 0
    ):
        """Velocity component 0 (u) or 1 (v), given padded, at points ``(x, y)`` (``stencil``:
        see ``_sample``)."""
        shift_x, shift_y = (0.0, 0.5) if component == 0 else (0.5, 0.0)
        return self._sample(padded, x / self.dx - shift_x, y / self.dx - shift_y, bounds, stencil)

    def sample_velocity(self, u: Field, v: Field, x: Array, y: Array) -> tuple[Array, Array]:
        """Velocity at arbitrary points (bilinear on each staggered component)."""
        u, v = self._padded(u, v)
        return self._sample_component(u, 0, x, y), self._sample_component(v, 1, x, y)

    def face_velocities(self, u: Field, v: Field) -> tuple[tuple[Field, Field], ...]:
        """The full velocity vector on the u faces and on the v faces: the other component is
        the mean of its four nearest faces (the bilinear value there; wall faces count 0)."""
        v_at_u = (v + jnp.roll(v, 1, 1) + jnp.roll(v, -1, 0) + jnp.roll(v, (-1, 1), (0, 1))) / 4
        u_at_v = (u + jnp.roll(u, -1, 1) + jnp.roll(u, 1, 0) + jnp.roll(u, (1, -1), (0, 1))) / 4
        return (u, v_at_u), (u_at_v, v)

    def advect(
        self,
        u: Field,
        v: Field,
        dt: float,
        scheme: str = "semi_lagrangian",
        stencil: int = ADVECTION_STENCIL,
    ) -> tuple[Field, Field]:
        """Self-advection of the velocity; closed faces stay 0.

        ``semi_lagrangian``: each face takes the velocity found one explicit-Euler back-trace
        ``dt * u`` upstream (first order; numerical diffusion ~ |u| dx / 2).
        ``maccormack``: that result corrected by half the error of tracing it forward again
        (second order, Selle et al. 2008), clamped to the four values it interpolated between
        so that no new extrema appear.

        Reverse mode, for speed on CPU (the same values, the same gradients to round-off):
        the step is rematerialised (``jax.checkpoint``): its forward pass is cheap, and
        recomputing it saves storing ~40 arrays per step for the backward pass. And with
        ``stencil = r > 0`` the back-traces' cotangents reach the field as a sum of shifted
        copies instead of a scatter-add, in a vmapped batch of at least ``SHIFTED_MIN_BATCH``
        examples whose back-traces all stay within ``r`` cells (see ``_bilinear``; 0: always
        scatter).
        """
        if scheme not in ("semi_lagrangian", "maccormack"):
            raise ValueError(
                f"advection scheme {scheme!r}; expected 'semi_lagrangian' or 'maccormack'."
            )
        # prevent_cse=False: in a scan (the rollout) no CSE can undo the remat, and outside one
        # a merged recomputation only costs the memory the remat would have saved.
        advect = functools.partial(self._advect, dt=dt, scheme=scheme, stencil=stencil)
        return jax.checkpoint(advect, prevent_cse=False)(u, v)

    def _advect(
        self, u: Field, v: Field, dt: float, scheme: str, stencil: int
    ) -> tuple[Field, Field]:
        padded = self._padded(u, v)
        advected = []
        for component, (x, y), (velocity_x, velocity_y) in zip(
            (0, 1), (self.u_positions(), self.v_positions()), self.face_velocities(u, v)
        ):
            x, y = jnp.asarray(x, u.dtype), jnp.asarray(y, u.dtype)
            departure = (x - dt * velocity_x, y - dt * velocity_y)
            if scheme == "semi_lagrangian":
                value = self._sample_component(
                    padded[component], component, *departure, stencil=stencil
                )
            else:
                value, low, high = self._sample_component(
                    padded[component], component, *departure, bounds=True, stencil=stencil
                )
                forward = jnp.where(self.open_faces[component], value, 0)
                forward = self._padded(forward, forward)[component]
                back = self._sample_component(
                    forward, component, x + dt * velocity_x, y + dt * velocity_y, stencil=stencil
                )
                value = jnp.clip(value + ((u, v)[component] - back) / 2, low, high)
            advected.append(value)
        return self.mask(*advected)


def _gathered_corners(periodic: bool, field: Field, x0: Array, y0: Array) -> tuple[Array, ...]:
    """``field`` at ``(y0, x0), (y0, x0 + 1), (y0 + 1, x0), (y0 + 1, x0 + 1)`` (indices
    wrapped in a periodic box; in range otherwise), by one flat gather per corner."""
    rows, cols = field.shape
    x1, y1 = x0 + 1, y0 + 1
    if periodic:
        x0, y0, x1, y1 = x0 % cols, y0 % rows, x1 % cols, y1 % rows
    flat = field.reshape(-1)
    return flat[y0 * cols + x0], flat[y0 * cols + x1], flat[y1 * cols + x0], flat[y1 * cols + x1]


def _interpolate(corners: tuple[Array, ...], fx: Array, fy: Array) -> Array:
    """Bilinear: along x in the lower and the upper row, then along y."""
    return (1 - fy) * ((1 - fx) * corners[0] + fx * corners[1]) + fy * (
        (1 - fx) * corners[2] + fx * corners[3]
    )


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def _bilinear(
    periodic: bool, radius: int, field: Field, x0: Array, y0: Array, fx: Array, fy: Array
) -> Array:
    """``_interpolate`` of the gathered corners (lower corner ``(y0, x0)``, one point per grid
    position ``[j, i]`` of ``x0``), with a hand-written reverse mode. The cotangent of the
    field is the transpose of the gather, a scatter-add, which is slow on CPU XLA in large
    batches. In a vmapped batch of at least ``SHIFTED_MIN_BATCH`` examples where every lower
    corner lies within ``radius`` cells of its point (offsets ``(y0 - j, x0 - i)`` in
    ``[-radius, radius - 1]``) in every member, it is instead a sum of ``(2 radius + 1)^2``
    shifted copies of the cotangents times their bilinear weights: the same terms summed in
    another order (round-off). Otherwise the scatter runs, so every displacement is handled
    exactly; only the speed depends on ``radius``. The forward pass is the gather either way
    (fast on CPU).
    """
    return _interpolate(_gathered_corners(periodic, field, x0, y0), fx, fy)


def _bilinear_fwd(periodic, radius, field, x0, y0, fx, fy):
    corners = _gathered_corners(periodic, field, x0, y0)
    # An empty array carries the field's shape (residuals must be arrays).
    shape = jnp.zeros((*field.shape, 0), field.dtype)
    return _interpolate(corners, fx, fy), (corners, x0, y0, fx, fy, shape)


def _bilinear_bwd(periodic, radius, residuals, cotangent):
    corners, x0, y0, fx, fy, shape = residuals
    shape = shape.shape[:2]
    c00, c01, c10, c11 = corners
    fx_bar = cotangent * ((1 - fy) * (c01 - c00) + fy * (c11 - c10))
    fy_bar = cotangent * (((1 - fx) * c10 + fx * c11) - ((1 - fx) * c00 + fx * c01))
    lower, upper = cotangent * (1 - fy), cotangent * fy
    offset_x = x0 - jnp.arange(x0.shape[1], dtype=x0.dtype)
    offset_y = y0 - jnp.arange(x0.shape[0], dtype=y0.dtype)[:, None]

    def scattered() -> Field:
        rows, cols = shape
        x1, y1 = x0 + 1, y0 + 1
        xs, ys = (x0 % cols, x1 % cols), (y0 % rows, y1 % rows)  # a no-op when closed
        flat = jnp.zeros(rows * cols, cotangent.dtype)
        for (y, weight_y) in zip(ys, (lower, upper)):
            for (x, weight_x) in zip(xs, (1 - fx, fx)):
                flat = flat.at[y * cols + x].add(weight_y * weight_x)
        return flat.reshape(shape)

    def shifted() -> Field:
        rows, cols = shape
        ny, nx = x0.shape
        # The weight of field[j + a, i + b] for the point [j, i], per row and per column offset.
        weight_x = [
            jnp.where(offset_x == b, 1 - fx, 0) + jnp.where(offset_x == b - 1, fx, 0)
            for b in range(-radius, radius + 1)
        ]
        weight_y = [
            jnp.where(offset_y == a, lower, 0) + jnp.where(offset_y == a - 1, upper, 0)
            for a in range(-radius, radius + 1)
        ]
        total = jnp.zeros(shape, cotangent.dtype)
        for a, wy in zip(range(-radius, radius + 1), weight_y):
            for b, wx in zip(range(-radius, radius + 1), weight_x):
                # Padded to the field's shape, then rolled: in a closed box the clamped corners
                # stay inside the field, so nothing with a weight wraps around.
                weight = jnp.pad(wy * wx, ((0, rows - ny), (0, cols - nx)))
                total = total + jnp.roll(weight, (a, b), axis=(0, 1))
        return total

    inside = jnp.all(
        (offset_x >= -radius) & (offset_x < radius) & (offset_y >= -radius) & (offset_y < radius)
    )
    field_bar = jax.lax.cond(_use_shifted(inside), shifted, scattered)
    return field_bar, None, None, fx_bar, fy_bar


_bilinear.defvjp(_bilinear_fwd, _bilinear_bwd)
