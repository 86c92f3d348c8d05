"""A small differentiable 2D incompressible flow solver on a staggered (MAC) grid.

Generic pieces used by :mod:`lio.problems.paper.navier_stokes`: a square grid of ``resolution``
cells over ``[0, size]^2`` with static solid obstacles, closed (free-slip) or periodic
boundaries, semi-Lagrangian (or MacCormack) advection, explicit viscosity, and a pressure
projection solved by a precomputed dense inverse or matrix-free by conjugate gradients; both
differentiate through the linear solve (no unrolled iterations in reverse mode). Advection's
reverse mode recomputes its step and, in vmapped batches whose back-traces stay within a cell,
sums shifted copies instead of scatter-adding (``MACGrid.advect``): the same numbers, and half
the CPU gradient time of a vmapped rollout (n = 128; benchmarks/navier_stokes_parts.py).

Layout: every field is an ``(resolution, resolution)`` array indexed ``[row j (y), column i
(x)]``. ``u[j, i]`` lives on the *left* face of cell (i, j), at ``(i dx, (j + 1/2) dx)``;
``v[j, i]`` on its *bottom* face, at ``((i + 1/2) dx, j dx)``; pressure at the cell centre. In
a closed box the right/top wall faces are not stored: neighbours are taken with ``jnp.roll``,
and the wrapped-around neighbour of a wall is a closed face (velocity 0, no link), so one code
path serves both boundary conditions.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

Field = Float[Array, "ny nx"]

# (shift, axis) of jnp.roll that brings the west, east, south, north neighbour to a cell.
_NEIGHBOURS = ((1, 1), (-1, 1), (1, 0), (-1, 0))
# Largest grid whose dense pressure inverse is allowed: 64^2 cells = 134 MB in float64.
DENSE_MAX_RESOLUTION = 64
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


@dataclasses.dataclass(frozen=True)
class MACGrid:
    """A staggered grid with a static obstacle mask (hashable, so jit can close over it).

    Attributes:
        resolution: cells per side.
        size: side length of the square domain (length units).
        periodic: periodic boundaries in x and y; otherwise closed free-slip walls.
        boxes: solid rectangles ``(x_low, y_low, x_high, y_high)``.
        circles: solid discs ``(x_centre, y_centre, radius)``.

    A cell is solid when its centre lies inside an obstacle; a face is open when both cells
    next to it are fluid (and, in a closed box, it is not on the outer wall).
    """

    resolution: int
    size: float
    periodic: bool = False
    boxes: tuple[tuple[float, float, float, float], ...] = ()
    circles: tuple[tuple[float, float, float], ...] = ()

    @property
    def dx(self) -> float:
        return self.size / self.resolution

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell-centre coordinates ``(x, y)``, each ``(resolution, resolution)``."""
        c = (np.arange(self.resolution) + 0.5) * self.dx
        return np.meshgrid(c, c, indexing="xy")

    def u_positions(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.centres()
        return x - self.dx / 2, y

    def v_positions(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.centres()
        return x, y - self.dx / 2

    @functools.cached_property
    def fluid(self) -> np.ndarray:
        """Boolean cell mask, True in the fluid."""
        x, y = self.centres()
        solid = np.zeros(x.shape, bool)
        for x_low, y_low, x_high, y_high in self.boxes:
            solid |= (x >= x_low) & (x <= x_high) & (y >= y_low) & (y <= y_high)
        for cx, cy, radius in self.circles:
            solid |= (x - cx) ** 2 + (y - cy) ** 2 <= radius**2
        return ~solid

    @functools.cached_property
    def open_faces(self) -> tuple[np.ndarray, np.ndarray]:
        """Boolean masks of the u and v faces through which fluid may flow."""
        fluid = self.fluid
        open_u = fluid & np.roll(fluid, 1, axis=1)
        open_v = fluid & np.roll(fluid, 1, axis=0)
        if not self.periodic:
            open_u[:, 0] = False
            open_v[0, :] = False
        return open_u, open_v

    @functools.cached_property
    def regions(self) -> np.ndarray:
        """Label of the connected fluid region of every cell (cells joined by open faces);
        -1 in solid cells. Each region carries one constant pressure null mode."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        n = self.resolution
        index = np.arange(n * n).reshape(n, n)
        rows, cols = [], []
        for open_, axis in zip(self.open_faces, (1, 0)):
            rows.append(index[open_])
            cols.append(np.roll(index, 1, axis=axis)[open_])
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        graph = coo_matrix((np.ones(rows.size), (rows, cols)), shape=(n * n, n * n))
        _, labels = connected_components(graph, directed=False)
        labels = labels.reshape(n, n)
        fluid_labels = np.unique(labels[self.fluid])
        relabelled = np.full((n, n), -1)
        for new, old in enumerate(fluid_labels):
            relabelled[(labels == old) & self.fluid] = new
        return relabelled

    def _region_masks(self) -> list[np.ndarray]:
        return [self.regions == r for r in range(self.regions.max() + 1)]

    def _region_means(self, field: Field) -> Field:
        """Each fluid cell's region mean of ``field``; 0 in solid cells."""
        out = jnp.zeros_like(field)
        for region in self._region_masks():
            mean = jnp.sum(jnp.where(region, field, 0)) / region.sum()
            out = out + jnp.where(region, mean, 0)
        return out

    @functools.cached_property
    def stencil(self) -> tuple[np.ndarray, ...]:
        """Five-point stencil of ``poisson``: diagonal and the west, east, south, north links
        (1 where the face between the cells is open); the diagonal is 1 in solid cells."""
        open_u, open_v = self.open_faces
        links = (open_u, np.roll(open_u, -1, axis=1), open_v, np.roll(open_v, -1, axis=0))
        diagonal = sum(link.astype(float) for link in links) + ~self.fluid
        return (diagonal, *(link.astype(float) for link in links))

    def poisson_matrix(self) -> np.ndarray:
        """``poisson`` as a dense float64 ``(resolution^2, resolution^2)`` matrix."""
        n = self.resolution
        index = np.arange(n * n).reshape(n, n)
        diagonal, *links = self.stencil
        matrix = np.diag(diagonal.ravel())
        for link, (shift, axis) in zip(links, _NEIGHBOURS):
            rows = index[link > 0]
            matrix[rows, np.roll(index, shift, axis=axis)[link > 0]] -= 1
        for region in self._region_masks():
            cells = index[region]
            matrix[np.ix_(cells, cells)] += 1 / cells.size
        return matrix

    @functools.cached_property
    def face_links(self) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        """For u and v: masks of the links to the neighbour in +x, -x, +y, -y used by the
        viscous Laplacian (both faces open, and no wrap-around in a closed box)."""
        links = []
        for open_ in self.open_faces:
            per_direction = []
            for shift, axis in ((-1, 1), (1, 1), (-1, 0), (1, 0)):
                link = open_ & np.roll(open_, shift, axis=axis)
                if not self.periodic:
                    edge = [slice(None), slice(None)]
                    edge[axis] = -1 if shift == -1 else 0
                    link[tuple(edge)] = False
                per_direction.append(link)
            links.append(tuple(per_direction))
        return links[0], links[1]

    # -- operators -----------------------------------------------------------------------------
    def mask(self, u: Field, v: Field) -> tuple[Field, Field]:
        """Zero the velocity on closed faces (walls and obstacles)."""
        open_u, open_v = self.open_faces
        return jnp.where(open_u, u, 0), jnp.where(open_v, v, 0)

    def divergence(self, u: Field, v: Field) -> Field:
        """Net outflow of every cell per unit area; exactly 0 after ``project`` (to CG tol)."""
        return (jnp.roll(u, -1, axis=1) - u + jnp.roll(v, -1, axis=0) - v) / self.dx

    def gradient(self, p: Field) -> tuple[Field, Field]:
        """Pressure gradient on the open faces (zero on closed ones)."""
        open_u, open_v = self.open_faces
        gu = (p - jnp.roll(p, 1, axis=1)) / self.dx
        gv = (p - jnp.roll(p, 1, axis=0)) / self.dx
        return jnp.where(open_u, gu, 0), jnp.where(open_v, gv, 0)

    def poisson(self, p: Field) -> Field:
        """The SPD operator of the projection: ``-div grad p`` scaled by dx^2, plus the mean of
        p over each fluid region (a rank-one term per region that lifts the constant null
        mode to eigenvalue 1, mid-spectrum); the identity in solid cells, which have no open
        face and so no equation of their own. Written as a five-point stencil (twice as fast
        on CPU as composing ``gradient`` and ``divergence``, which it equals)."""
        diagonal, *links = (jnp.asarray(w, p.dtype) for w in self.stencil)
        out = diagonal * p
        for link, (shift, axis) in zip(links, _NEIGHBOURS):
            out = out - link * jnp.roll(p, shift, axis=axis)
        return out + self._region_means(p)

    def project(
        self,
        u: Field,
        v: Field,
        pressure: Field,
        solver: str = "cg",
        rtol: float = 1e-6,
        max_iterations: int = 500,
    ) -> tuple[Field, Field, Field]:
        """Remove the divergent part: ``u <- u - grad p`` with ``-div grad p = -div u``.

        ``-div grad`` has a constant null mode per fluid region; the right-hand side sums to
        zero over each region up to round-off, which is removed, so the lifted operator of
        ``poisson`` solves the same system with zero-mean pressure (and CG cannot break down
        when the divergence is pure round-off).

        Solvers: ``"cg"``: ``jax.scipy.sparse.linalg.cg`` (matrix-free), which wraps its
        iterations in ``lax.custom_linear_solve``, so reverse mode solves the adjoint system
        with CG instead of differentiating the iterations; ``pressure`` is its warm start,
        ``|r| <= rtol |b|`` its stop. ``"dense"``: a product with the precomputed float64
        inverse of ``poisson`` (exact to round-off; its transpose is its own adjoint).
        """
        u, v = self.mask(u, v)
        rhs = jnp.where(self.fluid, -self.divergence(u, v) * self.dx**2, 0)
        rhs = rhs - self._region_means(rhs)
        if solver == "dense":
            inverse = jnp.asarray(_poisson_inverse(self), rhs.dtype)
            pressure = jnp.dot(inverse, rhs.reshape(-1)).reshape(rhs.shape)
        elif solver == "cg":
            pressure, _ = jax.scipy.sparse.linalg.cg(
                self.poisson, rhs, x0=pressure, tol=rtol, maxiter=max_iterations
            )
        else:
            raise ValueError(f"pressure solver {solver!r}; expected 'cg' or 'dense'.")
        gu, gv = self.gradient(pressure)
        return u - gu, v - gv, pressure

    def laplacian(self, u: Field, v: Field) -> tuple[Field, Field]:
        """Viscous term on the faces: links only between open faces (free-slip walls)."""
        out = []
        for field, links in zip((u, v), self.face_links):
            total = jnp.zeros_like(field)
            for link, (shift, axis) in zip(links, ((-1, 1), (1, 1), (-1, 0), (1, 0))):
                total = total + jnp.where(link, jnp.roll(field, shift, axis=axis) - field, 0)
            out.append(total / self.dx**2)
        return out[0], out[1]

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

    def centred(self, u: Field, v: Field) -> tuple[Field, Field]:
        """Velocity averaged to the cell centres (for plots)."""
        return (u + jnp.roll(u, -1, axis=1)) / 2, (v + jnp.roll(v, -1, axis=0)) / 2


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


@functools.lru_cache(maxsize=8)
def _poisson_inverse(grid: MACGrid) -> np.ndarray:
    """The float64 inverse of ``grid.poisson`` (computed once per grid and cached)."""
    if grid.resolution > DENSE_MAX_RESOLUTION:
        raise ValueError(
            f"dense pressure solve: resolution {grid.resolution} > {DENSE_MAX_RESOLUTION} "
            f"would need a {grid.resolution**2}^2 matrix; use the 'cg' solver."
        )
    return np.linalg.inv(grid.poisson_matrix())


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
