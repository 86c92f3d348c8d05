"""The undersampled MRI problem: the image-valued contract, the noise, the MAP objective.

The operator's maths checks (Parseval, adjoint, mask rule) are in tests/test_fourier.py.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lio.methods import BFGSSettings, make_method
from lio.methods.networks import SolverNetwork, true_losses
from lio.problems import make_problem, params_schema
from lio.problems.imaging import phantoms, regularizers

SIZE, N = 32, 4


@pytest.fixture(scope="module")
def mri():
    problem = make_problem("mri", {"size": SIZE, "acceleration": 4})
    return problem, problem.sample(jax.random.PRNGKey(7), N)


def test_image_contract(mri):
    problem, problems = mri
    assert problem.name == "mri" and problem.solution_shape == (SIZE, SIZE)
    assert problem.num_parameters == SIZE**2 and len(problem.parameter_names) == SIZE**2
    assert problem.parameter_names[SIZE + 2] == "pixel[1,2]"
    assert problems.solution.shape == (N, SIZE**2) and problems.condition.shape == (N, 0)
    assert problems.observed.shape == (N, SIZE, SIZE, 2)
    lower, upper = problem.bounds
    assert lower.shape == upper.shape == (SIZE**2,) and float(lower.max()) == 0 and float(upper.min()) == 1
    # BFGS starts from the prior's mean image (CT's prior), not the box's middle.
    np.testing.assert_array_equal(problem.prior_mean, phantoms.prior_mean_image(SIZE))
    assert float(problem.prior_mean.max()) < 0.5 and float(problem.prior_mean[0]) == 0.0
    assert problem.in_basin(np.zeros((N, SIZE**2)), np.asarray(problems.solution)).all()
    with pytest.raises(ValueError, match=r"expected \(4, 1024\) \(n problems x a flattened \(32, 32\) array\)"):
        problem.check_solution_shape(problems.solution.reshape(N, SIZE, SIZE), N)


def test_mask_is_a_pytree_leaf_fixed_by_its_seed_not_a_parameter(mri):
    problem, problems = mri
    assert any(leaf is problem.operator.mask for leaf in jax.tree.leaves(problem))
    schema = params_schema(type(problem))["properties"]
    assert "operator" not in schema and "mean_image" not in schema
    assert schema["acceleration"]["default"] == 4 and schema["mask_seed"]["default"] == 0
    with pytest.raises(ValueError, match="unknown parameter"):
        make_problem("mri", {"operator": 1})
    # The mask is the experiment's: the same for every problem set, set by mask_seed only.
    assert float(problem.operator.mask.mean()) == 0.25
    again = make_problem("mri", {"size": SIZE, "acceleration": 4})
    np.testing.assert_array_equal(again.operator.mask, problem.operator.mask)
    other = make_problem("mri", {"size": SIZE, "acceleration": 4, "mask_seed": 1})
    assert not np.array_equal(other.operator.mask, problem.operator.mask)
    # Cast for float32 training: the mask follows, the static constants stay.
    problem32 = problem.astype(jnp.float32)
    assert problem32.operator.mask.dtype == jnp.float32 and problem32.size == SIZE
    assert problem32.forward(problems.solution[0].astype(jnp.float32), problems.condition[0]).dtype == jnp.float32
    # The same loss whether compiled with the problem as an argument or eagerly.
    np.testing.assert_allclose(
        true_losses(problem, problems.solution, problems),
        problem.losses(problems.solution, problems), rtol=1e-12,
    )
    # The mask is an argument of the compiled program, not an embedded constant.
    text = jax.jit(lambda p, s, ps: p.losses(s, ps)).lower(problem, problems.solution, problems).as_text()
    main = next(line for line in text.splitlines() if "func.func public @main" in line)
    assert f"tensor<{SIZE}x{SIZE}xf64>" in main
    assert not [line for line in text.splitlines() if "constant dense" in line and f"{SIZE}x{SIZE}xf64" in line]


def test_noise_is_relative_gaussian_and_only_where_sampled():
    problem = make_problem("mri", {"size": SIZE, "acceleration": 4, "noise_level": 0.1})
    problems = problem.sample(jax.random.PRNGKey(3), 16)
    clean = jax.vmap(problem.forward)(problems.solution, problems.condition)
    residual = np.asarray(problems.observed - clean)
    sampled = np.asarray(problem.operator.mask, bool)
    assert np.all(residual[:, ~sampled] == 0)
    rms = np.sqrt(np.mean(np.asarray(clean)[:, sampled] ** 2, axis=(1, 2)))  # per problem
    ratio = residual[:, sampled].std(axis=(1, 2)) / (0.1 * rms)
    # 512 real samples per problem: the sample std is within ~3 % (1 sigma) of sigma; measured
    # 0.94-1.07
    assert np.all(np.abs(ratio - 1) < 0.15), ratio
    assert abs(ratio.mean() - 1) < 0.04, ratio.mean()


def test_zero_filled_is_exact_at_full_sampling_without_noise():
    problem = make_problem("mri", {"size": SIZE, "acceleration": 1, "noise_level": 0.0})
    problems = problem.sample(jax.random.PRNGKey(1), N)
    features = jax.vmap(problem.network_input)(problems.observed, problems.condition)
    assert features.shape == (N, SIZE, SIZE)
    # measured 4e-16
    np.testing.assert_allclose(features.reshape(N, -1), problems.solution, rtol=0, atol=1e-12)


def test_map_objective_adds_the_shared_regulariser(mri):
    problem, problems = mri
    x, y = problems.solution[0], problems.observed[0]
    misfit = jnp.sum((problem.forward(x, problems.condition[0]) - y) ** 2)
    total = problem.loss(x, problems.condition[0], y)
    expected = misfit + problem.reg_weight * regularizers.regularization(
        x.reshape(SIZE, SIZE), "tv", problem.tv_smoothing)
    assert float(total) == pytest.approx(float(expected), rel=1e-14)
    # CT computes the same regulariser.
    ct = make_problem("ct", {"size": SIZE, "num_angles": 4})
    assert float(ct.regularization(x)) == float(problem.regularization(x))
    tikhonov = make_problem("mri", {"size": SIZE, "regularizer": "tikhonov"})
    edge = jnp.zeros((SIZE, SIZE)).at[:, SIZE // 2:].set(1.0).reshape(-1)
    assert float(tikhonov.regularization(edge)) == pytest.approx(SIZE)
    assert float(problem.regularization(edge)) == pytest.approx(SIZE, rel=0.02)


def test_lbfgs_from_the_prior_mean_reconstructs(mri):
    problem, problems = mri
    truth = np.asarray(problems.solution)
    start = problem.quality(np.broadcast_to(np.asarray(problem.prior_mean), truth.shape), truth)
    settings = BFGSSettings(solver="lbfgs", max_iterations=300)
    estimate = make_method("bfgs", {}, settings).solve(problem, problems, None, None)
    after = problem.quality(estimate.solution, truth)
    # measured +17 to +24 dB (start 11-17 dB, after 29-41 dB) at 32 x 32, 4x
    assert np.all(after["psnr"] > start["psnr"] + 5), (start["psnr"], after["psnr"])
    zero_filled = jax.vmap(problem.network_input)(problems.observed, problems.condition)
    assert np.all(after["psnr"] > problem.quality(np.asarray(zero_filled).reshape(N, -1), truth)["psnr"] + 5)
    losses_at_start = problem.losses(problem.prior_mean[None].repeat(N, 0), problems)
    assert np.all(estimate.loss < np.asarray(losses_at_start))


def test_lbfgs_in_the_box_lands_in_it_at_no_lower_loss(mri):
    """``bfgs.parameterization: projected`` on MRI: the estimates lie in the prior's [0, 1] box
    (the unconstrained ones ring below 0), at a loss no lower than the unconstrained minimum's."""
    problem, problems = mri
    free = make_method("bfgs", {}, BFGSSettings(solver="lbfgs")).solve(problem, problems, None, None)
    settings = BFGSSettings(solver="lbfgs", parameterization="projected")
    boxed = make_method("bfgs", {}, settings).solve(problem, problems, None, None)
    assert free.solution.min() < 0
    assert boxed.solution.min() >= 0 and boxed.solution.max() <= 1
    assert np.all(boxed.status == 0) and np.all(free.status == 0)  # both converged
    assert np.all(boxed.loss >= free.loss - 1e-9 * np.abs(free.loss))


@pytest.mark.parametrize("spec", [{"kind": "unet", "features": [4, 8]},
                                  {"kind": "conv", "features": [4], "dense": 8}])
def test_networks_read_the_zero_filled_image(mri, spec):
    problem, problems = mri
    problems32 = problems.astype(jnp.float32)
    net = SolverNetwork.create(problem, spec, problems32)
    params, stats = net.init(jax.random.PRNGKey(0), problems32)
    solution = net.solutions(params, stats, problems32, train=False)
    assert solution.shape == (N, SIZE**2)
    assert float(solution.min()) >= 0 and float(solution.max()) <= 1


def test_draw_example_shows_truth_kspace_and_zero_filled(mri):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    problem, problems = mri
    figure, ax = plt.subplots()
    assert problem.draw_example(ax, problems, 0, "a") == "MRI, 4x undersampled"
    assert ax.images[0].get_array().shape == (SIZE, 3 * SIZE)
    plt.close(figure)


@pytest.mark.parametrize(
    "params, match",
    [({"acceleration": 0}, r"mri: acceleration must be in 1\.\.16"),
     ({"acceleration": 17}, r"mri: acceleration must be in 1\.\.16"),
     ({"size": 4}, "mri: size must be >= 8"),
     ({"tv_smoothing": 0.0}, "mri: tv_smoothing must be > 0"),
     ({"center_fraction": 1.5}, r"mri: center_fraction must be in \[0, 1\]"),
     ({"noise_level": -0.1}, "mri: noise_level must be >= 0"),
     ({"mask_seed": -1}, "mri: mask_seed must be >= 0"),
     ({"acceleration": 4.0}, "acceleration: expected an integer"),
     ({"regularizer": "l1"}, "regularizer: expected one of")],
)
def test_bad_mri_parameters_are_named(params, match):
    with pytest.raises(ValueError, match=match):
        make_problem("mri", params)
