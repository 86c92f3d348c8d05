"""lio.minimize on a forward function lio has never seen, and every bad-input error path."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lio
from lio.api import CONV_NETWORK, MLP_NETWORK, FunctionProblem, default_network

N = 8
GRID = jnp.linspace(0.0, 1.0, 24)
BOUNDS = [(0.1, 0.9), (0.05, 0.3)]
FAST = {"steps": 20, "network": {"kind": "mlp", "hidden": [16]}}


def bump(xi):
    """A Gaussian bump: position xi[0] and width xi[1] on 24 samples of [0, 1]."""
    return jnp.exp(-((GRID - xi[0]) ** 2) / xi[1] ** 2)


def observations(n=N, seed=0):
    k_pos, k_width, k_noise = jax.random.split(jax.random.PRNGKey(seed), 3)
    truth = jnp.stack(
        [
            jax.random.uniform(k_pos, (n,), minval=0.2, maxval=0.8),
            jax.random.uniform(k_width, (n,), minval=0.08, maxval=0.25),
        ],
        axis=1,
    )
    return truth, jax.vmap(bump)(truth) + 0.01 * jax.random.normal(k_noise, (n, GRID.size))


@pytest.fixture(scope="module")
def solved():
    _, observed = observations()
    return lio.minimize(bump, observed, bounds=BOUNDS, compare_bfgs=True, **FAST)


def test_result_shapes_and_statuses(solved):
    assert isinstance(solved, lio.MinimizeResult)
    assert solved.x.shape == solved.x_unrefined.shape == solved.bfgs_x.shape == (N, 2)
    for name in ("fun", "fun_unrefined", "status", "status_unrefined", "nit", "bfgs_fun"):
        assert getattr(solved, name).shape == (N,), name
    assert set(solved.status_unrefined) == {"completed"}
    assert set(solved.status) <= {"converged", "max_steps"}
    assert solved.history.shape == (FAST["steps"] + 1,)
    assert solved.wall_time > 0 and solved.method == "reparameterized"
    with pytest.raises(dataclasses.FrozenInstanceError):
        solved.x = None


def test_losses_finite_and_equal_to_the_forward_model(solved):
    _, observed = observations()
    assert np.all(np.isfinite(solved.fun)) and np.all(np.isfinite(solved.fun_unrefined))
    expected = jnp.sum((jax.vmap(bump)(jnp.asarray(solved.x)) - observed) ** 2, axis=1)
    np.testing.assert_allclose(solved.fun, expected, rtol=1e-9)


def test_network_estimates_stay_in_the_box(solved):
    lower, upper = np.array(BOUNDS).T
    assert np.all(solved.x_unrefined >= lower) and np.all(solved.x_unrefined <= upper)


def test_refine_never_raises_the_loss(solved):
    # BFGS accepts only descending steps from the network's estimate.
    assert np.all(solved.fun <= solved.fun_unrefined + 1e-12)


def test_refined_solutions_fit_to_the_noise_level(solved):
    # 24 samples of noise with std 0.01: noise energy ~ 24e-4; fitting cannot do much worse
    # on the examples where BFGS converged near the truth, and never better than ~half of it.
    assert np.median(solved.fun) < 10 * 24e-4


def test_compare_bfgs_counts_are_consistent(solved):
    assert 0 <= solved.n_better_than_bfgs + solved.n_equal_to_bfgs <= N
    assert np.all(np.isfinite(solved.bfgs_fun))
    better = np.sum(solved.fun < solved.bfgs_fun - 1e-12 - 1e-6 * np.maximum(solved.fun, solved.bfgs_fun))
    assert solved.n_better_than_bfgs == better


def test_no_comparison_says_how_to_get_one():
    _, observed = observations(n=2)
    result = lio.minimize(bump, observed, bounds=BOUNDS, method="bfgs")
    with pytest.raises(ValueError, match="compare_bfgs=True"):
        result.n_better_than_bfgs


def test_unbounded_parameters_start_from_x0():
    truth, observed = observations()
    result = lio.minimize(bump, observed, x0=[0.5, 0.15], refine=False, **FAST)
    assert result.x.shape == (N, 2) and np.all(np.isfinite(result.fun))
    np.testing.assert_array_equal(result.x, result.x_unrefined)
    assert result.refine_history.size == 0


def test_condition_is_passed_per_problem():
    # F(xi, x): the bump's position is the known condition plus the unknown offset xi[0].
    def shifted(xi, x):
        return jnp.exp(-((GRID - x[0] - xi[0]) ** 2) / 0.1**2)

    centres = jnp.linspace(0.3, 0.7, 4)[:, None]
    observed = jax.vmap(shifted)(jnp.full((4, 1), 0.05), centres)
    result = lio.minimize(shifted, observed, condition=centres, x0=[0.0], method="bfgs")
    np.testing.assert_allclose(result.x[:, 0], 0.05, atol=1e-6)


def test_same_key_same_result():
    _, observed = observations(n=4)
    first = lio.minimize(bump, observed, bounds=BOUNDS, refine=False, key=jax.random.PRNGKey(3), **FAST)
    again = lio.minimize(bump, observed, bounds=BOUNDS, refine=False, key=jax.random.PRNGKey(3), **FAST)
    np.testing.assert_array_equal(first.x, again.x)


def test_runs_without_x64():
    _, observed = observations(n=4)
    with jax.enable_x64(False):
        grid = jnp.linspace(0.0, 1.0, 24)  # created here: float32, like a float32 user's

        def bump32(xi):
            return jnp.exp(-((grid - xi[0]) ** 2) / xi[1] ** 2)

        result = lio.minimize(bump32, np.asarray(observed), bounds=BOUNDS, **FAST)
    assert result.x.dtype == np.float32
    assert np.all(np.isfinite(result.fun)) and np.all(result.fun <= result.fun_unrefined + 1e-6)


def test_default_network_rule():
    assert default_network(()) == MLP_NETWORK
    assert default_network((31,)) == MLP_NETWORK
    assert default_network((32,)) == CONV_NETWORK
    assert default_network((16, 16)) == CONV_NETWORK
    assert default_network((4, 4, 3)) == MLP_NETWORK


def test_learned_gradient_runs_with_its_own_default_network():
    """The observation network's default (a 1-D conv for these 24 samples would be the MLP) is
    not learned gradient's: its network sees the iterate and gradient, picked by the unknown."""
    _, observed = observations()
    result = lio.minimize(bump, observed, bounds=BOUNDS, method="learned_gradient", steps=20)
    assert result.x.shape == (N, 2) and np.isfinite(result.fun_unrefined).all()
    assert np.all(result.fun <= result.fun_unrefined * (1 + 1e-6))  # refinement never raises the loss
    assert result.history.shape[0] > 1 and result.history[-1] < result.history[0]  # training lowered L/n


def test_function_problem_has_no_prior():
    problem = FunctionProblem(function=bump, x0=jnp.zeros(2), lower=jnp.zeros(2), upper=jnp.ones(2))
    assert problem.parameter_names == ("x[0]", "x[1]")
    with pytest.raises(NotImplementedError, match="no prior"):
        problem.sample(jax.random.PRNGKey(0), 2)


_, OBSERVED = observations(n=4)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"observed": OBSERVED[:, :10]}, r"forward\(x0\) returns shape \(24,\).*observed\.shape\[1:\]"),
        ({"bounds": [(0.1, 0.9)], "x0": [0.5, 0.1]}, r"x0 must have shape \(1,\).*got shape \(2,\)"),
        ({"bounds": [0.1, 0.9]}, r"bounds must have shape \(d, 2\).*got shape \(2,\)"),
        ({"bounds": [(0.1, 0.9), (0.3, 0.3)]}, r"expected lower < upper.*parameter\(s\) \[1\]"),
        ({"bounds": [(0.1, 0.9), (0.0, np.inf)]}, r"bounds must be finite.*\[1\].*bounds=None"),
        ({"bounds": None, "x0": [[0.5, 0.1]]}, r"x0 must have shape \(d,\).*got shape \(1, 2\)"),
        ({"bounds": None}, r"give x0 .* or bounds"),
        ({"x0": [2.0, 0.1]}, r"x0 lies outside bounds at parameter\(s\) \[0\]"),
        ({"observed": OBSERVED.at[1, 3].set(jnp.nan).at[3, 0].set(jnp.inf)}, r"non-finite.*2 of 4 rows: 1, 3"),
        ({"observed": OBSERVED[0]}, r"forward\(x0\) returns shape \(24,\)"),
        ({"condition": np.zeros((3, 1))}, r"condition has shape \(3, 1\) but observed has n=4"),
        ({"method": "adam"}, r"unknown method 'adam'; expected one of \["),
        ({"method": "supervised"}, r"labelled .* prior.*method='reparameterized'"),
        ({"method": "neural_adjoint"}, r"neural_adjoint.*prior"),
        ({"method": "bfgs", "steps": 10}, r"\['steps'\] configure a network.*'bfgs'"),
        ({"steps": 0}, r"steps must be >= 1"),
        ({"network": {"kind": "transformer"}}, r"network kind 'transformer' is not known"),
    ],
)
def test_bad_input_says_expected_got_and_what_to_do(kwargs, match):
    arguments = {"observed": OBSERVED, "bounds": BOUNDS, **kwargs}
    observed = arguments.pop("observed")
    with pytest.raises(ValueError, match=match):
        lio.minimize(bump, observed, **arguments)


def test_forward_that_jax_cannot_trace_is_named():
    def numpy_forward(xi):
        return np.exp(-((np.asarray(GRID) - float(xi[0])) ** 2))

    with pytest.raises(ValueError, match=r"forward\(x0\) could not be traced by JAX"):
        lio.minimize(numpy_forward, OBSERVED, bounds=BOUNDS)


# -- what "converged" may claim (issue #22, item 4) ------------------------------------------


@pytest.mark.parametrize(
    "forward, dtype",
    [(lambda xi: (bump(xi) * 10).astype(jnp.int32), "int32"), (lambda xi: bump(xi) > 0.5, "bool")],
    ids=["integer cast", "comparison"],
)
def test_forward_with_integer_output_is_refused(forward, dtype):
    with pytest.raises(ValueError, match=rf"returns dtype {dtype}; expected a floating-point output.*zero gradient"):
        lio.minimize(forward, OBSERVED, bounds=BOUNDS, method="bfgs")


def rounded(xi):
    """Piecewise constant: the loss gradient is exactly zero almost everywhere."""
    return jnp.round(bump(xi) * 4) / 4


def test_piecewise_constant_forward_is_not_converged():
    result = lio.minimize(rounded, OBSERVED, bounds=BOUNDS, method="bfgs")
    assert list(result.status) == ["zero_gradient"] * 4  # was "converged" after 1 iteration
    assert not result.success.any()


def test_network_on_a_piecewise_constant_forward_is_not_completed():
    result = lio.minimize(rounded, OBSERVED, bounds=BOUNDS, **FAST)
    assert set(result.status_unrefined) == set(result.status) == {"zero_gradient"}


def test_zero_gradient_at_an_exact_fit_still_converges():
    # F(x0) = y exactly: a zero gradient at a zero loss is a true minimum, not a plateau.
    x0 = np.array([0.5, 0.15])
    observed = np.tile(np.asarray(bump(jnp.asarray(x0))), (3, 1))
    result = lio.minimize(bump, observed, bounds=BOUNDS, x0=x0, method="bfgs")
    assert list(result.status) == ["converged"] * 3


def test_nonfinite_gradient_at_the_start_is_its_own_status():
    # d/dxi sqrt(|xi - 0.5|) is infinite at the box centre x0 = 0.5.
    def cusp(xi):
        return jnp.sqrt(jnp.abs(xi[0] - 0.5)) * GRID + xi[1]

    result = lio.minimize(cusp, OBSERVED, bounds=BOUNDS, method="bfgs")
    assert list(result.status) == ["nonfinite_gradient"] * 4


@pytest.mark.parametrize(
    "forward",
    [lambda xi: bump(xi) + xi[2], lambda xi: bump(xi) * jnp.sum(xi[jnp.arange(3)])],
    ids=["static index", "index array"],
)
@pytest.mark.parametrize("given", [{"bounds": BOUNDS}, {"bounds": None, "x0": [0.5, 0.15]}], ids=["bounds", "x0"])
def test_forward_reading_more_parameters_than_bounds_is_refused(forward, given):
    with pytest.raises(ValueError, match=r"index 2 is out of bounds.*x0 has 2 entries.*per parameter F reads"):
        lio.minimize(forward, OBSERVED, method="bfgs", **given)


@pytest.mark.parametrize(
    "given, got",
    [({"bounds": [*BOUNDS, (0.0, 1.0)]}, "3 bounds pairs"), ({"bounds": None, "x0": [0.5, 0.15, 0.0]}, "3 x0 entries")],
    ids=["bounds", "x0"],
)
def test_parameters_forward_does_not_read_are_refused(given, got):
    # one bounds pair too many added a parameter nothing used, and BFGS called it "converged"
    with pytest.raises(
        ValueError,
        match=rf"does not depend on parameter\(s\) \[2\]: expected one \(lower, upper\) pair and one x0 "
        rf"entry per parameter forward reads \(2 here\), got {got}\..*drop the extra entries",
    ):
        lio.minimize(bump, OBSERVED, method="bfgs", **given)


def test_an_unused_parameter_between_used_ones_is_named():
    with pytest.raises(ValueError, match=r"does not depend on parameter\(s\) \[1\]"):
        lio.minimize(lambda xi: bump(xi[jnp.array([0, 2])]), OBSERVED, bounds=[BOUNDS[0], (0.0, 1.0), BOUNDS[1]])


def test_a_parameter_flat_around_the_start_still_counts_as_read():
    # zero gradient at x0 (and likely at the random probes below 0.9), but a NaN in it reaches F
    def hinge(xi):
        return bump(xi) + jnp.maximum(xi[2] - 0.9, 0.0)

    result = lio.minimize(hinge, OBSERVED, bounds=[*BOUNDS, (0.0, 1.0)], method="bfgs")
    assert result.x.shape == (4, 3)


def test_out_of_range_read_of_another_array_warns():
    table = jnp.linspace(0.0, 1.0, 5)

    def clamped(xi):
        return bump(xi) + table[7]

    with pytest.warns(UserWarning, match=r"indexes an array out of range \(.*shape \(5,\).*clamps"):
        lio.minimize(clamped, OBSERVED, bounds=BOUNDS, method="bfgs")


def test_bfgs_solutions_may_leave_the_bounds_and_are_marked():
    # Truths at position 0.55 but a box up to 0.5: unconstrained BFGS fits them outside it.
    truth = np.tile([0.55, 0.15], (3, 1))
    observed = jax.vmap(bump)(jnp.asarray(truth))
    box = [(0.1, 0.5), (0.05, 0.3)]
    result = lio.minimize(bump, observed, bounds=box, method="bfgs")
    np.testing.assert_allclose(result.x, truth, atol=1e-6)
    assert set(result.status) == {"converged"} and not result.in_bounds.any()
    network = lio.minimize(bump, observed, bounds=box, **FAST)
    assert np.all(network.x_unrefined[:, 0] <= 0.5)  # the tanh keeps network estimates inside


def test_in_bounds_marks_solutions_in_the_box(solved):
    lower, upper = np.array(BOUNDS).T
    np.testing.assert_array_equal(solved.in_bounds, np.all((solved.x >= lower) & (solved.x <= upper), axis=1))


def test_new_status_codes_come_after_the_stored_ones():
    from lio.methods import STATUS
    from lio.analysis.results import STATUS_ATTRS

    # Results files store the index: the first five meanings must never move.
    assert STATUS[:5] == ("converged", "max_steps", "diverged", "failed", "completed")
    assert STATUS_ATTRS["flag_meanings"].split() == list(STATUS)
    assert list(STATUS_ATTRS["flag_values"]) == list(range(len(STATUS)))
