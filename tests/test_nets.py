"""Network building blocks against their flax reference implementations."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import pytest

from lio.core.nets import max_pool


@pytest.mark.parametrize(
    ("shape", "window"),
    [((3, 9, 4), (2,)), ((3, 8, 7, 2), (2, 2)), ((2, 7, 1, 3), (2, 1)), ((2, 5, 5, 1), (2, 2))],
)
def test_max_pool_matches_flax_values_and_gradients(shape, window):
    x = jax.random.normal(jax.random.PRNGKey(0), shape)
    ours = max_pool(x, window)
    reference = nn.max_pool(x, window, strides=window)
    assert ours.shape == reference.shape
    assert jnp.array_equal(ours, reference)
    grad = jax.grad(lambda x: jnp.sum(jnp.sin(max_pool(x, window))))(x)
    grad_reference = jax.grad(lambda x: jnp.sum(jnp.sin(nn.max_pool(x, window, strides=window))))(x)
    assert jnp.allclose(grad, grad_reference)
    assert int(jnp.sum(grad != 0)) == ours.size  # one element per window gets the gradient


def test_max_pool_rejects_a_window_per_wrong_axis_count():
    with pytest.raises(ValueError, match="2 window sizes for 1 spatial axes"):
        max_pool(jnp.zeros((1, 4, 1)), (2, 2))
