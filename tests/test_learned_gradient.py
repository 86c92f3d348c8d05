"""Learned gradient descent: the method contract on every problem, its unrolled gradient against
finite differences, determinism, checkpointing, learning, and its option errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lio.run.config import problems_in
from lio.methods import STATUS, BFGSSettings, make_method
from lio.methods.learned_gradient import LOSSES
from lio.methods.training import tree_cast
from lio.problems import make_problem
from tests.conftest import ALL_PROBLEMS
from tests.test_problems import CONTRACT_PARAMS

# The contract table's sizes, with KS and Navier-Stokes at tests/data/tiny.yaml's sizes: the
# unrolled training differentiates each solve twice, at their full sizes seconds per step.
TINY_PARAMS = {
    **CONTRACT_PARAMS,
    "kuramoto_sivashinsky": {"resolution": 16, "dt": 1.0, "t_end": 10.0, "observe_every": 2},
    "navier_stokes": {"resolution": 16, "dt": 4.0},
}
N = 3


def options(problem, mode="joint", iterations=2, steps=3):
    kind = "conv" if len(problem.solution_shape) == 2 else "mlp"
    network = {"kind": kind, "features": [4]} if kind == "conv" else {"kind": kind, "hidden": [4, 4]}
    return {"mode": mode, "iterations": iterations, "network": network,
            "training": {"learning_rate": 1e-3, "steps": steps, "log_every": 0}}


def sets(problem, n=N, seed=0):
    key_problems, key_training, key_init = jax.random.split(jax.random.PRNGKey(seed), 3)
    return problem.sample(key_problems, n), problem.sample_training_set(key_training, n), key_init


@pytest.mark.parametrize("mode", ["joint", "supervised"])
@pytest.mark.parametrize("name", ALL_PROBLEMS)
def test_estimate_contract_on_every_problem(name, mode):
    problem = make_problem(name, TINY_PARAMS.get(name))
    problems, training_set, key = sets(problem)
    method = make_method("learned_gradient", options(problem, mode), BFGSSettings())
    assert method.needs_training_set == (mode == "supervised")
    estimate = method.solve(problem, problems, training_set if method.needs_training_set else None, key)
    assert estimate.solution.shape == (N, problem.num_parameters)
    assert estimate.solution.dtype == problems.observed.dtype
    assert estimate.loss.shape == estimate.status.shape == estimate.iterations.shape == (N,)
    assert np.all(np.isfinite(estimate.loss)) and np.all(np.isfinite(estimate.solution))
    assert {STATUS[s] for s in estimate.status} == {"completed"}
    np.testing.assert_array_equal(estimate.iterations, 3)
    # The true loss in float64 at the returned estimate (what refinement and the tables read).
    np.testing.assert_allclose(estimate.loss, problem.losses(estimate.solution, problems), rtol=1e-9)
    assert estimate.curve.shape == (3 + 1,) and np.all(np.isfinite(estimate.curve))
    # The update network starts at zero: the first curve value is the loss at BFGS's start.
    start = np.broadcast_to(problem.prior_mean, problems.solution.shape)
    np.testing.assert_allclose(estimate.curve[0], np.mean(problem.losses(start, problems)), rtol=1e-4)
    assert estimate.wall_time > 0


def perturbed_params(descent, key, scale=0.3):
    """Initial θ with every leaf moved at random, so the zero-initialised output layer is not
    zero and every weight has a gradient; in float64."""
    params = tree_cast(descent.init(key), jnp.float64)
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.fold_in(key, 1), len(leaves))
    return jax.tree.unflatten(
        tree, [a + scale * jax.random.normal(k, a.shape, a.dtype) for a, k in zip(leaves, keys, strict=True)]
    )


@pytest.mark.parametrize("mode", ["joint", "supervised"])
def test_unrolled_gradient_matches_central_differences(mode):
    """d(training loss)/dθ through K = 3 checkpointed iterations (each with its own gradient of
    the true loss) against a central difference along a random direction, all in float64."""
    problem = make_problem("oscillator")
    problems, training_set, key = sets(problem, n=4)
    method = make_method("learned_gradient", options(problem, mode, iterations=3), BFGSSettings())
    descent = method.descent(problem, jnp.float64)
    data = method.training_data(descent, problems, training_set)
    params = perturbed_params(descent, key)
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.PRNGKey(5), len(leaves))
    direction = jax.tree.unflatten(tree, [jax.random.normal(k, a.shape, a.dtype) for a, k in zip(leaves, keys, strict=True)])

    loss = jax.jit(lambda p: LOSSES[mode](p, {}, data)[0])
    gradient = jax.grad(loss)(params)
    analytic = sum(jnp.vdot(g, v) for g, v in zip(jax.tree.leaves(gradient), jax.tree.leaves(direction), strict=True))
    h = 1e-6  # float64: truncation O(h^2) and round-off O(1e-16 / h) both far below 1e-4
    shifted = [loss(jax.tree.map(lambda p, v, s=s: p + s * h * v, params, direction)) for s in (1, -1)]
    central = (shifted[0] - shifted[1]) / (2 * h)
    assert abs(float(analytic) - float(central)) < 1e-4 * abs(float(central)), (float(analytic), float(central))


def test_same_key_same_solution_other_key_other_solution():
    problem = make_problem("wavepacket")
    problems, _, key = sets(problem, n=4)
    method = make_method("learned_gradient", options(problem), BFGSSettings())
    first, again = (method.solve(problem, problems, None, key) for _ in range(2))
    np.testing.assert_array_equal(first.solution, again.solution)
    np.testing.assert_array_equal(first.curve, again.curve)
    other = method.solve(problem, problems, None, jax.random.PRNGKey(99))
    assert not np.array_equal(first.solution, other.solution)
    # it searches from BFGS's start, which the run's health compares with where it ended
    np.testing.assert_array_equal(first.initial, np.broadcast_to(problem.prior_mean, first.solution.shape))


def test_checkpointing_changes_neither_loss_nor_gradient():
    problem = make_problem("oscillator")
    problems, _, key = sets(problem, n=4)
    method = make_method("learned_gradient", options(problem, iterations=8), BFGSSettings())
    results = []
    for checkpoint in (True, False):
        descent = method.descent(problem, jnp.float64, checkpoint=checkpoint)
        data = method.training_data(descent, problems, None)
        params = perturbed_params(descent, key)
        results.append(jax.jit(jax.value_and_grad(lambda p, data: LOSSES["joint"](p, {}, data)[0]))(params, data))
    (loss, gradient), (plain_loss, plain_gradient) = results
    np.testing.assert_allclose(loss, plain_loss, rtol=1e-12)
    for a, b in zip(jax.tree.leaves(gradient), jax.tree.leaves(plain_gradient), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12 * float(jnp.max(jnp.abs(b))))


def test_projection_keeps_the_iterates_in_the_prior_box():
    """Large random steps leave the wave packet's box unless each step is projected onto it."""
    problem = make_problem("wavepacket")
    problems, _, key = sets(problem, n=8)
    lower, upper = (np.asarray(b) for b in problem.bounds)
    ends = {}
    for project in (True, False):
        method = make_method("learned_gradient", {**options(problem, iterations=4), "project": project}, BFGSSettings())
        descent = method.descent(problem, jnp.float64)
        ends[project] = np.asarray(descent(perturbed_params(descent, key, scale=3.0), problems))
    assert np.all((ends[True] >= lower) & (ends[True] <= upper))
    assert np.any((ends[False] < lower) | (ends[False] > upper))


def test_joint_training_learns_to_descend():
    """100 Adam steps on the oscillator's own losses: x_K ends well below the start x_0, inside
    the prior's box (unprojected, the same training reached a lower L/n only with every
    estimate outside the box: 9.0 against 15.9 at 200 steps)."""
    from lio.analysis import health

    problem = make_problem("oscillator")
    problems, _, key = sets(problem, n=16, seed=3)
    settings = {"iterations": 5, "network": {"kind": "mlp", "hidden": [16, 16]},
                "training": {"learning_rate": 1e-3, "steps": 100, "log_every": 0}}
    estimate = make_method("learned_gradient", settings, BFGSSettings()).solve(problem, problems, None, key)
    start = float(np.mean(problem.losses(np.broadcast_to(problem.prior_mean, problems.solution.shape), problems)))
    final = float(np.mean(estimate.loss))
    assert final < 0.7 * start, f"L/n at x_0 {start:.4g}, at x_K after 100 steps {final:.4g}"  # measured 28.7 -> 18.1
    assert health.diagnose(problem, estimate.solution, np.asarray(problems.solution))[1]["outside"] == 0.0


@pytest.mark.parametrize(
    "given, match",
    [
        ({"mode": "unsupervised"}, r"mode 'unsupervised' is not known; expected one of \['joint', 'supervised'\]"),
        ({"iterations": 0}, r"iterations must be an integer >= 1 .*got 0; try 10"),
        ({"network": {"kind": "unet"}}, r"network kind 'unet' is not known; expected one of \['conv', 'mlp'\]"),
        ({"network": {"kind": "mlp", "features": [4]}}, r"key\(s\) \['features'\] do not apply to kind 'mlp'"),
        ({"network": {"activation": "swish"}}, r"activation 'swish' is not known"),
        ({"project": "yes"}, r"project must be true or false"),
    ],
)
def test_bad_options_are_named(given, match):
    with pytest.raises(ValueError, match=match):
        make_method("learned_gradient", given, BFGSSettings())


def test_network_kind_must_fit_the_unknown():
    problem = make_problem("wavepacket")
    problems, _, key = sets(problem)
    method = make_method("learned_gradient", {"network": {"kind": "conv"}}, BFGSSettings())
    with pytest.raises(ValueError, match=r"kind 'conv' does not fit an unknown of shape \(1,\); expected kind 'mlp'"):
        method.solve(problem, problems, None, key)
    # The config check finds it before any job runs.
    config = {"experiments": {"wavepacket": {"problem": "wavepacket", "ns": [4], "seeds": [0], "methods": {
        "bfgs": {}, "learned_gradient": {"network": {"kind": "conv"}}}}}}
    assert any("methods.learned_gradient: learned_gradient: network kind 'conv' does not fit" in e for e in problems_in(config))


def test_supervised_mode_without_a_training_set_is_refused():
    problem = make_problem("wavepacket")
    problems, _, key = sets(problem)
    method = make_method("learned_gradient", {"mode": "supervised"}, BFGSSettings())
    with pytest.raises(ValueError, match="mode 'supervised' trains on the labelled training set, but none was given"):
        method.solve(problem, problems, None, key)
