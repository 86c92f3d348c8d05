"""Kuramoto–Sivashinsky physics: exact linear part, fourth-order convergence, conserved mean,
exact gradients, float32 / float64 agreement, and the noise-free observation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lio.problems.paper.kuramoto_sivashinsky import KuramotoSivashinsky

PROBLEM = KuramotoSivashinsky()
# A short, smooth run (two frames up to t = 2) for the checks that need many rollouts.
SHORT = KuramotoSivashinsky(t_end=2.0, dt=0.5, observe_every=2)


def _condition(problem: KuramotoSivashinsky, amplitude: float, seed: int = 0) -> jnp.ndarray:
    """One random initial state with the given per-mode amplitude."""
    problem = problem.replace(initial_amplitude=amplitude)
    return problem.sample_condition(jax.random.PRNGKey(seed), 1)[0]


@pytest.mark.parametrize("alpha", [0.0, 0.7])
def test_linear_part_is_integrated_exactly(alpha):
    """beta = 0: each mode obeys u_k' = (k^2 - k^4) u_k + alpha G_k, so
    u_k(t) = exp(lam t) u_k(0) + (exp(lam t) - 1) / lam * alpha G_k, which ETDRK4 reproduces
    exactly (its phi-functions integrate a constant nonlinear term exactly)."""
    condition = _condition(PROBLEM, 1.0)
    frames = PROBLEM.forward(jnp.array([alpha, 0.0]), condition)
    lam = PROBLEM.wavenumbers() ** 2 - PROBLEM.wavenumbers() ** 4
    t = PROBLEM.times[:, None]
    growth = np.exp(lam * t)
    # (exp(lam t) - 1) / lam -> t at lam = 0 (the mean mode, where G_0 = 0 anyway)
    integral = np.where(lam == 0, t, np.expm1(lam * t) / np.where(lam == 0, 1.0, lam))
    spectrum = growth * np.fft.rfft(condition) + integral * alpha * np.fft.rfft(PROBLEM.forcing())
    expected = np.fft.irfft(spectrum, n=PROBLEM.resolution)
    # The phi-functions by contour integral are accurate to ~1e-15 and 50 steps of float64
    # round-off add a few ulps (measured 1.3e-15 relative to max |u| per frame): 1e-13.
    scale = np.max(np.abs(expected), axis=1, keepdims=True)
    np.testing.assert_array_less(np.abs(frames - expected) / scale, 1e-13)


def test_temporal_convergence_is_fourth_order():
    """Full nonlinear equation from an O(1) state over t = 2: halve dt three times against an
    8x finer reference and fit the order."""
    condition = _condition(SHORT, 1.0, seed=3)
    solution = jnp.array([0.5, 1.2])

    def final_state(dt):
        problem = SHORT.replace(dt=dt, observe_every=round(SHORT.t_end / dt))
        return problem.forward(solution, condition)[-1]

    reference = final_state(1 / 512)
    steps = np.array([1 / 8, 1 / 16, 1 / 32, 1 / 64])
    errors = np.array([float(jnp.max(jnp.abs(final_state(dt) - reference))) for dt in steps])
    order = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    # ETDRK4 is fourth order (Cox & Matthews 2002; Kassam & Trefethen measure 4 on KS). The
    # error ratios approach 16 from below (measured 13.3, 14.7, 15.5: order 3.86; dt = 1/4 would be
    # pre-asymptotic, ratio 12); +-0.5 allows that and the reference's own (1/8)^4 error share.
    assert 3.5 < order < 4.5, (order, errors)


def test_spatial_mean_is_conserved():
    """d/dt mean(u) = alpha mean(G) - beta mean((u^2/2)_x) = 0 for zero-mean G."""
    condition = _condition(PROBLEM, 0.5) + 0.3
    frames = PROBLEM.forward(jnp.array([0.8, 1.3]), condition)
    assert abs(float(jnp.mean(PROBLEM.forcing()))) < 1e-16  # G has zero mean on the grid
    # Only the k = 0 coefficient of round-off in G (~1e-17) enters, over 50 steps: 1e-12 is loose.
    np.testing.assert_allclose(jnp.mean(frames, axis=1), 0.3, rtol=0, atol=1e-12)


def test_gradient_matches_central_differences():
    problem = PROBLEM.replace(t_end=5.0)
    condition = _condition(problem, 0.5, seed=1)
    observed = problem.forward(jnp.array([0.3, 0.9]), condition)

    def loss(solution):
        return problem.loss(solution, condition, observed)

    point = jnp.array([-0.2, 1.1])
    grad = jax.grad(loss)(point)
    h = 1e-5
    for i in range(2):
        e = jnp.zeros(2).at[i].set(h)
        central = (loss(point + e) - loss(point - e)) / (2 * h)
        # float64, h = 1e-5: truncation ~h^2 |L'''| ~ 1e-10 and round-off ~1e-16 L / h ~ 1e-11,
        # both relative to |L'| ~ 1-100; 1e-6 is the brief's tolerance for an exact gradient.
        np.testing.assert_allclose(grad[i], central, rtol=1e-6)


def test_float32_and_float64_agree_and_output_follows_the_input_dtype():
    condition = _condition(SHORT, 0.5)
    solution = jnp.array([0.4, 1.1])
    double = SHORT.forward(solution, condition)
    single = SHORT.forward(solution.astype(jnp.float32), condition.astype(jnp.float32))
    assert double.dtype == jnp.float64 and single.dtype == jnp.float32
    assert single.shape == double.shape == (SHORT.num_frames, SHORT.resolution)
    # float32 epsilon is 6e-8; four steps of FFTs and sums stay within a few ulps (measured
    # 1.7e-7 relative to max |u|), so 1e-6 is float32 precision for this short run.
    scale = float(jnp.max(jnp.abs(double)))
    np.testing.assert_allclose(single, double, rtol=0, atol=1e-6 * scale)


def test_full_run_shapes_and_float32_stays_finite():
    problems = PROBLEM.sample(jax.random.PRNGKey(2), 3)
    assert problems.observed.shape == (3, 25, 32)  # 25 frames (t = 1, ..., 25) x 32 points
    assert problems.condition.shape == (3, 32)
    np.testing.assert_allclose(PROBLEM.times, np.arange(1, 26))
    single = jax.vmap(PROBLEM.forward)(
        problems.solution.astype(jnp.float32), problems.condition.astype(jnp.float32)
    )
    assert single.dtype == jnp.float32 and np.all(np.isfinite(single))
    # Chaos amplifies float32 round-off over t = 25 (measured 3e-7 ... 1.3e-5 relative to
    # max |u| on 16 examples); 1e-3 catches a float32 path that drifts off the float64 one.
    drift = jnp.max(jnp.abs(single - problems.observed)) / jnp.max(jnp.abs(problems.observed))
    assert float(drift) < 1e-3


def test_sampling_is_deterministic_and_inside_the_box(key):
    first, again = PROBLEM.sample(key, 6), PROBLEM.sample(key, 6)
    for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(again)):
        np.testing.assert_array_equal(a, b)
    lower, upper = PROBLEM.bounds
    assert np.all(first.solution >= lower) and np.all(first.solution <= upper)
    np.testing.assert_allclose(PROBLEM.prior_mean, [0.0, 1.0])
    # Initial states: zero mean (only modes 1 ... initial_modes) and smooth.
    np.testing.assert_allclose(jnp.mean(first.condition, axis=1), 0.0, atol=1e-15)
    spectrum = np.abs(np.fft.rfft(first.condition, axis=1))
    assert np.all(spectrum[:, PROBLEM.initial_modes + 1 :] < 1e-12)


def test_loss_is_zero_at_the_truth(key):
    problems = PROBLEM.sample(key, 8)
    # No noise: the observation is the forward model itself, recomputed bit for bit.
    np.testing.assert_array_equal(PROBLEM.losses(problems.solution, problems), 0.0)


def test_draw_example_shows_the_space_time_trajectory(key):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    problems = PROBLEM.sample(key, 2)
    figure, ax = plt.subplots()
    title = PROBLEM.draw_example(ax, problems, 1, "a")
    image = ax.get_images()[0].get_array()
    assert image.shape == (PROBLEM.num_frames + 1, PROBLEM.resolution)  # u0 and 25 frames
    assert title.startswith("example trajectory, α=")
    plt.close(figure)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"length": 0.0}, "length must be > 0, got 0.0"),
        ({"dt": -0.1}, "dt must be > 0"),
        ({"resolution": 33}, "resolution must be even and >= 8"),
        ({"observe_every": 0}, "observe_every must be >= 1"),
        ({"dt": 0.3}, r"t_end / dt = 25.0 / 0.3 = 83.3333 must be a whole multiple"),
        ({"observe_every": 3}, "whole multiple of observe_every=3"),
        ({"forcing_mode": 0}, r"forcing_mode must be in \[1, 10\)"),
        ({"initial_modes": 20}, r"initial_modes must be in \[1, 10\)"),
        ({"initial_amplitude": -1.0}, "initial_amplitude must be >= 0"),
        ({"beta_low": 2.0}, "beta_low=2.0 must be below beta_high=1.5"),
        ({"alpha_low": 1.0}, "alpha_low=1.0 must be below alpha_high=1.0"),
    ],
)
def test_rejects_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        KuramotoSivashinsky(**params)
