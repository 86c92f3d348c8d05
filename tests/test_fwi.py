"""Seismic FWI as a lio problem (lio.problems.imaging.fwi): prior, start, observation, knobs.

The wave solver's physics (Green's function, CFL, reciprocity, sponge) is tested in
tests/test_acoustic.py; these check what the problem adds, at the tiny config's size.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lio.problems import make_problem

TINY = {"size": 16, "extent": 0.4, "num_sources": 2, "num_receivers": 8, "record_time": 0.6,
        "sponge_width": 10}


@pytest.fixture(scope="module")
def problem():
    return make_problem("fwi", TINY)


def test_prior_is_layered_increases_with_depth_and_varies_laterally(problem, key):
    models = np.asarray(problem.sample(key, 32).solution).reshape(-1, 16, 16)
    assert models.min() >= problem.min_velocity and models.max() <= problem.max_velocity
    # velocity never decreases downwards, in every column of every model (sorted layers)
    assert np.all(np.diff(models, axis=1) >= 0)
    # piecewise constant: at most num_layers values per model, and more than one
    counts = [len(np.unique(m)) for m in models]
    assert max(counts) <= problem.num_layers and min(counts) >= 2
    # dipping interfaces: most models are not the same in every column
    lateral = [not np.allclose(m, m[:, :1]) for m in models]
    assert np.mean(lateral) > 0.5


def test_start_is_the_smooth_1d_prior_mean(problem, key):
    start = np.asarray(problem.prior_mean).reshape(16, 16)
    np.testing.assert_array_equal(start, np.broadcast_to(start[:, :1], start.shape))  # 1-D
    profile = start[:, 0]
    assert np.all(np.diff(profile) > 0)  # increases with depth
    # smooth: no step between adjacent rows is larger than a tenth of the box
    assert np.max(np.diff(profile)) < 0.1 * (problem.max_velocity - problem.min_velocity)
    # the mean of the prior at each depth: close to a fresh draw's mean per row
    fresh = np.asarray(problem.sample(key, 512).solution).reshape(-1, 16, 16).mean(axis=(0, 2))
    np.testing.assert_allclose(profile, fresh, atol=0.1)


def test_observation_is_shots_as_channels_with_the_configured_noise(problem, key):
    problems = problem.sample(key, 4)
    samples = -(-problem.wave.num_steps // problem.record_every)
    assert problems.observed.shape == (4, samples, 8, 2)  # (time, receivers, shots)
    # about 6 samples per period of the 5 Hz peak frequency
    np.testing.assert_allclose(problem.record_every * problem.dt, 1 / 30, rtol=0.1)
    clean = jax.vmap(problem.forward)(problems.solution, problems.condition)
    noise = np.asarray(problems.observed - clean)
    target = problem.noise_level * np.sqrt(np.mean(np.asarray(clean) ** 2, axis=(1, 2, 3)))
    ratio = noise.std(axis=(1, 2, 3)) / target
    assert np.all((ratio > 0.85) & (ratio < 1.15)), ratio


def test_the_loss_is_smallest_at_the_truth_along_a_velocity_scaling(problem, key):
    """Noise-free: the misfit of ``s * truth`` over ``s`` in [0.6, 1.4] is smallest at s = 1."""
    clean = make_problem("fwi", {**TINY, "noise_level": 0.0, "reg_weight": 0.0})
    problems = clean.sample(key, 2)
    scales = jnp.linspace(0.6, 1.4, 41)
    losses = jax.jit(jax.vmap(lambda s: clean.losses(problems.solution * s, problems)))(scales)
    np.testing.assert_allclose(scales[np.argmin(np.asarray(losses), axis=0)], 1.0)
    assert np.all(np.asarray(losses)[20] < 1e-20)


@pytest.mark.parametrize("params, match", [
    ({"peak_frequency": 12.0}, r"grid points per shortest wavelength .* expected >= 4"),
    ({"lowest_frequency": 5.0}, r"lowest_frequency must be in \[0, peak_frequency\) Hz, got 5.0"),
    ({"num_sources": 17}, r"num_sources must be in 1..size \(16\), got 17"),
    ({"min_velocity": 5.0}, r"min_velocity must be in \(0, max_velocity\), got 5.0"),
    ({"size": 4}, r"fwi: size must be >= 8 pixels, got 4"),
])
def test_bad_params_say_what_was_expected(params, match):
    with pytest.raises(ValueError, match=match):
        make_problem("fwi", {**TINY, **params})


def test_an_optimiser_step_beyond_the_box_stays_stable(problem, key):
    """The simulation clips velocities into [0.5 min, 1.2 max]: 3x the box's top is finite."""
    problems = problem.sample(key, 2)
    wild = problems.solution.at[:, :40].set(3 * problem.max_velocity)
    losses = jax.jit(problem.losses)(wild, problems)
    assert np.all(np.isfinite(np.asarray(losses)))
