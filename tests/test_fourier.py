"""Maths checks of the undersampled Fourier operator (lio.problems.imaging.fourier), float64.

The measured values quoted next to each tolerance were measured on CPU with JAX float64.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lio.problems.imaging.fourier import MaskedFourier, line_counts, sampling_mask


def random_image(size, seed=0):
    return jnp.asarray(np.random.default_rng(seed).normal(size=(size, size)))


@pytest.mark.parametrize("size", [16, 33])
def test_parseval_and_exact_inversion_at_full_sampling(size):
    operator = MaskedFourier.create(size, 1, 0.08, 0)
    assert float(operator.mask.min()) == 1.0 and operator.observation_shape == (size, size, 2)
    x = random_image(size)
    kspace = operator(x)
    assert kspace.shape == (size, size, 2)
    # measured 2e-16 (16) and 0 (33): float64 round-off
    assert abs(float(jnp.linalg.norm(kspace) / jnp.linalg.norm(x)) - 1) < 1e-14
    # measured 7e-16 (16) and 1.3e-15 (33, odd: fftshift and ifftshift differ)
    assert float(jnp.abs(operator.zero_filled(kspace) - x).max()) < 1e-12
    # Centred layout: zero frequency at (size // 2, size // 2), the image's sum / size (ortho).
    np.testing.assert_allclose(kspace[size // 2, size // 2], [float(x.sum()) / size, 0.0],
                               atol=1e-12)
    # A flat image gives the same k-space (the problems' solutions are flat).
    np.testing.assert_array_equal(operator(x.reshape(-1)), kspace)


@pytest.mark.parametrize("size, acceleration", [(16, 4), (32, 8), (33, 3)])
def test_adjoint_to_round_off(size, acceleration):
    operator = MaskedFourier.create(size, acceleration, 0.08, 3)
    rng = np.random.default_rng(1)
    x = random_image(size, 2)
    y = jnp.asarray(rng.normal(size=(size, size, 2)))  # nonzero where not sampled, too
    lhs, rhs = jnp.vdot(operator(x), y), jnp.vdot(x, operator.adjoint(y))
    # measured 5e-18 to 1.2e-17 relative: float64 round-off (||A|| = 1)
    assert abs(float(lhs - rhs)) <= 1e-13 * float(jnp.linalg.norm(x) * jnp.linalg.norm(y))
    (transposed,) = jax.linear_transpose(operator.__call__, x)(y)
    # measured 0 (16, 32) and 7e-16 (33)
    np.testing.assert_allclose(transposed, operator.adjoint(y), rtol=0, atol=1e-13)
    # Unsampled entries are exactly zero, and A^T ignores them.
    kspace = operator(x)
    assert float(jnp.abs(kspace * (1 - operator.mask[..., None])).max()) == 0.0
    np.testing.assert_array_equal(operator.adjoint(y * operator.mask[..., None]), operator.adjoint(y))


def test_normal_operator_weights_lone_frequencies_by_a_half():
    """``A.T A = F^H D F``: D is 1 where a frequency and its Hermitian mirror are both sampled,
    1/2 where only one is (the real part of the adjoint averages the two)."""
    operator = MaskedFourier.create(16, 4, 0.08, 0)
    x = random_image(16, 4)
    mask = np.fft.ifftshift(np.asarray(operator.mask))  # unshifted layout: DC at (0, 0)
    weights = (mask + np.roll(mask[::-1, ::-1], 1, axis=(0, 1))) / 2  # mirror: k -> -k
    assert set(np.unique(weights)) == {0.0, 0.5, 1.0}
    expected = np.real(np.fft.ifft2(weights * np.fft.fft2(np.asarray(x), norm="ortho"), norm="ortho"))
    # measured 2e-16
    np.testing.assert_allclose(operator.adjoint(operator(x)), expected, rtol=0, atol=1e-13)


@pytest.mark.parametrize("size", [64, 128, 256])
@pytest.mark.parametrize("acceleration, center_fraction", [(2, 0.16), (4, 0.08), (8, 0.04), (12, 0.04)])
def test_mask_rule_fraction_and_centre(size, acceleration, center_fraction):
    mask = sampling_mask(size, acceleration, center_fraction, 0)
    assert mask.shape == (size, size) and mask.dtype == bool
    rows = mask[:, 0]
    assert np.all(mask == rows[:, None])  # whole phase-encode lines
    center, total = line_counts(size, acceleration, center_fraction)
    assert rows.sum() == total == int(np.floor(size / acceleration + 0.5))
    # round(size / acceleration) rows: the fraction is within half a row of 1 / acceleration.
    assert abs(mask.mean() - 1 / acceleration) <= 0.5 / size
    first = size // 2 - center // 2
    assert center == int(np.floor(center_fraction * size + 0.5))
    assert rows[first:first + center].all() and rows[size // 2]  # the band, with DC


def test_mask_when_the_centre_band_outnumbers_the_lines():
    # 64 rows at 16x: round(64 / 16) = 4 lines, but 8 % of 64 rows is 5: the band alone.
    rows = sampling_mask(64, 16, 0.08, 0)[:, 0]
    assert line_counts(64, 16, 0.08) == (5, 5)
    np.testing.assert_array_equal(np.flatnonzero(rows), np.arange(30, 35))
    # No band asked for: still the DC row.
    assert line_counts(64, 4, 0.0) == (1, 16) and sampling_mask(64, 4, 0.0, 0)[32].all()


def test_mask_is_deterministic_per_seed_and_differs_across_seeds():
    masks = [sampling_mask(64, 4, 0.08, seed) for seed in range(10)]
    np.testing.assert_array_equal(masks[0], sampling_mask(64, 4, 0.08, 0))
    assert len({m[:, 0].tobytes() for m in masks}) == 10
    key = jax.random.PRNGKey(5)
    np.testing.assert_array_equal(sampling_mask(32, 4, 0.08, key), sampling_mask(32, 4, 0.08, key))
    assert not np.array_equal(sampling_mask(32, 4, 0.08, key),
                              sampling_mask(32, 4, 0.08, jax.random.PRNGKey(6)))
    np.testing.assert_array_equal(sampling_mask(32, 4, 0.08, jax.random.key(5)),
                                  sampling_mask(32, 4, 0.08, key))


def test_mask_is_the_only_leaf_and_an_argument_of_jitted_code():
    first, second = MaskedFourier.create(16, 4, 0.08, 0), MaskedFourier.create(16, 4, 0.08, 1)
    leaves = jax.tree.leaves(first)
    assert len(leaves) == 1 and leaves[0] is first.mask and first.mask.dtype == jnp.float64
    apply = jax.jit(lambda operator, x: operator(x))
    x = random_image(16)
    apply(first, x)
    before = apply._cache_size()
    np.testing.assert_allclose(apply(second, x), second(x), atol=1e-15)
    assert apply._cache_size() == before  # a new mask is a new argument, not a recompilation
    float32 = jax.tree.map(lambda a: a.astype(jnp.float32), first)
    assert float32(x.astype(jnp.float32)).dtype == jnp.float32


@pytest.mark.parametrize(
    "args, match",
    [((16, 0.5, 0.08, 0), "acceleration must be >= 1"),
     ((16, 4, 1.5, 0), r"center_fraction must be in \[0, 1\]"),
     ((0, 4, 0.08, 0), "size must be an integer >= 1"),
     ((16, 4, 0.08, -1), "seed must be >= 0"),
     ((16, 4, 0.08, "zero"), "int seed or a jax PRNG key")],
)
def test_bad_mask_arguments_are_named(args, match):
    with pytest.raises(ValueError, match=match):
        sampling_mask(*args)
