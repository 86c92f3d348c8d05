"""Convex image regularisers of the imaging problems' MAP objectives (CT, MRI).

Both use forward differences with a replicated last row / column (zero gradient across the far
edges): ``dx[i, j] = image[i + 1, j] - image[i, j]`` and ``dy[i, j] = image[i, j + 1] -
image[i, j]``.
"""

from __future__ import annotations

from typing import Literal

import jax.numpy as jnp
from jaxtyping import Array, Float

REGULARIZERS = ("tv", "tikhonov")


def regularization(
    image: Float[Array, "h w"], kind: Literal["tv", "tikhonov"], smoothing: float
) -> Float[Array, ""]:
    """``R(image)``: smoothed total variation or Tikhonov on the gradient.

    Args:
        image: a ``(h, w)`` image.
        kind: ``"tv"``: isotropic total variation, ``sum sqrt(|grad image|^2 + smoothing^2) -
            smoothing`` (zero for a constant image, about an edge's length times its jump,
            differentiable for ``smoothing > 0``; the plain isotropic TV as smoothing -> 0);
            ``"tikhonov"``: ``sum |grad image|^2``.
        smoothing: TV's smoothing (in the image's units); unused by Tikhonov. What it costs
            in PSNR depends on the operator: in the box, CT's estimates lose 0.12 dB at 1e-2
            and nothing below 3e-3, MRI's 1.9 dB at 1e-2 and 0.04 dB at 3e-4; each smaller
            smoothing costs L-BFGS iterations (``benchmarks/tv_baseline.py``).
    """
    if kind not in REGULARIZERS:
        raise ValueError(f"regularization: kind must be one of {REGULARIZERS}, got {kind!r}.")
    dx = jnp.diff(image, axis=0, append=image[-1:])
    dy = jnp.diff(image, axis=1, append=image[:, -1:])
    if kind == "tikhonov":
        return jnp.sum(dx**2 + dy**2)
    smoothing = jnp.asarray(smoothing, image.dtype)
    return jnp.sum(jnp.sqrt(dx**2 + dy**2 + smoothing**2) - smoothing)
