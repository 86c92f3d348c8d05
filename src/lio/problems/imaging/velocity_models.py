"""Velocity models of seismic FWI: the layered prior and the smooth 1-D starting model.

Models are ``(size, size)`` grids in km/s, depth along the first axis (row 0 at the surface).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

PRIOR_MEAN_DRAWS = 512  # draws averaged for the starting model: its Monte-Carlo error ~ 2 %


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def random_layered(
    key: PRNGKeyArray, n: int, size: int, num_layers: int,
    min_velocity: float = 1.5, max_velocity: float = 4.5, max_dip: float = 0.15,
) -> Float[Array, "n p"]:
    """``n`` random layered models, flat ``(n, size * size)``.

    Each has ``num_layers`` layers whose velocities are uniform draws in ``[min_velocity,
    max_velocity]`` sorted to increase with depth (compaction: the common case in sedimentary
    basins, and the reason a smooth increasing 1-D model is the standard FWI start). The
    ``num_layers - 1`` interfaces sit at uniform depths in 10-90 % of the model and dip with
    slopes uniform in ``[-max_dip, max_dip]`` (depth per width), so the models vary laterally
    and are not 1-D. Deterministic given ``key``: model ``i`` uses ``jax.random.split(key,
    n)[i]``.
    """
    depth = (jnp.arange(size) + 0.5) / size
    across = depth - 0.5

    def one(key):
        keys = jax.random.split(key, 3)
        depths = jnp.sort(jax.random.uniform(keys[0], (num_layers - 1,), minval=0.1, maxval=0.9))
        dips = jax.random.uniform(keys[1], (num_layers - 1,), minval=-max_dip, maxval=max_dip)
        velocities = jnp.sort(jax.random.uniform(
            keys[2], (num_layers,), minval=min_velocity, maxval=max_velocity))
        interfaces = depths[:, None, None] + dips[:, None, None] * across[None, None, :]
        layer = jnp.sum(depth[None, :, None] > interfaces, axis=0)
        return velocities[layer].reshape(-1)

    return jax.vmap(one)(jax.random.split(key, n))


def smooth_start(
    size: int, num_layers: int, min_velocity: float, max_velocity: float
) -> Float[Array, " p"]:
    """The prior's mean velocity at each depth, the same across the model: flat ``(size *
    size,)``.

    The mean of ``PRIOR_MEAN_DRAWS`` ``random_layered`` models (key 0), averaged laterally: a
    smooth 1-D model increasing with depth, the standard FWI start. A constant start would put
    every reflection at the wrong time by more than half a period (cycle skipping).
    """
    draws = random_layered(jax.random.PRNGKey(0), PRIOR_MEAN_DRAWS, size, num_layers,
                           min_velocity, max_velocity)
    profile = jnp.mean(draws.reshape(-1, size, size), axis=(0, 2))
    return jnp.broadcast_to(profile[:, None], (size, size)).reshape(-1)
