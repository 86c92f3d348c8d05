"""The shared full-batch Adam loop: same steps as a plain optax loop, divergence handled on the
device (the host reads losses back only in blocks)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lio.methods.training import TrainSettings, train


def quadratic(params, state, target):
    loss = jnp.sum((params["w"] - target) ** 2)
    return loss, (state, loss / 2)


@pytest.mark.parametrize("log_every", [0, 7, 100])
def test_matches_a_plain_optax_loop(log_every):
    params = {"w": jnp.array([0.0, 1.0, -2.0])}
    settings = TrainSettings(learning_rate=0.1, steps=123, log_every=log_every)
    trained = train(quadratic, params, None, settings, "test", jnp.full(3, 3.0))

    optimizer = optax.adam(0.1)
    opt_state, w, expected = optimizer.init(params), params, []
    for _ in range(settings.steps):
        loss, grads = jax.value_and_grad(lambda p: quadratic(p, None, 3.0)[0])(w)
        expected.append(float(loss) / 2)
        updates, opt_state = optimizer.update(grads, opt_state, w)
        w = optax.apply_updates(w, updates)
    expected.append(float(quadratic(w, None, 3.0)[0]) / 2)

    assert not trained.diverged
    np.testing.assert_allclose(trained.curve, expected, rtol=1e-6)
    np.testing.assert_allclose(trained.params["w"], w["w"], rtol=1e-6)
    assert trained.curve[-1] < 1e-3 * trained.curve[0]
    # Timers: the first step includes compiling it, so it outlasts a later one.
    assert 0 < trained.step_time < trained.first_step_time <= trained.wall_time


def test_a_separate_monitor_runs_every_kth_step_and_leaves_training_unchanged():
    params = {"w": jnp.array([0.0, 1.0, -2.0])}
    calls = []

    def monitor(params, state, target):
        jax.debug.callback(lambda: calls.append(1))  # runs only in the branch taken
        return jnp.sum((params["w"] - target) ** 2) / 2

    every = train(quadratic, params, None, TrainSettings(0.1, 23, 0), "test", jnp.full(3, 3.0))
    thinned = train(
        quadratic, params, None, TrainSettings(0.1, 23, 0, monitor_every=5), "test",
        jnp.full(3, 3.0), monitor=monitor,
    )
    # Steps 0, 5, 10, 15, 20 and the final value are monitored, the rest are NaN.
    monitored = np.isfinite(thinned.curve)
    np.testing.assert_array_equal(np.flatnonzero(monitored), [0, 5, 10, 15, 20, 23])
    np.testing.assert_allclose(thinned.curve[monitored], every.curve[monitored], rtol=1e-6)
    assert len(calls) == 6
    # The monitor only reads: the variables are those of training without it.
    np.testing.assert_array_equal(thinned.params["w"], every.params["w"])


def test_monitor_every_must_be_a_positive_integer():
    with pytest.raises(ValueError, match="monitor_every must be an integer >= 1, got 0"):
        TrainSettings(monitor_every=0)


def test_divergence_keeps_the_last_finite_variables_and_nans_the_rest():
    # The loss turns non-finite once the counter in ``state`` reaches 64 (mid-block).
    def blows_up(params, state, data):
        loss = jnp.sum(params["w"] ** 2) + jnp.where(state >= 64, jnp.inf, 0.0)
        return loss, (state + 1, loss)

    params = {"w": jnp.array([1.0, 2.0])}
    settings = TrainSettings(learning_rate=0.01, steps=500, log_every=0)
    trained = train(blows_up, params, jnp.array(0), settings, label="test")

    assert trained.diverged
    assert np.all(np.isfinite(trained.curve[:64]))
    assert np.all(np.isnan(trained.curve[64:]))
    # The variables returned are those of step 63, the last with a finite loss.
    assert int(trained.state) == 63
    assert float(jnp.sum(trained.params["w"] ** 2)) == pytest.approx(trained.curve[63])


def test_final_non_finite_loss_is_divergence():
    # Finite during all steps, non-finite at the final evaluation only.
    def last_blows_up(params, state, data):
        loss = jnp.sum(params["w"] ** 2) + jnp.where(state >= 10, jnp.nan, 0.0)
        return loss, (state + 1, loss)

    settings = TrainSettings(learning_rate=0.01, steps=10, log_every=0)
    trained = train(last_blows_up, {"w": jnp.ones(2)}, jnp.array(0), settings, label="test")
    assert trained.diverged
    assert int(trained.state) == 9
    assert np.all(np.isfinite(trained.curve[:10])) and np.isnan(trained.curve[10])


@pytest.mark.parametrize("name", ["reparameterized", "supervised", "neural_adjoint", "learned_gradient", "diffusion"])
def test_compiled_step_does_not_depend_on_the_data_values(monkeypatch, name):
    """Seeds differ only in data: the step's compiled code must be the same, so that the
    persistent compilation cache serves every seed after the first."""
    from lio.run.experiment import enable_float64
    from lio.run.spec import problem_of
    from lio.methods import make_method
    from lio.methods.bfgs import BFGSSettings

    compiled = []
    original = jax.jit

    def recording_jit(fun, *args, **kwargs):
        jitted = original(fun, *args, **kwargs)
        if getattr(fun, "__name__", "") != "step":
            return jitted

        def call(*call_args):
            compiled.append(jitted.lower(*call_args).as_text())
            return jitted(*call_args)

        return call

    enable_float64()
    config = {"experiments": {"wavepacket": {"problem": "wavepacket"}}}
    problem = problem_of(config, "wavepacket")
    net = "surrogate" if name == "neural_adjoint" else "network"
    options = {net: {"kind": "mlp", "hidden": [8]},
               "training": {"learning_rate": 1e-3, "steps": 2, "log_every": 0}}
    method = make_method(name, options, BFGSSettings(max_iterations=3))
    monkeypatch.setattr(jax, "jit", recording_jit)
    for seed in (0, 1):
        problems = problem.sample(jax.random.PRNGKey(seed), 4)
        training_set = problem.sample(jax.random.PRNGKey(seed + 10), 8)
        method.solve(problem, problems, training_set, jax.random.PRNGKey(seed))
    monkeypatch.undo()
    assert len(compiled) == 6  # per seed: two steps and the final evaluation
    assert compiled[0] == compiled[-1]
