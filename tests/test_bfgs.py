"""Batched optimistix BFGS against scipy's BFGS on named test functions, and its statuses."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

from lio.methods import STATUS, BFGSSettings, minimize_batch


def rosenbrock(x, _):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def quadratic(x, _):
    scales = jnp.array([1.0, 10.0, 100.0])
    return jnp.sum(scales * (x - jnp.array([1.0, -2.0, 0.5])) ** 2)


def himmelblau(x, _):
    return (x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2


def beale(x, _):
    a, b = x
    return (1.5 - a + a * b) ** 2 + (2.25 - a + a * b**2) ** 2 + (2.625 - a + a * b**3) ** 2


# (function, starts, unique minimum?) Himmelblau has four global minima: from the same start
# the two implementations may take different first steps (scipy scales its first step) and
# land in different ones, so there only the loss is compared.
CASES = [
    (rosenbrock, [[-1.2, 1.0], [0.0, 0.0], [2.0, 2.0]], True),
    (quadratic, [[0.0, 0.0, 0.0], [5.0, 5.0, 5.0]], True),
    (himmelblau, [[0.0, 0.0], [-1.0, -1.0], [1.0, -3.0]], False),
    (beale, [[1.0, 1.0], [0.0, 0.5]], True),
]


@pytest.mark.parametrize("function, starts, unique", CASES, ids=[c[0].__name__ for c in CASES])
def test_matches_scipy_bfgs(function, starts, unique):
    starts = jnp.array(starts, dtype=jnp.float64)
    outcome = jax.jit(
        lambda y0: minimize_batch(function, y0, jnp.zeros(len(starts)), BFGSSettings())
    )(starts)
    for i, start in enumerate(np.asarray(starts)):
        reference = scipy.optimize.minimize(
            lambda x: float(function(jnp.asarray(x), None)),
            start,
            jac=lambda x: np.asarray(jax.grad(function)(jnp.asarray(x), None)),
            method="BFGS",
            options={"gtol": 1e-10},
        )
        assert STATUS[int(outcome.status[i])] == "converged"
        # Both reach the same minimum of these functions to well below 1e-8 in the loss
        # (scipy's gtol=1e-10 and our Cauchy rtol=1e-10 both sit near float64 limits).
        assert float(outcome.loss[i]) <= reference.fun + 1e-8
        if unique:
            np.testing.assert_allclose(outcome.solution[i], reference.x, atol=1e-4)
        gradient = jax.grad(function)(outcome.solution[i], None)
        assert float(jnp.max(jnp.abs(gradient))) < 1e-4


def test_history_is_the_loss_per_iteration_and_never_increases():
    starts = jnp.array([[-1.2, 1.0], [2.0, 2.0]])
    outcome = minimize_batch(rosenbrock, starts, jnp.zeros(2), BFGSSettings())
    history = np.asarray(outcome.history)
    assert history.shape == (2, 1001)
    np.testing.assert_allclose(history[:, 0], [rosenbrock(s, None) for s in starts])
    # Armijo line search: every accepted iterate lowers the loss.
    assert np.all(np.diff(history, axis=1) <= 1e-12)
    for i in range(2):
        last = int(outcome.iterations[i])
        np.testing.assert_allclose(history[i, last:], outcome.loss[i])


def test_max_steps_status_when_iterations_run_out():
    outcome = minimize_batch(
        rosenbrock, jnp.array([[-1.2, 1.0]]), jnp.zeros(1), BFGSSettings(max_iterations=3)
    )
    assert STATUS[int(outcome.status[0])] == "max_steps"
    assert int(outcome.iterations[0]) == 3


def test_non_finite_objective_is_reported_as_diverged_per_example():
    def blows_up(x, scale):
        return jnp.sum(x**2) + scale * jnp.log(x[0])  # log of a negative: NaN

    starts = jnp.array([[1.0, 1.0], [-1.0, 1.0]])
    outcome = minimize_batch(blows_up, starts, jnp.array([0.0, 1.0]), BFGSSettings())
    assert [STATUS[int(s)] for s in outcome.status] == ["converged", "diverged"]
    assert np.isfinite(outcome.loss[0]) and not np.isfinite(outcome.loss[1])


def test_monitor_is_recorded_instead_of_the_objective():
    outcome = minimize_batch(
        quadratic,
        jnp.zeros((1, 3)),
        jnp.zeros(1),
        BFGSSettings(),
        monitor=lambda x, _: jnp.sum(x),
    )
    np.testing.assert_allclose(outcome.history[0, -1], float(jnp.sum(outcome.solution[0])))


@pytest.mark.parametrize("batch_size", [1, 2, 3])
def test_batch_size_runs_the_same_iterations_in_smaller_batches(batch_size):
    starts = jnp.array([[-1.2, 1.0], [0.0, 0.0], [2.0, 2.0], [1.5, -0.5], [-2.0, 3.0]])
    whole = minimize_batch(rosenbrock, starts, jnp.zeros(5), BFGSSettings())
    batched = minimize_batch(rosenbrock, starts, jnp.zeros(5), BFGSSettings(batch_size=batch_size))
    # 5 examples in batches of 2 or 3 leave a remainder batch: every example still comes back.
    assert batched.solution.shape == whole.solution.shape
    np.testing.assert_array_equal(batched.iterations, whole.iterations)
    np.testing.assert_array_equal(batched.status, whole.status)
    np.testing.assert_allclose(batched.solution, whole.solution, rtol=1e-12, atol=1e-14)
    # Batches of one run as a plain loop, compiled apart from the vmapped program: the same
    # iterates to round-off, which the Rosenbrock valley amplifies to ~1e-8 in the late losses.
    tolerance = {"rtol": 1e-6, "atol": 1e-8} if batch_size == 1 else {"rtol": 1e-12, "atol": 1e-14}
    np.testing.assert_allclose(batched.history, whole.history, **tolerance)


def test_batch_size_per_platform_takes_the_entry_of_the_platform_jax_runs_on():
    import jax

    here = jax.default_backend()
    assert here == "cpu"  # the tests run on CPU (CI has no GPU)
    assert BFGSSettings(batch_size={"cpu": 1, "gpu": 0}).batch_size == 1
    assert BFGSSettings(batch_size={"gpu": 4}).batch_size == 0  # a platform not named: all at once
    assert BFGSSettings(batch_size=3).batch_size == 3
    hash(BFGSSettings(batch_size={"cpu": 2}))  # static field: hashable for jit
    with pytest.raises(ValueError, match=r"names platform\(s\) \['tpu'\]; expected keys among \['cpu', 'gpu'\]"):
        BFGSSettings(batch_size={"tpu": 1})
    with pytest.raises(ValueError, match="bfgs.batch_size is -1; expected an integer >= 0"):
        BFGSSettings(batch_size={"cpu": -1})


def test_tanh_parameterization_solves_inside_the_box_and_inverts_the_tanh(key):
    from lio.methods.bfgs import bfgs_on_problems
    from lio.problems import WavePacket

    problem = WavePacket()
    problems = problem.sample(key, 6)
    inside = problems.solution
    edge = jnp.broadcast_to(problem.bounds[1], inside.shape)
    # to_network inverts from_network inside the box, and stays finite on the box's edge
    np.testing.assert_allclose(problem.from_network(problem.to_network(inside)), inside, rtol=1e-10)
    assert np.all(np.isfinite(problem.to_network(edge)))
    # from the truth, BFGS in either parameterisation stays in the truth's basin (the loss is
    # the noise energy there); tanh's solutions lie strictly inside the box by construction
    for parameterization in ("raw", "tanh"):
        settings = BFGSSettings(parameterization=parameterization)
        outcome, _ = bfgs_on_problems(problem, problems, inside, settings)
        np.testing.assert_allclose(outcome.solution, inside, atol=0.5)
        assert np.all(outcome.loss <= problem.losses(inside, problems) + 1e-9)
    lower, upper = problem.bounds
    start = jnp.broadcast_to(problem.prior_mean, inside.shape)
    outcome, _ = bfgs_on_problems(problem, problems, start, BFGSSettings(parameterization="tanh"))
    assert np.all((outcome.solution > lower) & (outcome.solution < upper))


def test_unknown_parameterization_is_rejected_with_the_choices():
    with pytest.raises(ValueError, match=r"parameterization is 'logit'; expected one of \('raw', 'tanh', 'projected'\)"):
        BFGSSettings(parameterization="logit")
