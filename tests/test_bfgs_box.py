"""``bfgs.parameterization: projected``: (L-)BFGS kept in a box by projection, against scipy's
L-BFGS-B on bounded test functions, and its bad inputs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

from lio.methods import STATUS, BFGSSettings, minimize_batch
from lio.methods.projected import ProjectedBFGS, ProjectedLBFGS


def rosenbrock(x, _):
    return jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


SCALES = jnp.logspace(0, 2, 10)
CENTRE = jnp.linspace(-1.5, 1.5, 10)


def coupled_quadratic(x, _):
    """Convex (diagonal 1..100, off-diagonal 0.3), its minimum outside [-1, 1]^10 at both ends."""
    return 0.5 * jnp.sum(SCALES * (x - CENTRE) ** 2) + 0.3 * jnp.sum(x[1:] * x[:-1])


# (function, lower, upper, starts): each box cuts off the unconstrained minimum, so the
# solution has variables on a face (Rosenbrock's (1, ..., 1) lies outside all three boxes).
CASES = [
    (rosenbrock, [-2.0, 1.5], [2.0, 2.0], [[-1.2, 1.5], [0.3, 1.7], [1.9, 2.0]]),
    (rosenbrock, [0.0] * 5, [0.5] * 5, [[0.0] * 5, [0.3] * 5, [0.5] * 5]),
    (coupled_quadratic, [-1.0] * 10, [1.0] * 10, [[-1.0] * 10, [0.3] * 10, [1.0] * 10]),
]


def outside(lower, upper):
    """How far an iterate lies outside the box (<= 0 inside): recorded at every iterate."""
    return lambda y, _: jnp.maximum(jnp.max(lower - y), jnp.max(y - upper))


@pytest.mark.parametrize("solver", ["bfgs", "lbfgs"])
@pytest.mark.parametrize(
    "function, lower, upper, starts", CASES, ids=["rosenbrock2", "rosenbrock5", "quadratic10"]
)
def test_projected_stays_in_the_box_and_matches_scipy_lbfgsb(solver, function, lower, upper, starts):
    lower, upper, starts = (jnp.array(a, dtype=jnp.float64) for a in (lower, upper, starts))
    settings = BFGSSettings(solver=solver)
    outcome = jax.jit(lambda y0: minimize_batch(
        function, y0, jnp.zeros(len(starts)), settings, bounds=(lower, upper)))(starts)
    watched = jax.jit(lambda y0: minimize_batch(
        function, y0, jnp.zeros(len(starts)), settings, monitor=outside(lower, upper),
        bounds=(lower, upper)))(starts)
    # Every accepted iterate exactly inside the box, not merely to round-off.
    assert float(jnp.max(watched.history)) <= 0.0
    for i, start in enumerate(np.asarray(starts)):
        reference = scipy.optimize.minimize(
            lambda x: float(function(jnp.asarray(x), None)),
            start,
            jac=lambda x: np.asarray(jax.grad(function)(jnp.asarray(x), None)),
            method="L-BFGS-B",
            bounds=list(zip(np.asarray(lower), np.asarray(upper), strict=True)),
            options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10000},
        )
        assert STATUS[int(outcome.status[i])] == "converged"
        # Each case has one minimiser in its box. Measured: solutions within 1.5e-8 of scipy's
        # and losses within 1e-15; 1e-6 / 1e-12 leave room for round-off on another machine.
        np.testing.assert_allclose(outcome.solution[i], reference.x, atol=1e-6)
        assert float(outcome.loss[i]) <= reference.fun + 1e-12
        assert int(outcome.iterations[i]) < 100  # scipy: 5-22; it does not crawl


def test_projected_start_outside_the_box_is_clipped_and_a_point_on_a_face_stays():
    lower, upper = jnp.zeros(5), jnp.full(5, 0.5)
    starts = jnp.array([[-3.0, 0.2, 0.2, 0.2, 9.0], [0.5, 0.2, 0.1, 0.0, 0.0]])
    outcome = minimize_batch(rosenbrock, starts, jnp.zeros(2), BFGSSettings(solver="lbfgs"),
                             monitor=outside(lower, upper), bounds=(lower, upper))
    assert float(jnp.max(outcome.history)) <= 0.0
    # Rosenbrock's minimum in [0, 0.5]^5 has x[0] on the upper face (scipy: 0.5 exactly).
    assert np.all(np.asarray(outcome.solution[:, 0]) == 0.5)


def test_projected_is_deterministic_and_batching_does_not_change_it():
    lower, upper = -jnp.ones(10), jnp.ones(10)
    starts = jnp.linspace(-1.0, 1.0, 40).reshape(4, 10)
    runs = [
        minimize_batch(coupled_quadratic, starts, jnp.zeros(4),
                       BFGSSettings(solver="lbfgs", batch_size=size), bounds=(lower, upper))
        for size in (0, 0, 1)
    ]
    np.testing.assert_array_equal(runs[0].solution, runs[1].solution)
    np.testing.assert_allclose(runs[2].solution, runs[0].solution, atol=1e-12)
    np.testing.assert_array_equal(runs[2].iterations, runs[0].iterations)


def test_settings_make_the_projected_solver_only_when_given_bounds():
    settings = BFGSSettings(parameterization="projected")
    bounds = (jnp.zeros(3), jnp.ones(3))
    assert isinstance(settings.make_solver(bounds), ProjectedBFGS)
    assert isinstance(BFGSSettings(solver="lbfgs").make_solver(bounds), ProjectedLBFGS)
    assert not isinstance(settings.make_solver(), (ProjectedBFGS, ProjectedLBFGS))


def test_bad_parameterization_and_bounds_are_rejected_with_what_to_do():
    with pytest.raises(
        ValueError,
        match=r"bfgs.parameterization is 'box'; expected one of \('raw', 'tanh', 'projected'\)"
        r" .*projected: the parameters kept in the box by projection",
    ):
        BFGSSettings(parameterization="box")
    with pytest.raises(
        ValueError, match=r"bounds have shapes \(3,\) and \(2,\); expected \(2,\).*Pass Problem.bounds"
    ):
        minimize_batch(rosenbrock, jnp.zeros((1, 2)), jnp.zeros(1), BFGSSettings(),
                       bounds=(jnp.zeros(3), jnp.ones(2)))
