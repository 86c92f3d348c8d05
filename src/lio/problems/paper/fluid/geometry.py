"""The MAC grid's geometry: fluid cells, open faces and the difference operators on them.

``GridGeometry`` holds the grid's fields (resolution, size, boundaries, obstacles); the
advection (``advection``) and the pressure projection (``pressure``) extend it, and ``MACGrid``
(``grid``) joins them. Layout and boundary handling: see the package docstring.
"""

from __future__ import annotations

import dataclasses
import functools

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

Field = Float[Array, "ny nx"]


@dataclasses.dataclass(frozen=True)
class GridGeometry:
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

    def laplacian(self, u: Field, v: Field) -> tuple[Field, Field]:
        """Viscous term on the faces: links only between open faces (free-slip walls)."""
        out = []
        for field, links in zip((u, v), self.face_links):
            total = jnp.zeros_like(field)
            for link, (shift, axis) in zip(links, ((-1, 1), (1, 1), (-1, 0), (1, 0))):
                total = total + jnp.where(link, jnp.roll(field, shift, axis=axis) - field, 0)
            out.append(total / self.dx**2)
        return out[0], out[1]

    def centred(self, u: Field, v: Field) -> tuple[Field, Field]:
        """Velocity averaged to the cell centres (for plots)."""
        return (u + jnp.roll(u, -1, axis=1)) / 2, (v + jnp.roll(v, -1, axis=0)) / 2
