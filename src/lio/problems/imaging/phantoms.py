"""Image priors shared by the imaging problems (CT, MRI): random ellipse phantoms, Shepp-Logan.

Images live on the pixel grid of ``lio.problems.imaging.tomography`` (``size x size`` pixels on
``[-1, 1]^2``, row 0 at the top, ``pixel_grid``), with values in ``[0, 1]`` and zero outside
the unit disc, so every imaging problem draws its truths from the same prior.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from lio.problems.imaging.tomography import pixel_grid

PRIOR_MEAN_DRAWS = 1024  # phantoms averaged into the prior's mean image (BFGS's start)


def prior_mean_image(size: int) -> Float[Array, " p"]:
    """The mean of ``PRIOR_MEAN_DRAWS`` ``random_ellipses`` (key 0), flat ``(size * size,)``:
    the imaging problems' BFGS start (their ``prior_mean``)."""
    return jnp.mean(random_ellipses(jax.random.PRNGKey(0), PRIOR_MEAN_DRAWS, size), axis=0)


@functools.partial(jax.jit, static_argnums=range(1, 7))
def random_ellipses(
    key: PRNGKeyArray, n: int, size: int, max_ellipses: int = 6, support_radius: float = 0.9,
    axis_range: tuple[float, float] = (0.1, 0.45),
    intensity_range: tuple[float, float] = (-0.5, 1.0),
) -> Float[Array, "n p"]:
    """``n`` random ellipse phantoms, flat ``(n, size * size)``, values in ``[0, 1]``.

    Compiled (everything but ``key`` static): drawn eagerly, the vmapped ops took 5.5 s on CPU.

    Each image sums ``K ~ U{1, ..., max_ellipses}`` ellipses with semi-axes ``~ U(axis_range)``,
    rotation ``~ U(0, pi)``, intensity ``~ U(intensity_range)`` (the first is made positive;
    negative ones carve holes) and centre uniform in the disc of radius
    ``support_radius - max semi-axis``, so every ellipse lies inside ``support_radius``; the
    sum is clipped to ``[0, 1]`` (attenuation is non-negative). Deterministic given ``key``.

    Args:
        key: PRNG key; image ``i`` uses ``jax.random.split(key, n)[i]``.
        n: number of images.
        size: pixels per side.
        max_ellipses: most ellipses per image.
        support_radius: every ellipse lies inside this radius (``< 1``: the detectors cover
            the unit disc).
        axis_range: ``(low, high)`` of the semi-axes, in the ``[-1, 1]`` units.
        intensity_range: ``(low, high)`` of each ellipse's additive intensity.
    """
    x, y = (jnp.asarray(c).reshape(-1) for c in pixel_grid(size))

    def one(key):
        keys = jax.random.split(key, 6)
        axes = jax.random.uniform(keys[0], (max_ellipses, 2), minval=axis_range[0],
                                  maxval=axis_range[1])
        rotation = jax.random.uniform(keys[1], (max_ellipses,), maxval=np.pi)
        intensity = jax.random.uniform(keys[2], (max_ellipses,), minval=intensity_range[0],
                                       maxval=intensity_range[1])
        intensity = intensity.at[0].set(jnp.abs(intensity[0]))
        count = jax.random.randint(keys[3], (), 1, max_ellipses + 1)
        radius = (support_radius - axes.max(1)) * jnp.sqrt(
            jax.random.uniform(keys[4], (max_ellipses,)))
        phase = jax.random.uniform(keys[5], (max_ellipses,), maxval=2 * np.pi)
        cx, cy = radius * jnp.cos(phase), radius * jnp.sin(phase)
        dx, dy = x[None] - cx[:, None], y[None] - cy[:, None]
        c, s = jnp.cos(rotation)[:, None], jnp.sin(rotation)[:, None]
        u, v = (c * dx + s * dy) / axes[:, :1], (-s * dx + c * dy) / axes[:, 1:]
        active = jnp.arange(max_ellipses) < count
        image = jnp.sum(jnp.where(active[:, None] & (u**2 + v**2 <= 1), intensity[:, None], 0), 0)
        return jnp.clip(image, 0, 1)

    return jax.vmap(one)(jax.random.split(key, n))


def shepp_logan(size: int) -> np.ndarray:
    """scikit-image's modified Shepp-Logan phantom (400 x 400, in ``[0, 1]``) resized to
    ``(size, size)`` with anti-aliasing; zero outside the unit disc."""
    from skimage.data import shepp_logan_phantom
    from skimage.transform import resize

    image = resize(shepp_logan_phantom(), (size, size), anti_aliasing=True)
    x, y = pixel_grid(size)
    return np.where(x**2 + y**2 <= 1, np.clip(image, 0, None), 0.0)
