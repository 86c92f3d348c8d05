"""Every method on a tiny wave-packet set: shapes, statuses, determinism, training progress."""

import re

import jax
import numpy as np
import pytest

from lio.methods import METHODS, STATUS, BFGSSettings, make_method, refine
from lio.problems import WavePacket

NET = {"kind": "conv", "features": [4, 4, 8, 8, 8], "dense": 16}
OPTIONS = {
    "bfgs": {},
    "reparameterized": {"network": NET, "training": {"learning_rate": 1e-3, "steps": 30, "log_every": 0}},
    "supervised": {"network": NET, "training": {"learning_rate": 1e-3, "steps": 30, "log_every": 0}},
    "neural_adjoint": {
        "surrogate": {"kind": "mlp", "hidden": [32, 32]},
        "training": {"learning_rate": 1e-3, "steps": 30, "log_every": 0},
    },
    "diffusion": {
        "network": {"kind": "mlp", "hidden": [16, 16]},
        "diffusion_steps": 50,
        "sampling_steps": 5,
        "guidance": 1e-3,
        "training": {"learning_rate": 1e-3, "steps": 30, "log_every": 0},
    },
    "random_start": {"starts": 1},
    "best_of_random_starts": {"starts": 3},
}
N = 6


@pytest.fixture(scope="module")
def setting():
    problem = WavePacket()
    key_problems, key_training, key_init = jax.random.split(jax.random.PRNGKey(7), 3)
    return problem, problem.sample(key_problems, N), problem.sample_training_set(key_training, N), key_init


def solve(name, setting, key=None):
    problem, problems, training_set, key_init = setting
    method = make_method(name, OPTIONS[name], BFGSSettings())
    return method.solve(problem, problems, training_set if method.needs_training_set else None, key if key is not None else key_init)


def test_registry_covers_the_paper_methods():
    assert set(METHODS) == {
        "bfgs", "reparameterized", "supervised", "neural_adjoint", "learned_gradient", "diffusion",
        "random_start", "best_of_random_starts",
    }
    assert [name for name, cls in METHODS.items() if not cls.learns] == [
        "bfgs", "random_start", "best_of_random_starts",
    ]


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_estimate_shapes_statuses_and_true_losses(name, setting):
    problem, problems, _, _ = setting
    estimate = solve(name, setting)
    assert estimate.solution.shape == (N, 1)
    assert estimate.loss.shape == estimate.status.shape == estimate.iterations.shape == (N,)
    assert np.all(np.isfinite(estimate.loss))
    assert {STATUS[s] for s in estimate.status} <= {"converged", "max_steps", "completed"}
    np.testing.assert_allclose(estimate.loss, problem.losses(estimate.solution, problems), rtol=1e-9)
    lower, upper = problem.bounds
    if METHODS[name].learns:  # networks end in a scaled tanh, diffusion samples are clipped; BFGS is unconstrained
        assert np.all(estimate.solution >= lower) and np.all(estimate.solution <= upper)
    assert estimate.curve.ndim == 1 and np.isfinite(estimate.curve[0])
    assert estimate.wall_time > 0


@pytest.mark.parametrize("name", ["reparameterized", "neural_adjoint", "diffusion", "random_start"])
def test_same_key_same_result_other_key_other_result(name, setting):
    first, again = solve(name, setting), solve(name, setting)
    np.testing.assert_array_equal(first.loss, again.loss)
    other = solve(name, setting, key=jax.random.PRNGKey(99))
    assert not np.array_equal(first.solution, other.solution)


def test_reparameterized_training_lowers_the_joint_loss():
    # A narrow prior (one envelope wide) so that every example feels a gradient from the start.
    problem = WavePacket(t0_low=124.0, t0_high=132.0)
    key_problems, key_init = jax.random.split(jax.random.PRNGKey(3))
    problems = problem.sample(key_problems, 16)
    options = {"network": NET, "training": {"learning_rate": 1e-3, "steps": 100, "log_every": 0}}
    estimate = make_method("reparameterized", options, BFGSSettings()).solve(problem, problems, None, key_init)
    assert estimate.curve[-1] < 0.8 * estimate.curve[0]


def test_refinement_never_raises_the_loss(setting):
    problem, problems, _, _ = setting
    estimate = solve("reparameterized", setting)
    refined = refine(problem, problems, estimate, BFGSSettings())
    assert np.all(refined.loss <= estimate.loss + 1e-12)


def test_bfgs_starts_at_the_prior_mean(setting):
    problem, problems, _, _ = setting
    estimate = solve("bfgs", setting)
    start = problem.losses(np.broadcast_to(problem.prior_mean, (N, 1)), problems)
    np.testing.assert_allclose(estimate.curve[0], np.mean(start))


def test_training_progress_is_printed(setting, capsys):
    problem, problems, _, key = setting
    options = {"network": NET, "training": {"learning_rate": 1e-3, "steps": 4, "log_every": 2}}
    make_method("reparameterized", options, BFGSSettings()).solve(problem, problems, None, key)
    printed = capsys.readouterr().out
    assert "[reparameterized n=6] step     1/4  loss" in printed
    assert "step     4/4" in printed
    # after the compiling first step: the rate and the time left at it
    assert re.search(r"step     2/4 .* steps/s, \d+s left", printed)


def test_divergent_learning_rate_is_reported_not_crashing(setting):
    problem, problems, _, key = setting
    options = {"network": NET, "training": {"learning_rate": 1e30, "steps": 20, "log_every": 0}}
    estimate = make_method("reparameterized", options, BFGSSettings()).solve(problem, problems, None, key)
    # An absurd rate either saturates the tanh (finite, "completed") or overflows ("diverged"):
    # in both cases every example has a status and nothing raised.
    assert {STATUS[s] for s in estimate.status} <= {"completed", "diverged"}


@pytest.mark.parametrize(
    "name, options, match",
    [
        ("bfgss", {}, r"unknown method 'bfgss'; expected one of \[.*'bfgs', "),
        ("reparameterized", {"netwrk": {}}, r"unknown option\(s\) \['netwrk'\]"),
        ("supervised", {"training": {"learning_rate": 0.0}}, "learning_rate must be > 0, got 0.0"),
        ("supervised", {"training": {"steps": 0}}, "steps must be >= 1, got 0"),
    ],
)
def test_bad_method_config_is_named(name, options, match):
    with pytest.raises(ValueError, match=match):
        make_method(name, options, BFGSSettings())


def test_bad_network_kind_is_named(setting):
    problem, problems, _, key = setting
    method = make_method("reparameterized", {"network": {"kind": "transformer"}}, BFGSSettings())
    with pytest.raises(ValueError, match=r"network kind 'transformer' is not known; expected one of \['conv', 'mlp', 'unet'\]"):
        method.solve(problem, problems, None, key)


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_every_method_reports_where_its_search_started(name, setting):
    problem, problems, _, _ = setting
    estimate = solve(name, setting)
    assert estimate.initial is not None and estimate.initial.shape == estimate.solution.shape
    if name in ("bfgs", "neural_adjoint", "learned_gradient"):  # these search from the prior mean
        np.testing.assert_array_equal(estimate.initial, np.broadcast_to(problem.prior_mean, (N, 1)))
    elif not METHODS[name].learns:  # the random-start controls: BFGS from uniform draws in the box
        lower, upper = problem.bounds
        assert np.all(estimate.initial >= lower) and np.all(estimate.initial <= upper)
        assert np.std(estimate.initial) > 0
    else:  # the untrained network's outputs (diffusion: the first x0_hat): in the box, spread, and moved
        lower, upper = problem.bounds
        assert np.all(estimate.initial >= lower) and np.all(estimate.initial <= upper)
        assert np.std(estimate.initial) > 0 and not np.array_equal(estimate.initial, estimate.solution)


def test_the_best_of_random_starts_keeps_each_problems_lowest_loss_of_its_draws(setting):
    """Every problem keeps one of its own draws' runs: the one ending lowest."""
    from lio.methods import bfgs_on_problems
    from lio.methods.random_start import uniform_starts

    problem, problems, _, key = setting
    best = solve("best_of_random_starts", setting)
    assert best.extra == {"starts": 3}
    draws = np.asarray(uniform_starts(problem, key, 3, N, problems.observed.dtype))
    ends = [bfgs_on_problems(problem, problems, draw, BFGSSettings())[0].loss for draw in draws]
    np.testing.assert_allclose(best.loss, np.min(ends, axis=0), rtol=1e-9)
    for i in range(N):
        assert any(np.array_equal(best.initial[i], draw[i]) for draw in draws)


@pytest.mark.parametrize("starts", [0, 2.5, True])
def test_random_start_needs_a_positive_integer_number_of_starts(starts):
    with pytest.raises(ValueError, match="starts must be a positive integer"):
        make_method("best_of_random_starts", {"starts": starts}, BFGSSettings())
