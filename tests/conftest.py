"""Shared fixtures: float64 for the physics and BFGS checks, explicit PRNG keys everywhere."""

import jax
import pytest

jax.config.update("jax_enable_x64", True)

from lio.problems import PROBLEMS  # noqa: E402

ALL_PROBLEMS = sorted(PROBLEMS)


@pytest.fixture
def key():
    return jax.random.PRNGKey(1234)
