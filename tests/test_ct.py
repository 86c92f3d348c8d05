"""The sparse-view CT problem: the image-valued contract, the MAP objective, truth metrics."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lio.analysis import health

from lio.core import nets
from lio.methods import BFGSSettings, make_method
from lio.methods.networks import SolverNetwork, true_losses
from lio.problems import make_problem, params_schema

SIZE, ANGLES, N = 16, 8, 4


@pytest.fixture(scope="module")
def ct():
    problem = make_problem("ct", {"size": SIZE, "num_angles": ANGLES})
    return problem, problem.sample(jax.random.PRNGKey(7), N)


def test_image_contract(ct):
    problem, problems = ct
    assert problem.solution_shape == (SIZE, SIZE) and problem.num_parameters == SIZE**2
    assert problems.solution.shape == (N, SIZE**2) and problems.condition.shape == (N, 0)
    assert problems.observed.shape == (N, ANGLES, SIZE)
    assert len(problem.parameter_names) == SIZE**2
    lower, upper = problem.bounds
    assert lower.shape == upper.shape == (SIZE**2,)
    # The prior's mean image is BFGS's start, not the box's middle (0.5 everywhere).
    assert problem.prior_mean.shape == (SIZE**2,)
    assert float(problem.prior_mean.max()) < 0.5 and float(problem.prior_mean[0]) == 0.0
    with pytest.raises(ValueError, match=r"expected \(4, 256\) \(n problems x a flattened \(16, 16\) array\)"):
        problem.check_solution_shape(problems.solution.reshape(N, SIZE, SIZE), N)


def test_operator_is_a_pytree_leaf_not_a_parameter(ct):
    problem, problems = ct
    leaves = jax.tree.leaves(problem)
    assert any(leaf is problem.radon.weights for leaf in leaves)
    assert problem.radon.weights.shape[0] == ANGLES * SIZE
    assert "radon" not in params_schema(type(problem))["properties"]
    with pytest.raises(ValueError, match="unknown parameter"):
        make_problem("ct", {"radon": 1})
    # Cast for float32 training: the operator follows, the static constants stay.
    problem32 = problem.astype(jnp.float32)
    assert problem32.radon.weights.dtype == jnp.float32 and problem32.size == SIZE
    assert problem32.radon.columns.dtype == problem.radon.columns.dtype
    # The same loss whether compiled with the problem as an argument or eagerly.
    np.testing.assert_allclose(
        true_losses(problem, problems.solution, problems),
        problem.losses(problems.solution, problems), rtol=1e-12,
    )


def test_lowered_program_does_not_embed_the_operator(ct):
    problem, problems = ct
    text = jax.jit(lambda p, s, ps: p.losses(s, ps)).lower(problem, problems.solution, problems).as_text()
    # The operator's weights are an argument of the program, not an embedded constant.
    operator = f"tensor<{ANGLES * SIZE}x{problem.radon.weights.shape[1]}xf64>"
    main = next(line for line in text.splitlines() if "func.func public @main" in line)
    assert operator in main  # an argument of the program
    assert not [line for line in text.splitlines() if "constant dense" in line and operator in line]


def test_map_objective_adds_the_regulariser(ct):
    problem, problems = ct
    x, y = problems.solution[0], problems.observed[0]
    misfit = jnp.sum((problem.forward(x, problems.condition[0]) - y) ** 2)
    total = problem.loss(x, problems.condition[0], y)
    assert float(total) == pytest.approx(float(misfit + problem.reg_weight * problem.regularization(x)))
    # Smoothed TV of a constant image is zero; of an edge, about its length times its jump.
    assert float(problem.regularization(jnp.full(SIZE**2, 0.3))) == pytest.approx(0.0, abs=1e-12)
    edge = jnp.zeros((SIZE, SIZE)).at[:, SIZE // 2:].set(1.0).reshape(-1)
    assert float(problem.regularization(edge)) == pytest.approx(SIZE, rel=0.02)


def test_quality_metrics_are_scikit_image_s(ct):
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    problem, problems = ct
    truth = np.asarray(problems.solution)
    estimate = np.clip(truth + 0.05 * np.random.default_rng(0).normal(size=truth.shape), 0, 1)
    metrics = problem.quality(estimate, truth)
    image, guess = truth[1].reshape(SIZE, SIZE), estimate[1].reshape(SIZE, SIZE)
    assert metrics["psnr"][1] == pytest.approx(peak_signal_noise_ratio(image, guess, data_range=1.0))
    assert metrics["ssim"][1] == pytest.approx(structural_similarity(
        image, guess, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False))
    assert metrics["relative_error"][1] == pytest.approx(
        np.linalg.norm(guess - image) / np.linalg.norm(image))
    assert np.isnan(problem.quality(np.full_like(truth, np.nan), truth)["psnr"]).all()


def test_bfgs_from_the_prior_mean_reconstructs(ct):
    problem, problems = ct
    start = problem.quality(np.broadcast_to(np.asarray(problem.prior_mean), problems.solution.shape),
                            np.asarray(problems.solution))
    estimate = make_method("bfgs", {}, BFGSSettings(max_iterations=300)).solve(problem, problems, None, None)
    after = problem.quality(estimate.solution, np.asarray(problems.solution))
    assert np.all(after["psnr"] > start["psnr"] + 5), (start["psnr"], after["psnr"])
    assert np.all(estimate.loss < np.asarray(problem.losses(problem.prior_mean[None].repeat(N, 0), problems)))


def test_bfgs_with_the_box_lands_in_it_and_refinement_clips_its_start(ct):
    """``bfgs.parameterization: projected``: the baseline's images lie in the prior's [0, 1] box,
    where the unconstrained MAP estimate leaves it (ringing below 0 next to edges); refinement
    from an estimate outside the box starts from its projection and ends inside."""
    from lio.methods import refine

    problem, problems = ct
    free = make_method("bfgs", {}, BFGSSettings(solver="lbfgs")).solve(problem, problems, None, None)
    settings = BFGSSettings(solver="lbfgs", parameterization="projected")
    boxed = make_method("bfgs", {}, settings).solve(problem, problems, None, None)
    assert free.solution.min() < 0
    assert boxed.solution.min() >= 0 and boxed.solution.max() <= 1
    assert np.all(boxed.status == 0)  # converged
    # Both converged on a convex objective: the box can only raise the minimum.
    assert np.all(boxed.loss >= free.loss - 1e-9 * np.abs(free.loss))
    refined = refine(problem, problems, free, settings)
    assert refined.solution.min() >= 0 and refined.solution.max() <= 1
    np.testing.assert_allclose(refined.loss, boxed.loss, rtol=1e-6)  # one minimum in the box


def test_networks_see_the_filtered_back_projection_and_a_unet_returns_an_image(ct):
    problem, problems = ct
    features = jax.vmap(problem.network_input)(problems.observed, problems.condition)
    assert features.shape == (N, SIZE, SIZE)
    # FBP at 8 angles is rough but correlates with the truth.
    r = np.corrcoef(np.asarray(features).reshape(N, -1)[0], np.asarray(problems.solution[0]))[0, 1]
    assert r > 0.6, r
    net = SolverNetwork.create(problem, {"kind": "unet", "features": [4, 8]}, problems.astype(jnp.float32))
    params, stats = net.init(jax.random.PRNGKey(0), problems.astype(jnp.float32))
    solution = net.solutions(params, stats, problems.astype(jnp.float32), train=False)
    assert solution.shape == (N, SIZE**2)
    assert float(solution.min()) >= 0 and float(solution.max()) <= 1


def test_unet_refuses_grids_it_cannot_halve_and_vector_solutions():
    with pytest.raises(ValueError, match="must be divisible by 4"):
        net = nets.build_network({"kind": "unet", "features": [2, 2, 2]}, 36, False, (6, 6))
        net.init(jax.random.PRNGKey(0), jnp.zeros((1, 6, 6)), jnp.zeros((1, 0)), train=False)
    with pytest.raises(ValueError, match="makes an image, but the solution has shape"):
        nets.build_network({"kind": "unet", "features": [2]}, 1, False, (1,))


def test_background_pixels_at_the_edge_are_not_pinned():
    lower, upper = np.zeros(400), np.ones(400)
    truth = np.zeros((2, 400))
    truth[:, :200] = 0.5
    estimate = truth.copy()  # background exactly 0, like the truth: healthy
    assert not health.per_example(estimate, truth, lower, upper)["pinned"].any()
    estimate[1, :2] = 1.0  # two saturated pixels of 400: below PINNED_PARAMETERS
    estimate[0, :20] = 1.0  # twenty: 5 %, pinned
    np.testing.assert_array_equal(health.per_example(estimate, truth, lower, upper)["pinned"], [True, False])
    # Saturated at 1 where the truth is 0.95: stuck, but right to within PINNED_PIXEL_ERROR.
    near = np.full((1, 400), 0.95)
    assert not health.per_example(np.ones((1, 400)), near, lower, upper)["pinned"].any()
    assert health.per_example(np.ones((1, 400)), near - 0.2, lower, upper)["pinned"].all()


def test_bad_ct_parameters_are_named():
    with pytest.raises(ValueError, match="ct: size must be >= 8"):
        make_problem("ct", {"size": 4})
    with pytest.raises(ValueError, match="regularizer: expected one of"):
        make_problem("ct", {"regularizer": "l1"})
    with pytest.raises(ValueError, match="tv_smoothing must be > 0"):
        make_problem("ct", {"tv_smoothing": 0.0})
