"""The damped oscillator: physics checks, parameter validation, and a tiny real workflow run."""

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
import yaml

from lio.problems import PROBLEMS, DampedOscillator, make_problem
from lio.analysis.results import open_dataset
from tests.workflow_helpers import scratch_copy, snakemake


def fine(**params):
    """A finely sampled trace (h = 1e-3 s) for finite-difference checks; no noise needed."""
    return DampedOscillator(duration=10.0, num_samples=10001, **params)


def test_registered_under_its_name():
    assert PROBLEMS["oscillator"] is DampedOscillator
    assert make_problem("oscillator").parameter_names == ("omega", "gamma")


def test_forward_is_the_closed_form():
    problem = DampedOscillator(amplitude=1.5, phase=0.4)
    t = np.linspace(0.0, 10.0, 128)
    omega, gamma = 3.7, 0.12
    expected = 1.5 * np.exp(-gamma * t) * np.cos(omega * t + 0.4)
    got = problem.forward(jnp.array([omega, gamma]), jnp.zeros(0))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def _derivatives(y, h):
    """Central differences in the interior: y, y', y'' on the same points; error O(h^2)."""
    first = (y[2:] - y[:-2]) / (2 * h)
    second = (y[2:] - 2 * y[1:-1] + y[:-2]) / h**2
    return y[1:-1], first, second


@pytest.mark.parametrize("gamma", [0.0, 0.2])
def test_envelope_energy_decays_as_exp_minus_2_gamma_t(gamma):
    # E = y^2 + ((y' + gamma y) / omega)^2 = A^2 exp(-2 gamma t): constant when gamma = 0.
    problem = fine(amplitude=2.0, phase=0.3, gamma_low=0.0)
    omega, h = 4.0, 1e-3
    y = np.asarray(problem.forward(jnp.array([omega, gamma]), jnp.zeros(0)))
    t = np.asarray(problem.times)[1:-1]
    y, dy, _ = _derivatives(y, h)
    energy = y**2 + ((dy + gamma * y) / omega) ** 2
    # Central difference error ~ h^2 omega^3 A / 6 ~ 2e-5 in y'/omega; relative 1e-5 on A^2 = 4.
    np.testing.assert_allclose(energy * np.exp(2 * gamma * t), 4.0, rtol=1e-5)


def test_trace_solves_the_damped_oscillator_ode():
    # x'' + 2 gamma x' + omega_0^2 x = 0 with omega_0^2 = omega^2 + gamma^2.
    problem = fine()
    omega, gamma, h = 5.0, 0.25, 1e-3
    y = np.asarray(problem.forward(jnp.array([omega, gamma]), jnp.zeros(0)))
    y, dy, d2y = _derivatives(y, h)
    residual = d2y + 2 * gamma * dy + (omega**2 + gamma**2) * y
    # Truncation h^2 omega_0^4 / 12 ~ 5e-5 against terms of size omega_0^2 ~ 25: 1e-5 relative.
    assert np.max(np.abs(residual)) < 1e-5 * (omega**2 + gamma**2)


def test_loss_at_truth_is_the_noise_energy(key):
    problem = DampedOscillator(noise_std=0.05)
    problems = problem.sample(key, 200)
    truth_loss = problem.losses(problems.solution, problems)
    # 25,600 noise samples: the mean of chi^2 is within ~1% (1 sigma) of 128 sigma^2; allow 3%.
    assert abs(float(truth_loss.mean()) / (128 * 0.05**2) - 1) < 0.03


def test_loss_along_omega_has_many_local_minima(key):
    # The docstring's claim that makes the problem hard for BFGS from the prior mean.
    problem = DampedOscillator()
    problems = problem.sample(key, 1)
    truth = problems.solution[0]
    omegas = jnp.linspace(1.0, 10.0, 2001)
    losses = jax.vmap(
        lambda w: problem.loss(truth.at[0].set(w), problems.condition[0], problems.observed[0])
    )(omegas)
    losses = np.asarray(losses)
    minima = np.sum((losses[1:-1] < losses[:-2]) & (losses[1:-1] < losses[2:]))
    assert minima >= 5


@pytest.mark.parametrize(
    "params, match",
    [
        ({"omega_low": 5.0, "omega_high": 2.0}, "omega_low=5.0 must be below omega_high=2.0"),
        ({"gamma_low": 0.5, "gamma_high": 0.5}, "gamma_low=0.5 must be below gamma_high=0.5"),
        ({"gamma_low": -0.1}, "gamma_low must be >= 0"),
        ({"omega_low": 0.0}, "omega_low must be > 0"),
        ({"num_samples": 1}, "num_samples must be >= 2"),
        ({"duration": 0.0}, "duration must be > 0"),
        ({"noise_std": -0.1}, "noise_std must be >= 0"),
        ({"num_samples": 16}, r"omega_high=10.0 rad/s is at or above the Nyquist frequency"),
        ({"frequency": 1.0}, r"unknown parameter\(s\) \['frequency'\]"),
    ],
)
def test_rejects_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        make_problem("oscillator", params)


# Smallest oscillator sweep through every rule: 1 n x 1 seed, BFGS and the reparameterized net
# (10 Adam steps) to stay well under two minutes on 2 cores. Configs merge recursively, so the
# test drops the supervised and neural-adjoint blocks from the scratch copy of
# config/oscillator.yaml; the dry run test below validates the untouched file with all four.
TINY = {
    "publish": False,
    "experiments": {
        "oscillator": {
            "ns": [4],
            "seeds": [0],
            "methods": {
                "bfgs": {},
                "reparameterized": {
                    "network": {"features": [4, 4, 8, 8, 8], "dense": 16},
                    "training": {"steps": 10, "log_every": 5},
                },
            },
            "figures": {"curves_n": 4, "landscape_points": 101},
        }
    },
    "comparison": {"bootstrap_resamples": 50},
    "studies": [],  # the full config's studies vary experiments this run drops
}


def test_config_block_runs_the_real_workflow_without_rule_edits(tmp_path):
    workdir = scratch_copy(tmp_path)
    # Only the oscillator: drop the wave packet from the scratch copy's base config, since
    # --configfile merges over config.yaml and cannot remove an experiment.
    base = yaml.safe_load((workdir / "config/config.yaml").read_text())
    base["experiments"].clear()  # only the oscillator runs here
    (workdir / "config/config.yaml").write_text(yaml.safe_dump(base))
    oscillator = yaml.safe_load((workdir / "config/oscillator.yaml").read_text())
    for method in ("supervised", "neural_adjoint"):
        del oscillator["experiments"]["oscillator"]["methods"][method]
    (workdir / "config/oscillator.yaml").write_text(yaml.safe_dump(oscillator))
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    result = snakemake(
        workdir, "--cores", "2", "--configfile", "config/oscillator.yaml", "tiny.yaml", timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    table = pd.read_csv(workdir / "results/table2.csv")
    assert set(table["experiment"]) == {"oscillator"}
    # One comparison row for the learned method, and BFGS's own health row (no better/equal:
    # BFGS is what the others are compared against).
    assert set(table["method"]) == {"reparameterized", "bfgs"}
    learned = table[table["method"] == "reparameterized"]
    assert learned[["better", "equal"]].sum(axis=1).le(1 + 1e-12).all()
    assert table.loc[table["method"] == "bfgs", "better"].isna().all()
    run = open_dataset(workdir / "results/oscillator/reparameterized/n4/seed0/result.nc")
    assert list(run["parameter"].values) == ["omega", "gamma"]
    assert (run["loss_refined"] <= run["loss_unrefined"] + 1e-9).all()
    for panel in "abcd":
        assert (workdir / f"results/oscillator/figures/{panel}.png").stat().st_size > 1000


def test_config_file_adds_the_oscillator_to_the_full_sweep(tmp_path):
    # A real dry run (in a scratch copy, so existing results/ do not matter): the untouched
    # file validates (schema, and lio.run.config builds every method) and adds oscillator jobs
    # beside the wave packet's.
    workdir = scratch_copy(tmp_path)
    result = snakemake(workdir, "-n", "--cores", "1", "--configfile", "config/oscillator.yaml", timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    for method in ("bfgs", "reparameterized", "supervised", "neural_adjoint"):
        assert f"results/oscillator/{method}/n256/seed3/result.nc" in output
    assert "results/wavepacket/" in output
