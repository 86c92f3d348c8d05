"""The benchmarks' FLOP counter: loops times their trip count, matmuls and convolutions exact."""

import sys
from pathlib import Path

import flax.linen as nn
import jax
import jax.numpy as jnp
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from flops import count_flops  # noqa: E402


def xla_flops(function, *args) -> float:
    cost = jax.jit(function).lower(*args).compile().cost_analysis()
    return (cost[0] if isinstance(cost, list) else cost)["flops"]


def test_matmul_is_two_flops_per_multiply_add():
    a, b = jnp.ones((3, 5)), jnp.ones((5, 7))
    assert count_flops(jax.make_jaxpr(jnp.matmul)(a, b)) == (2 * 3 * 5 * 7, 0)


@pytest.mark.parametrize("length", [1, 10])
def test_scan_body_counts_once_per_step_unlike_xla(length):
    a = jnp.ones((64, 64))
    rollout = lambda a: jax.lax.scan(lambda c, _: (c @ a, None), a, None, length=length)[0]  # noqa: E731
    flops, while_loops = count_flops(jax.make_jaxpr(rollout)(a))
    assert flops == length * 2 * 64**3
    assert while_loops == 0
    # XLA: the body once (plus the loop counter), whatever the length
    assert xla_flops(rollout, a) == pytest.approx(2 * 64**3, rel=1e-3)


def test_while_loop_is_counted_once_and_reported():
    loop = lambda x: jax.lax.while_loop(lambda c: c[0, 0] < 5, lambda c: c @ c + 1, x)  # noqa: E731
    flops, while_loops = count_flops(jax.make_jaxpr(loop)(jnp.ones((4, 4))))
    assert while_loops == 1
    assert flops >= 2 * 4**3


def test_convolution_matches_xla_within_bias_and_padding():
    x = jnp.ones((8, 32, 32, 4))
    conv = nn.Conv(16, (3, 3))
    params = conv.init(jax.random.PRNGKey(0), x)
    apply = lambda p: conv.apply(p, x)  # noqa: E731
    ours, _ = count_flops(jax.make_jaxpr(apply)(params))
    assert ours == pytest.approx(xla_flops(apply, params), rel=0.05)
