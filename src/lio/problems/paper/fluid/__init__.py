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

Modules, bottom to top:

    geometry    ``GridGeometry``: fluid cells, open faces, divergence, gradient, viscosity
    advection   ``Advection``: semi-Lagrangian / MacCormack back-traces, bilinear sampling and
                its fast reverse mode
    pressure    ``Projection``: the Poisson operator of each fluid region, dense and CG solves
    grid        ``MACGrid``: the three together, one hashable class
    solver      ``FlowSolver``: time stepping (advect, diffuse, project) and the rollout
"""

from lio.problems.paper.fluid.advection import ADVECTION_STENCIL, SHIFTED_MIN_BATCH
from lio.problems.paper.fluid.geometry import Field
from lio.problems.paper.fluid.grid import MACGrid
from lio.problems.paper.fluid.pressure import DENSE_MAX_RESOLUTION
from lio.problems.paper.fluid.solver import FlowSolver

__all__ = [
    "ADVECTION_STENCIL",
    "DENSE_MAX_RESOLUTION",
    "SHIFTED_MIN_BATCH",
    "Field",
    "FlowSolver",
    "MACGrid",
]
