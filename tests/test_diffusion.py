"""The diffusion-model prior: schedule, forward process, denoiser training, DPS guidance, errors."""

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct

from lio.methods import BFGSSettings, make_method
from lio.methods.diffusion import DenoisingPrior, alpha_bars, noise_schedule, reverse_times
from lio.problems import WavePacket
from lio.problems.base import Problem


class Linear(Problem):
    """y = A xi, xi in [-1, 1]^4 with a prior that puts xi_3 = xi_2 / 2; A sees 2 combinations."""

    name: ClassVar[str] = "linear"
    parameter_names: ClassVar[tuple[str, ...]] = ("a", "b", "c", "d")
    matrix: jax.Array = struct.field(default_factory=lambda: jnp.array([[1.0, 0.5, 0, 0], [0, 1.0, 0.5, -0.5]]))

    def forward(self, solution, condition):
        return self.matrix.astype(solution.dtype) @ solution

    def sample_solution(self, key, n):
        xi = jax.random.uniform(key, (n, 3), minval=-0.8, maxval=0.8)
        return jnp.concatenate([xi, xi[:, 2:] / 2], axis=-1), jnp.zeros((n, 0))

    @property
    def bounds(self):
        return -jnp.ones(4), jnp.ones(4)


TINY = {
    "network": {"kind": "mlp", "hidden": [32, 32]},
    "diffusion_steps": 100,
    "sampling_steps": 20,
    "training": {"learning_rate": 3e-3, "steps": 150, "log_every": 0},
}


@pytest.fixture(scope="module")
def linear():
    problem = Linear()
    key_problems, key_training, key = jax.random.split(jax.random.PRNGKey(0), 3)
    return problem, problem.sample(key_problems, 8), problem.sample(key_training, 32), key


def solve(linear, **options):
    problem, problems, training_set, key = linear
    return make_method("diffusion", {**TINY, **options}, BFGSSettings()).solve(problem, problems, training_set, key)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_alpha_bar_is_the_product_of_one_minus_beta_and_decays_towards_noise(schedule):
    betas = noise_schedule(schedule, 200)
    alpha_bar = alpha_bars(betas)
    np.testing.assert_allclose(alpha_bar, [np.prod(1 - betas[: t + 1]) for t in range(200)], rtol=1e-12)
    assert np.all((betas > 0) & (betas < 1)) and np.all(np.diff(alpha_bar) < 0)
    assert alpha_bar[0] > 0.99 and alpha_bar[-1] < 0.01  # x_T is (almost) pure noise


def test_forward_process_matches_its_closed_form_moments():
    prior = DenoisingPrior.create(WavePacket(), {"hidden": [4]}, "linear", 100)
    draws, x0 = 20_000, 0.5
    for t in (0, 30, 99):
        unit = jnp.full((draws, 1), x0)
        steps = jnp.full(draws, t)
        noised = prior.noised(unit, steps, jax.random.normal(jax.random.PRNGKey(t), (draws, 1)))
        a = float(prior.alpha_bar[t])
        # 5 standard errors of the sample mean sqrt((1-a)/N) and variance (1-a) sqrt(2/N)
        assert abs(float(noised.mean()) - np.sqrt(a) * x0) < 5 * np.sqrt((1 - a) / draws)
        assert abs(float(noised.var()) - (1 - a)) < 5 * (1 - a) * np.sqrt(2 / draws)


def test_reverse_times_run_from_the_last_step_down_to_zero():
    np.testing.assert_array_equal(reverse_times(10, 10), np.arange(10)[::-1])
    times = reverse_times(1000, 50)
    assert times[0] == 999 and times[-1] == 0 and len(times) == 50


def test_training_lowers_the_denoising_loss(linear):
    problem, _, training_set, key = linear
    method = make_method("diffusion", TINY, BFGSSettings())
    _, trained = method.train_prior(problem, training_set, key)
    assert np.mean(trained.curve[-10:]) < 0.6 * trained.curve[0]


def test_guidance_lowers_the_data_misfit_of_the_samples(linear):
    unguided, guided = solve(linear, guidance=0.0), solve(linear, guidance=0.1)
    assert np.mean(guided.loss) < 0.5 * np.mean(unguided.loss)
    assert guided.curve[-1] < guided.curve[0]  # L/n at x0_hat falls along the reverse steps


def test_more_samples_never_raise_the_chosen_loss(linear):
    one, four = solve(linear, guidance=0.1), solve(linear, guidance=0.1, samples=4)
    assert four.solution.shape == one.solution.shape == (8, 4)
    assert np.mean(four.loss) <= np.mean(one.loss) * 1.2  # best of 4 fresh draws, not the same draws


def test_estimate_contract_and_same_key_same_bits(linear):
    problem, problems, _, _ = linear
    first, again = solve(linear, guidance=0.1), solve(linear, guidance=0.1)
    np.testing.assert_array_equal(first.solution, again.solution)
    np.testing.assert_array_equal(first.curve, again.curve)
    assert np.all(np.abs(first.solution) <= 1)  # clipped to the box
    np.testing.assert_allclose(first.loss, problem.losses(first.solution, problems), rtol=1e-9)
    assert first.iterations.tolist() == [20] * 8 and first.curve.shape == (20,)
    assert first.initial.shape == first.solution.shape
    assert first.extra["denoising_loss_final"] < first.extra["denoising_loss_initial"]


def test_the_guidance_ladder_trains_once_and_matches_one_solve_per_value(linear, monkeypatch):
    """The calibration's ladder shares one trained denoiser; each rung's estimate is the one
    ``solve`` gives at that guidance (same key), bit for bit."""
    problem, problems, training_set, key = linear
    method = make_method("diffusion", TINY, BFGSSettings())
    trainings = []
    train_prior = type(method).train_prior
    monkeypatch.setattr(type(method), "train_prior", lambda *a: trainings.append(1) or train_prior(*a))
    ladder = method.solve_ladder("guidance", [0.1, 0.0], problem, problems, training_set, key)
    assert len(trainings) == 1
    for value, estimate in zip([0.1, 0.0], ladder, strict=True):
        alone = solve(linear, guidance=value)
        np.testing.assert_array_equal(estimate.solution, alone.solution)
        np.testing.assert_array_equal(estimate.curve, alone.curve)
    assert len(trainings) == 3


def test_unet_denoiser_runs_on_an_image_unknown():
    from lio.problems import make_problem

    problem = make_problem("ct", {"size": 8, "num_angles": 4})
    key_problems, key_training, key = jax.random.split(jax.random.PRNGKey(1), 3)
    options = {"network": {"kind": "unet", "features": [4, 8]}, "diffusion_steps": 20,
               "sampling_steps": 3, "guidance": 0.1, "training": {"steps": 3, "log_every": 0}}
    estimate = make_method("diffusion", options, BFGSSettings()).solve(
        problem, problem.sample(key_problems, 2), problem.sample(key_training, 2), key
    )
    assert estimate.solution.shape == (2, 64) and np.all(np.isfinite(estimate.loss))


@pytest.mark.parametrize(
    "options, match",
    [
        ({"schedule": "quadratic"}, r"schedule 'quadratic' is not known; expected one of \['linear', 'cosine'\]"),
        ({"sampling_steps": 200, "diffusion_steps": 100}, "sampling_steps 200 exceeds diffusion_steps 100"),
        ({"guidance": -1.0}, r"guidance \(zeta\) must be a finite number >= 0"),
        ({"eta": 2.0}, r"eta must lie in \[0, 1\]"),
        ({"samples": 0}, "samples must be an integer >= 1, got 0"),
        ({"network": {"kind": "conv"}}, r"network kind 'conv' is not known; expected one of \['mlp', 'unet'\]"),
        ({"network": {"kind": "mlp", "features": [4]}}, r"network key\(s\) \['features'\] do not apply to kind 'mlp'"),
    ],
)
def test_bad_options_are_named(options, match):
    with pytest.raises(ValueError, match=match):
        make_method("diffusion", options, BFGSSettings())


def test_check_rejects_a_network_that_does_not_fit_the_unknown():
    from lio.problems import make_problem

    with pytest.raises(ValueError, match=r"network kind 'unet' does not fit an unknown of shape \(1,\); expected kind 'mlp'"):
        make_method("diffusion", {"network": {"kind": "unet"}}, BFGSSettings()).check(WavePacket())
    ct = make_problem("ct", {"size": 12, "num_angles": 4})
    with pytest.raises(ValueError, match=r"sides of \(12, 12\) must be divisible by 8; use fewer network.features"):
        make_method("diffusion", {"network": {"features": [4, 4, 4, 4]}}, BFGSSettings()).check(ct)


def test_solve_without_a_training_set_says_what_is_missing(linear):
    problem, problems, _, key = linear
    with pytest.raises(ValueError, match="diffusion: the prior is learned from the labelled training set"):
        make_method("diffusion", TINY, BFGSSettings()).solve(problem, problems, None, key)


class Fragile(Linear):
    """Linear, but its simulator fails (NaN) outside |xi| < 1.5, as KS does for wild (alpha, beta)."""

    def forward(self, solution, condition):
        # An explicit NaN, not 0 * sqrt(negative): XLA may fold 0 * x to 0 on some CPUs.
        wild = jnp.any(jnp.abs(solution) > 1.5)
        return super().forward(solution, condition) + jnp.where(wild, jnp.nan, 0.0)


def test_a_non_finite_misfit_gradient_skips_the_guidance_instead_of_poisoning_the_sample(linear):
    _, problems, training_set, key = linear
    # At high noise x0_hat lies far outside the box (beyond 1.5), later inside.
    estimate = make_method("diffusion", {**TINY, "guidance": 0.1}, BFGSSettings()).solve(Fragile(), problems, training_set, key)
    assert 0 < estimate.extra["unguided_step_fraction"] < 1
    assert np.all(np.isfinite(estimate.solution)) and np.all(np.isfinite(estimate.loss))
