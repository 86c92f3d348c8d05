"""Contract table over every registered problem, plus the wave packet's own checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lio.problems import WavePacket, make_problem
from tests.conftest import ALL_PROBLEMS

N = 5
# The image problems at test size (their defaults are the full config's 64 x 64 grids, whose
# finite-difference gradient check alone took ~50 s); the others at their defaults.
CONTRACT_PARAMS = {
    "ct": {"size": 16, "num_angles": 8},
    "mri": {"size": 16},
    "fwi": {"size": 16, "extent": 0.4, "num_sources": 2, "num_receivers": 8,
            "record_time": 0.6, "sponge_width": 10},
}


@pytest.fixture(params=ALL_PROBLEMS)
def problem(request):
    return make_problem(request.param, CONTRACT_PARAMS.get(request.param))


def test_sample_shapes(problem, key):
    problems = problem.sample(key, N)
    d = problem.num_parameters
    assert problems.solution.shape == (N, d)
    assert problems.condition.shape[0] == N
    assert problems.observed.shape[0] == N
    predicted = problem.forward(problems.solution[0], problems.condition[0])
    assert predicted.shape == problems.observed.shape[1:]


def test_truth_inside_bounds_and_prior_mean_inside(problem, key):
    lower, upper = problem.bounds
    problems = problem.sample(key, 64)
    assert np.all(lower < upper)
    assert np.all(problems.solution >= lower) and np.all(problems.solution <= upper)
    assert np.all(problem.prior_mean >= lower) and np.all(problem.prior_mean <= upper)


def test_same_key_same_set_different_key_different_set(problem, key):
    first, again = problem.sample(key, N), problem.sample(key, N)
    other = problem.sample(jax.random.fold_in(key, 1), N)
    np.testing.assert_array_equal(first.observed, again.observed)
    # Some problems observe the same target every time (billiards): compare the whole set.
    assert not all(
        np.allclose(a, b) for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(other))
    )


def test_jit_equals_eager_and_vmap_equals_loop(problem, key):
    problems = problem.sample(key, N)
    eager = [problem.loss(s, c, o) for s, c, o in zip(problems.solution, problems.condition, problems.observed)]
    batched = jax.jit(problem.losses)(problems.solution, problems)
    # atol: billiards' loss at the truth is 0 up to round-off (1e-30), where rtol means nothing.
    np.testing.assert_allclose(batched, np.array(eager), rtol=1e-12, atol=1e-20)


def test_gradient_finite_and_matches_finite_differences(problem, key):
    problems = problem.sample(key, N)
    lower, upper = problem.bounds
    # A point off the truth, inside the box, so the gradient is non-trivial.
    point = problems.solution[0] + 0.3 * (upper - lower) / 97
    condition, observed = problems.condition[0], problems.observed[0]
    loss = jax.jit(lambda s: problem.loss(s, condition, observed))
    grad = jax.grad(loss)(point)
    assert np.all(np.isfinite(grad))
    step = 1e-6 * (upper - lower)
    for i in range(problem.num_parameters):
        e = jnp.zeros_like(point).at[i].set(step[i])
        central = (loss(point + e) - loss(point - e)) / (2 * step[i])
        # Central differences in float64 with h ~ 1e-6 x box: truncation O(h^2) ~ 1e-8 relative.
        np.testing.assert_allclose(grad[i], central, rtol=1e-5, atol=1e-7)


def test_no_recompilation_on_second_call(problem, key):
    problems = problem.sample(key, N)
    losses = jax.jit(problem.losses)
    losses(problems.solution, problems)
    before = losses._cache_size()
    losses(problems.solution + 0.1, problems)
    assert losses._cache_size() == before


def test_wavepacket_forward_is_the_paper_formula():
    problem = WavePacket(amplitude=2.0, width=7.0)
    t = np.arange(1, 257, dtype=float)
    t0 = 101.3
    expected = 2.0 * np.sin(t - t0) * np.exp(-((t - t0) ** 2) / 7.0**2)
    np.testing.assert_allclose(problem.forward(jnp.array([t0]), jnp.zeros(0)), expected, atol=1e-12)


def test_wavepacket_noise_is_hidden_and_has_the_configured_std(key):
    problem = WavePacket(noise_std=0.25)
    problems = problem.sample(key, 200)
    clean = jax.vmap(problem.forward)(problems.solution, problems.condition)
    residual = np.asarray(problems.observed - clean)
    # 51,200 Gaussian samples: the sample std is within 1% of sigma with overwhelming probability.
    assert abs(residual.std() - 0.25) < 0.0025
    # Loss at the truth is the noise energy, ~ 256 sigma^2: the optimum is not zero.
    truth_loss = problem.losses(problems.solution, problems)
    assert abs(float(truth_loss.mean()) / (256 * 0.25**2) - 1) < 0.02


@pytest.mark.parametrize(
    "params, match",
    [
        ({"t0_low": 100.0, "t0_high": 50.0}, "t0_low=100.0 must be below t0_high=50.0"),
        ({"width": 0.0}, "width must be > 0"),
        ({"noise_std": -1.0}, "noise_std must be >= 0"),
        ({"sigma": 3.0}, r"unknown parameter\(s\) \['sigma'\]"),
    ],
)
def test_wavepacket_rejects_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        make_problem("wavepacket", params)


def test_unknown_problem_names_the_registry():
    with pytest.raises(ValueError, match=r"unknown problem 'wavepaket'; expected one of \[.*'wavepacket'"):
        make_problem("wavepaket")


def test_solution_shape_check_says_expected_and_got():
    problem = WavePacket()
    with pytest.raises(ValueError, match=r"shape \(4, 2\); expected \(4, 1\)"):
        problem.check_solution_shape(jnp.zeros((4, 2)), 4)
