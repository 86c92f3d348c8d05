"""Single-coil Cartesian MRI: the undersampled orthonormal 2D Fourier transform and its mask.

Layout (shared by every function here):
    k-space is *centred*: ``kspace = fftshift(fft2(image, norm="ortho"))``, so zero frequency
    is at ``(size // 2, size // 2)`` and row ``r`` holds the vertical (phase-encode) frequency
    ``r - size // 2`` (cycles per image height), as ``np.fft.fftshift`` orders them; the shift
    is a permutation, so the transform stays orthonormal. The image is ``size x size`` pixels,
    row-major (``lio.problems.imaging.tomography``'s grid; only its pixel order matters here).

Sampling:
    Cartesian MRI reads k-space one full row (a phase-encode line) at a time, so a mask keeps
    or drops whole rows: a fully sampled band of low frequencies around the centre row and
    uniformly random other rows (the fastMRI ``RandomMaskFunc`` pattern). ``sampling_mask``
    states the count.

Observations:
    The masked k-space as real channels ``(size, size, 2)`` = [real, imag], zero where not
    sampled: a dense layout keeps every observation's shape static whatever the mask.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jaxtyping import Array, Float


def _round_half_up(value: float) -> int:
    return int(np.floor(value + 0.5))


def line_counts(size: int, acceleration: float, center_fraction: float) -> tuple[int, int]:
    """``(centre lines, all sampled lines)`` of ``sampling_mask``'s rule (its docstring)."""
    center = min(size, max(1, _round_half_up(center_fraction * size)))
    total = min(size, max(center, _round_half_up(size / acceleration)))
    return center, total


def _seed_entropy(key_or_seed) -> int | list[int]:
    if isinstance(key_or_seed, (int, np.integer)) and not isinstance(key_or_seed, bool):
        if key_or_seed < 0:
            raise ValueError(f"sampling_mask: a seed must be >= 0, got {key_or_seed}.")
        return int(key_or_seed)
    key = key_or_seed
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    if not isinstance(key, (jax.Array, np.ndarray)) or key.dtype != np.uint32:
        raise ValueError(
            f"sampling_mask: key_or_seed must be an int seed or a jax PRNG key, got "
            f"{key_or_seed!r}."
        )
    return [int(word) for word in np.asarray(key).ravel()]


def sampling_mask(
    size: int, acceleration: float, center_fraction: float, key_or_seed
) -> np.ndarray:
    """Which k-space entries are sampled: random full rows around a fully sampled centre band.

    The rule:
        * ``center = min(size, max(1, round(center_fraction * size)))`` rows around the
          zero-frequency row ``size // 2`` (rows ``size // 2 - center // 2`` to
          ``size // 2 - center // 2 + center - 1``) are always sampled; at least the DC row.
        * ``total = min(size, max(center, round(size / acceleration)))`` rows are sampled in
          all (``round`` halves up): exactly ``size / acceleration`` rounded, unless the
          centre band alone is more (e.g. 64 rows at acceleration 16 with 8 % centre: 5).
        * the other ``total - center`` rows are drawn uniformly without replacement from the
          rows outside the band: the ones with the smallest of ``size`` uniform numbers from
          ``np.random.default_rng(key_or_seed).random(size)``.

    Deterministic given ``key_or_seed`` (numpy's PCG64 stream of ``random``); different seeds
    give different masks (for ``center < total < size``).

    Args:
        size: k-space rows (= columns = image side).
        acceleration: ``>= 1``; 1 samples every row.
        center_fraction: ``[0, 1]``, the fully sampled band's share of the rows (fastMRI uses
            0.08 at 4x, 0.04 at 8x).
        key_or_seed: an ``int >= 0`` or a jax PRNG key (its key data seed numpy's generator).

    Returns:
        ``(size, size)`` bool, in the centred layout (module docstring); rows all True or all
        False.
    """
    if int(size) != size or size < 1:
        raise ValueError(f"sampling_mask: size must be an integer >= 1, got {size!r}.")
    if not acceleration >= 1:
        raise ValueError(f"sampling_mask: acceleration must be >= 1, got {acceleration!r}.")
    if not 0 <= center_fraction <= 1:
        raise ValueError(
            f"sampling_mask: center_fraction must be in [0, 1], got {center_fraction!r}."
        )
    size = int(size)
    center, total = line_counts(size, acceleration, center_fraction)
    first = size // 2 - center // 2
    band = np.zeros(size, bool)
    band[first:first + center] = True
    scores = np.random.default_rng(_seed_entropy(key_or_seed)).random(size)
    scores[band] = np.inf  # already sampled
    rows = band.copy()
    rows[np.argsort(scores, kind="stable")[: total - center]] = True
    return np.repeat(rows[:, None], size, axis=1)


class MaskedFourier(struct.PyTreeNode):
    """``A = M S F``: orthonormal 2D DFT ``F``, centring shift ``S``, row mask ``M``.

    Maps a real ``size x size`` image to its masked centred k-space as real channels
    ``(size, size, 2)`` ([real, imag], zero where not sampled). ``F`` and ``S`` are unitary, so
    ``||A x|| = ||x||`` and ``A.T A x = x`` at full sampling. Undersampled, ``A.T A`` is not the
    projection onto the sampled frequencies: the real part in ``A.T`` averages each entry with
    its Hermitian mirror ``conj(kspace[-k])``, so ``A.T A = F^H D F`` with ``D`` 1 where a
    frequency and its mirror are sampled and 1/2 where only one of them is.

    Attributes:
        mask: ``(size, size)`` float, 1 where sampled, 0 elsewhere (centred layout): a pytree
            leaf, so jitted code takes it as an argument and one compilation serves every mask.
    """

    mask: Float[Array, "size size"]

    @classmethod
    def create(cls, size: int, acceleration: float, center_fraction: float, key_or_seed,
               dtype=None) -> "MaskedFourier":
        """The operator of ``sampling_mask(size, acceleration, center_fraction, key_or_seed)``;
        the mask in ``dtype``, by default JAX's default float (float64 with x64 on, float32
        without: asking for float64 with x64 off only warns and truncates)."""
        dtype = jnp.result_type(float) if dtype is None else dtype
        return cls(jnp.asarray(sampling_mask(size, acceleration, center_fraction, key_or_seed),
                               dtype))

    @property
    def size(self) -> int:
        return self.mask.shape[0]

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        return (self.size, self.size, 2)

    def __call__(self, image: Float[Array, "..."]) -> Float[Array, "size size 2"]:
        """``A image``: the image flat ``(size * size,)`` or ``(size, size)``, real."""
        image = image.reshape(self.size, self.size)
        kspace = jnp.fft.fftshift(jnp.fft.fft2(image, norm="ortho")) * self.mask.astype(image.dtype)
        return jnp.stack([kspace.real, kspace.imag], axis=-1)

    def adjoint(self, kspace: Float[Array, "size size 2"]) -> Float[Array, "size size"]:
        """``A.T kspace`` (real inner products): mask, inverse shift, ``ifft2`` (ortho), real
        part, the exact adjoint of ``__call__`` on real images."""
        mask = self.mask.astype(kspace.dtype)
        values = (kspace[..., 0] + 1j * kspace[..., 1]) * mask
        return jnp.real(jnp.fft.ifft2(jnp.fft.ifftshift(values), norm="ortho"))

    def zero_filled(self, kspace: Float[Array, "size size 2"]) -> Float[Array, "size size"]:
        """The zero-filled reconstruction (unsampled entries taken as 0, inverse FFT): the
        adjoint, since ``F`` is unitary; exact at full sampling without noise."""
        return self.adjoint(kspace)
