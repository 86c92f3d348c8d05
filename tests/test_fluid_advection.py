"""Advection's fast reverse mode (remat + shifted-copy adjoint) equals the plain gather/scatter.

``MACGrid.advect`` rematerialises its step and, in a vmapped batch of at least
``SHIFTED_MIN_BATCH`` examples whose back-traces all stay within ``ADVECTION_STENCIL`` cells,
sums shifted copies of the cotangents instead of scattering them;
``MACGrid._advect(..., stencil=0)`` is the plain formulation it replaced (gather forward,
scatter-add backward, every residual stored). Both must give the same values and gradients
to float64 round-off (the same products; XLA fuses, and so rounds, the two programs apart).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lio.problems.paper.fluid import ADVECTION_STENCIL, SHIFTED_MIN_BATCH, MACGrid
from lio.problems.paper.fluid.advection import _use_shifted

DT = 2.0
GRIDS = {
    "closed, obstacles": MACGrid(
        16, 100.0, boxes=((15.0, 38.0, 35.0, 46.0),), circles=((45.0, 68.0, 7.0),)
    ),
    "periodic": MACGrid(16, 100.0, periodic=True),
}


def velocity(grid: MACGrid, seed: int, cells: float) -> tuple[jnp.ndarray, jnp.ndarray]:
    """A rough masked velocity whose largest back-trace ``|u| dt / dx`` is ``cells``."""
    u, v = np.random.default_rng(seed).normal(size=(2, grid.resolution, grid.resolution))
    u, v = grid.mask(jnp.asarray(u), jnp.asarray(v))
    scale = cells * grid.dx / DT / max(float(jnp.abs(u).max()), float(jnp.abs(v).max()))
    return scale * u, scale * v


def batch(grid: MACGrid, seed: int, cells: list[float]) -> tuple[jnp.ndarray, jnp.ndarray]:
    """One ``velocity`` per entry of ``cells``, stacked."""
    fields = [velocity(grid, seed + k, c) for k, c in enumerate(cells)]
    return jnp.stack([u for u, _ in fields]), jnp.stack([v for _, v in fields])


def advected_and_vjp(advect, u, v, seed: int):
    """The advected velocity and the gradient of a random linear functional of it."""
    weights = np.random.default_rng(seed).normal(size=(2, *u.shape))
    value, vjp = jax.vjp(advect, u, v)
    return value, vjp((jnp.asarray(weights[0]), jnp.asarray(weights[1])))


def assert_same(grid: MACGrid, scheme: str, u, v) -> None:
    """New and old advection agree on ``(u, v)``, vmapped over a leading batch axis if any."""
    new = lambda u, v: grid.advect(u, v, DT, scheme)  # noqa: E731
    old = lambda u, v: grid._advect(u, v, DT, scheme, stencil=0)  # noqa: E731
    if u.ndim == 3:
        new, old = jax.vmap(new), jax.vmap(old)
    new, old = jax.jit(new), jax.jit(old)
    (value_new, grad_new), (value_old, grad_old) = (
        advected_and_vjp(advect, u, v, seed=1) for advect in (new, old)
    )
    assert_round_off(value_new, value_old)
    assert_round_off(grad_new, grad_old)


def assert_round_off(new, old) -> None:
    """Equal to 1e-13 of the largest entry (measured: a few 1e-16; cotangents are the same
    products summed in another order)."""
    scale = max(float(jnp.abs(x).max()) for x in old)
    for a, b in zip(new, old):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-13 * scale)


@pytest.mark.parametrize("scheme", ["semi_lagrangian", "maccormack"])
@pytest.mark.parametrize("grid_name", list(GRIDS))
def test_within_the_stencil_the_fast_reverse_mode_equals_the_scatter(grid_name, scheme):
    grid = GRIDS[grid_name]
    # A batch of displacements up to 0.95 cells: every back-trace inside the radius-1 stencil,
    # so the shifted copies run.
    assert ADVECTION_STENCIL >= 1
    assert_same(grid, scheme, *batch(grid, seed=0, cells=[0.95] * SHIFTED_MIN_BATCH))


@pytest.mark.parametrize("scheme", ["semi_lagrangian", "maccormack"])
@pytest.mark.parametrize("grid_name", list(GRIDS))
def test_beyond_the_stencil_the_scatter_takes_over_exactly(grid_name, scheme):
    grid = GRIDS[grid_name]
    # Back-traces of up to 3.5 cells (beyond a radius-1 or -2 stencil): the scatter branch.
    assert_same(grid, scheme, *batch(grid, seed=20, cells=[3.5] * SHIFTED_MIN_BATCH))


def test_unbatched_advection_scatters_and_agrees():
    grid = GRIDS["closed, obstacles"]
    assert_same(grid, "semi_lagrangian", *velocity(grid, seed=40, cells=0.95))


def test_one_batch_member_beyond_the_stencil_sends_the_batch_to_the_scatter():
    grid = GRIDS["closed, obstacles"]
    cells = [0.5] * (SHIFTED_MIN_BATCH - 1) + [3.5]
    assert_same(grid, "semi_lagrangian", *batch(grid, seed=60, cells=cells))


def test_shifted_copies_only_in_a_large_enough_batch_all_inside():
    inside = jnp.ones(SHIFTED_MIN_BATCH, bool)
    assert not bool(_use_shifted(jnp.array(True)))  # unbatched: the scatter is cheaper
    # Unbatched inside the vmap (so a cond on it stays a branch), broadcast on the way out.
    np.testing.assert_array_equal(jax.vmap(_use_shifted)(inside), inside)
    np.testing.assert_array_equal(jax.vmap(_use_shifted)(inside.at[1].set(False)), ~inside)
    np.testing.assert_array_equal(jax.vmap(_use_shifted)(inside[:2]), [False, False])


def test_an_unknown_scheme_is_named():
    grid = GRIDS["periodic"]
    u = jnp.zeros((16, 16))
    with pytest.raises(ValueError, match="advection scheme 'upwind'; expected 'semi_lagrangian'"):
        grid.advect(u, u, DT, "upwind")
