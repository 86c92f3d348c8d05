"""The basins check (lio.run.basins): is BFGS from the prior mean stuck where another start ends lower?"""

import jax
import numpy as np

from lio.run import basins
from lio.methods import BFGSSettings
from lio.problems import WavePacket

RTOL, ATOL = 1e-6, 1e-12


def _check(n=8, starts=4, seed=3):
    problem = WavePacket()
    problems = problem.sample(jax.random.PRNGKey(seed), n)
    return problem, problems, basins.multistart(
        problem, problems, BFGSSettings(), starts, jax.random.PRNGKey(seed + 1), RTOL, ATOL
    )


def test_the_wave_packet_bfgs_is_mostly_stuck_and_the_flags_match_the_losses():
    """The wave packet's loss has a local minimum every 2 pi samples, and BFGS from the prior's
    centre (t0 = 128) reaches the truth's only when the packet lies near it."""
    problem, problems, found = _check()
    n = problems.n
    for name in ("loss_from_mean", "loss_from_truth", "loss_best", "stuck", "iterations"):
        assert found[name].shape == (n,), name
    margin = ATOL + RTOL * np.abs(found["loss_from_mean"])
    np.testing.assert_array_equal(found["stuck"], found["loss_best"] < found["loss_from_mean"] - margin)
    assert np.all(found["loss_best"] <= found["loss_from_truth"])  # the truth's start is one of them
    # the truth's start ends in the global basin, below BFGS's local minimum, for most problems
    assert found["truth_start_lower"].mean() >= 0.5 and found["stuck"].mean() >= 0.5
    assert np.all(found["stuck"] >= found["truth_start_lower"])
    assert np.all(found["distinct_optima"] >= 1) and np.all(found["distinct_optima"] <= 6)
    summary = basins.summarize(found)
    assert summary["stuck"] == found["stuck"].mean() and summary["iterations_max"] >= 1


def test_a_problem_whose_truth_is_bfgss_own_optimum_is_not_stuck():
    """A truth at the prior mean: BFGS starts in the global basin and no start can end lower."""
    problem = WavePacket(noise_std=0.0)
    problems = problem.sample(jax.random.PRNGKey(0), 4)
    centred = problems.replace(solution=jax.numpy.full_like(problems.solution, 128.0))
    centred = centred.replace(observed=jax.vmap(problem.forward)(centred.solution, centred.condition))
    found = basins.multistart(problem, centred, BFGSSettings(), 3, jax.random.PRNGKey(1), RTOL, ATOL)
    assert not found["stuck"].any() and not found["truth_start_lower"].any()
    np.testing.assert_allclose(found["loss_from_mean"], 0.0, atol=1e-12)


def test_the_check_is_deterministic():
    first, second = _check(n=4, starts=2)[2], _check(n=4, starts=2)[2]
    for name, values in first.items():
        np.testing.assert_array_equal(values, second[name])


def test_starts_of_reads_the_block_and_zero_turns_it_off():
    assert basins.starts_of({}) == 0 and basins.starts_of({"basins": {"starts": 0}}) == 0
    assert basins.starts_of({"basins": {"starts": 8}}) == 8
