"""The pressure projection: the Poisson operator of a MAC grid's fluid regions and its solves.

``-div grad p = -div u`` has a constant null mode per connected fluid region; ``poisson`` lifts
it (a rank-one term per region), so the operator is SPD. It is solved by a product with its
precomputed dense float64 inverse or matrix-free by conjugate gradients; both differentiate
through the linear solve (no unrolled iterations in reverse mode).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from lio.problems.paper.fluid.geometry import Field, GridGeometry

# (shift, axis) of jnp.roll that brings the west, east, south, north neighbour to a cell.
_NEIGHBOURS = ((1, 1), (-1, 1), (1, 0), (-1, 0))
# Largest grid whose dense pressure inverse is allowed: 64^2 cells = 134 MB in float64.
DENSE_MAX_RESOLUTION = 64


class Projection(GridGeometry):
    """The pressure projection of a ``GridGeometry``'s velocity (a part of ``MACGrid``)."""

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


@functools.lru_cache(maxsize=8)
def _poisson_inverse(grid: Projection) -> np.ndarray:
    """The float64 inverse of ``grid.poisson`` (computed once per grid and cached)."""
    if grid.resolution > DENSE_MAX_RESOLUTION:
        raise ValueError(
            f"dense pressure solve: resolution {grid.resolution} > {DENSE_MAX_RESOLUTION} "
            f"would need a {grid.resolution**2}^2 matrix; use the 'cg' solver."
        )
    return np.linalg.inv(grid.poisson_matrix())
