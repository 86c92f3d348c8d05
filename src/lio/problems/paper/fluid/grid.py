"""``MACGrid``: the staggered grid with its advection and pressure projection, one class."""

from __future__ import annotations

from lio.problems.paper.fluid.advection import Advection
from lio.problems.paper.fluid.pressure import Projection


class MACGrid(Advection, Projection):
    """A staggered grid with a static obstacle mask (hashable, so jit can close over it).

    ``MACGrid(resolution, size, periodic=False, boxes=(), circles=())``: the frozen dataclass
    fields of ``GridGeometry`` (see there), which also gives the fluid cells, open faces,
    divergence, gradient and viscous Laplacian. ``Advection`` adds ``advect`` and
    ``sample_velocity``, ``Projection`` the Poisson operator and ``project``.
    """
