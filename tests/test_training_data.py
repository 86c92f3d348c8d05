"""Training data apart from n (issue 38): minibatches of a labelled set, a training set whose size
is its own config key, and learned gradient descent from the classical reconstruction."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lio.methods import BFGSSettings, make_method
from lio.methods.training import TrainSettings, minibatch, training_batches
from lio.problems import make_problem
from lio.analysis import results
from lio.run import experiment

CT = {"size": 16, "num_angles": 8}


def test_minibatches_visit_every_example_once_per_epoch():
    examples = {"x": jnp.arange(10.0), "y": jnp.arange(10.0) * 2}
    key = jax.random.PRNGKey(0)
    seen = [minibatch(examples, jnp.asarray(step), 5, key) for step in range(4)]
    for batch in seen:
        np.testing.assert_array_equal(batch["y"], batch["x"] * 2)  # rows stay paired
    first, second = (np.concatenate([seen[i]["x"], seen[i + 1]["x"]]) for i in (0, 2))
    assert sorted(first) == sorted(second) == list(range(10))
    assert not np.array_equal(first, second)  # each epoch is shuffled anew
    # A batch that straddles two epochs (3 does not divide 10) still has no repeat in an epoch.
    rows = np.concatenate([minibatch(examples, jnp.asarray(s), 3, key)["x"] for s in range(3)])
    assert len(set(rows[:9])) == 9
    jitted = jax.jit(lambda step: minibatch(examples, step, 5, key)["x"])
    np.testing.assert_array_equal(jitted(jnp.asarray(1)), seen[1]["x"])
    assert minibatch(examples, jnp.asarray(3), 0, key) is examples


def test_batch_size_zero_is_full_batch_and_bad_values_name_the_key():
    assert training_batches(TrainSettings(batch_size=0), jax.random.PRNGKey(0), at=1) is None
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match="batch_size must be an integer >= 0"):
            TrainSettings(batch_size=bad)


def test_minibatched_supervised_training_is_deterministic_and_differs_from_full_batch():
    problem = make_problem("wavepacket", {"num_samples": 32})
    problems = problem.sample(jax.random.PRNGKey(1), 4)
    training = problem.sample_training_set(jax.random.PRNGKey(2), 16)
    network = {"kind": "mlp", "hidden": [8]}

    def run(batch_size):
        options = {"network": network, "training": {"learning_rate": 1e-2, "steps": 5,
                                                    "log_every": 0, "batch_size": batch_size}}
        method = make_method("supervised", options, BFGSSettings())
        return method.solve(problem, problems, training, jax.random.PRNGKey(3)).solution

    np.testing.assert_array_equal(run(4), run(4))
    assert not np.array_equal(run(4), run(0))


def test_training_set_size_is_its_own_key_and_shared_by_every_n(tmp_path):
    config = {"experiments": {"ct": {"problem": "ct", "params": CT, "ns": [2, 4], "seeds": [0],
                                     "training_set_size": 6, "methods": {"bfgs": {}}}}}
    sets = {}
    for n in (2, 4):
        path = tmp_path / f"n{n}.nc"
        experiment.sample_data(config, "ct", n, 0, str(path))
        data = results.open_dataset(str(path))
        sets[n] = (results.dataset_to_problem_set(data, "problems"),
                   results.dataset_to_problem_set(data, "training"))
    assert sets[2][0].n == 2 and sets[4][0].n == 4
    assert sets[2][1].n == sets[4][1].n == 6
    np.testing.assert_array_equal(sets[2][1].solution, sets[4][1].solution)
    # Without the key: the paper's coupling, n examples drawn per (n, seed).
    del config["experiments"]["ct"]["training_set_size"]
    path = tmp_path / "paper.nc"
    experiment.sample_data(config, "ct", 4, 0, str(path))
    assert results.dataset_to_problem_set(results.open_dataset(str(path)), "training").n == 4


def lgd_options(**extra):
    return {"mode": "supervised", "iterations": 2, "network": {"kind": "conv", "features": [4]},
            "training": {"learning_rate": 1e-3, "steps": 2, "log_every": 0, "batch_size": 2},
            **extra}


def test_learned_gradient_starts_at_the_reconstruction_in_the_box():
    problem = make_problem("ct", CT)
    problems = problem.sample(jax.random.PRNGKey(0), 3)
    training = problem.sample_training_set(jax.random.PRNGKey(1), 4)
    method = make_method("learned_gradient", lgd_options(start="reconstruction", memory=2), BFGSSettings())
    method.check(problem)
    estimate = method.solve(problem, problems, training, jax.random.PRNGKey(2))
    fbp = jax.vmap(problem.network_input)(problems.observed, problems.condition).reshape(3, -1)
    np.testing.assert_allclose(estimate.initial, np.clip(fbp, 0, 1), atol=1e-6)
    assert np.all(np.isfinite(estimate.solution))
    # Untrained (zero output layer) the estimate is the start: the curve begins at its loss.
    start_loss = np.mean(problem.losses(jnp.asarray(estimate.initial), problems))
    np.testing.assert_allclose(estimate.curve[0], start_loss, rtol=1e-4)


@pytest.mark.parametrize(("extra", "message"), [
    ({"start": "fbp"}, "start 'fbp' is not known"),
    ({"memory": -1}, "memory must be an integer >= 0"),
])
def test_learned_gradient_option_errors(extra, message):
    with pytest.raises(ValueError, match=message):
        make_method("learned_gradient", lgd_options(**extra), BFGSSettings())


@pytest.mark.parametrize(("extra", "message"), [
    ({"start": "reconstruction"}, "needs a classical reconstruction on the solution's grid"),
    ({"memory": 2}, "memory 2 needs a conv update on an image unknown"),
])
def test_learned_gradient_refuses_what_a_vector_unknown_cannot_do(extra, message):
    problem = make_problem("wavepacket", {"num_samples": 32})
    options = {**lgd_options(**extra), "network": {"kind": "mlp", "hidden": [4]}}
    with pytest.raises(ValueError, match=message):
        make_method("learned_gradient", options, BFGSSettings()).check(problem)


def test_a_method_that_learns_apart_from_n_is_calibrated_at_one_size():
    from lio.run import calibration

    methods = {"bfgs": {}, "reparameterized": {}, "supervised": {},
               "learned_gradient": {"mode": "supervised", "network": {"kind": "conv"}}}
    block = {"problem": "ct", "params": CT, "ns": [4, 16, 64], "seeds": [0], "methods": methods}
    config = {"calibration": {"n": 64, "per_n": True}, "experiments": {"ct": block}}
    # The paper's coupling: every method's training changes with n, each n below 64 its own ladder.
    assert calibration.sizes(config, "ct", "supervised") == [4, 16, 64]
    block["training_set_size"] = 32
    assert calibration.sizes(config, "ct", "supervised") == [64]
    assert calibration.sizes(config, "ct", "learned_gradient") == [64]
    # Joint training solves the n problems themselves: still one ladder per size.
    assert calibration.sizes(config, "ct", "reparameterized") == [4, 16, 64]


def test_the_neural_adjoint_surrogate_trains_on_minibatches_of_its_rows():
    problem = make_problem("wavepacket", {"num_samples": 32})
    problems = problem.sample(jax.random.PRNGKey(1), 3)
    training = problem.sample_training_set(jax.random.PRNGKey(2), 12)

    def run(batch_size):
        options = {"surrogate": {"kind": "mlp", "hidden": [8]},
                   "training": {"learning_rate": 1e-2, "steps": 5, "log_every": 0,
                                "batch_size": batch_size}}
        method = make_method("neural_adjoint", options, BFGSSettings(max_iterations=5))
        return method.solve(problem, problems, training, jax.random.PRNGKey(3)).extra["surrogate_final_mse"]

    assert run(4) == run(4)
    assert run(4) != run(0)
