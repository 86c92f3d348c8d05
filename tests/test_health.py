"""Training-health diagnostics (lio.analysis.health) and the exact / same-minimum comparison."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from lio.analysis import health
from lio.analysis.metrics import fractions, health_markdown
from lio.problems import WavePacket

LOWER, UPPER = np.array([32.0]), np.array([224.0])


def test_pinned_outside_and_error_per_example():
    truth = np.array([[100.0], [100.0], [100.0], [100.0]])
    solution = np.array([[224.0], [223.9], [230.0], [128.0]])  # edge, within margin, beyond, inside
    examples = health.per_example(solution, truth, LOWER, UPPER)
    np.testing.assert_array_equal(examples["pinned"], [True, True, False, False])
    np.testing.assert_array_equal(examples["outside"], [False, False, True, False])
    np.testing.assert_allclose(examples["error"], np.abs(solution[:, 0] - 100.0) / 192.0)


def test_collapse_onto_one_output_and_pinning_make_a_run_degenerate(key):
    truth = np.linspace(40.0, 220.0, 20)[:, None]
    problem = WavePacket()
    healthy = health.diagnose(problem, truth + 1.0, truth)[1]
    assert healthy["spread"] == pytest.approx(1.0) and healthy["in_basin"] == 1.0
    assert not health.is_degenerate(healthy) and health.warnings(healthy, "x") == []
    collapsed = health.diagnose(problem, np.full_like(truth, 128.0), truth)[1]
    assert collapsed["spread"] == 0.0 and health.is_degenerate(collapsed)
    assert any("collapsed onto one output" in line for line in health.warnings(collapsed, "x"))
    pinned = health.diagnose(problem, np.where(truth > 150, 224.0, truth), truth)[1]
    assert pinned["pinned"] == pytest.approx(np.mean(truth > 150)) and health.is_degenerate(pinned)
    assert any("pinned to the parameter box's edge" in line for line in health.warnings(pinned, "x"))
    # estimates spread like the truths but out of the box (a packet moved out of its window)
    outside = health.diagnose(problem, truth + 400.0, truth)[1]
    assert outside["outside"] == 1.0 and outside["spread"] == pytest.approx(1.0) and health.is_degenerate(outside)
    assert any("outside the prior's box" in line for line in health.warnings(outside, "x"))
    one_out = health.diagnose(problem, np.where(truth == truth.max(), 400.0, truth), truth)[1]
    assert one_out["outside"] == pytest.approx(0.05) and not health.is_degenerate(one_out)  # 1 of 20: within 10 %


def test_wavepacket_basin_is_half_an_oscillation_period():
    problem = WavePacket()
    truth = np.array([[100.0], [100.0], [100.0]])
    np.testing.assert_array_equal(
        problem.in_basin(np.array([[103.0], [96.8], [106.3]]), truth), [True, False, False]
    )


def test_mismatched_shapes_say_what_was_expected():
    with pytest.raises(ValueError, match=r"expected \(n, d\), \(n, d\) and \(d,\)"):
        health.per_example(np.zeros((3, 2)), np.zeros((3, 1)), LOWER, UPPER)


def aggregate(losses, solutions, truth):
    """One n, one seed: methods bfgs and reparameterized."""
    loss = np.asarray(losses, float)[:, None, None]
    solution = np.asarray(solutions, float)[:, None, None, :, None]
    truth = np.broadcast_to(np.asarray(truth, float)[None, None, None, :, None], solution.shape)
    dims = ("solver", "n", "seed", "example")
    return xr.Dataset(
        {
            "loss_refined": (dims, loss),
            "loss_unrefined": (dims, loss),
            "solution_refined": ((*dims, "parameter"), solution),
            "solution_unrefined": ((*dims, "parameter"), solution),
            "truth": ((*dims, "parameter"), truth),
        },
        coords={"solver": ["bfgs", "reparameterized"], "n": [4], "seed": [0]},
    )


def test_exact_comparison_splits_what_the_tolerance_calls_equal():
    # both at the truth (losses differ in the last digits), one better, one at another minimum
    bfgs_loss = [1e-26, 2e-27, 5.0, 3.0]
    mine_loss = [2e-28, 3e-27, 1.0, 3.0]
    truth = [100.0, 120.0, 140.0, 160.0]
    bfgs_solution = [100.0, 120.0, 150.0, 166.0]
    mine_solution = [100.0 + 1e-9, 120.0 - 1e-9, 140.0, 166.0]
    dataset = aggregate([bfgs_loss, mine_loss], [bfgs_solution, mine_solution], truth)
    table = fractions(dataset, "refined", 1e-6, 1e-12, 50, 0.95, problem=WavePacket())
    mine = table[table["method"] == "reparameterized"].iloc[0]
    assert (mine.better, mine.equal) == (0.25, 0.75)
    assert (mine.better_exact, mine.equal_exact) == (0.5, 0.25)
    assert mine.same_minimum == 0.75  # examples 0, 1 and 3 sit at BFGS's point
    assert mine.in_basin == 0.75 and mine.degenerate == 0
    bfgs = table[table["method"] == "bfgs"].iloc[0]
    assert np.isnan(bfgs.better) and bfgs.in_basin == 0.5
    table.insert(0, "experiment", "wavepacket")
    both = table.assign(stage="unrefined")
    markdown = health_markdown(pd.concat([table, both]))
    assert "| wavepacket | reparameterized | 0.0% | " in markdown and "50.0% / 25.0%" in markdown


def test_pinned_share_pooled_over_problems_and_the_sizes_where_it_lives():
    """Two groups, n = 2 (one of two pinned) and n = 8 (none): the mean over groups is 25 %, the
    share of all ten problems 10 %, and only the n = 2 group is above the degenerate share."""
    dims = ("solver", "n", "seed", "example")
    solution = np.full((2, 2, 1, 8, 1), np.nan)
    truth = np.full_like(solution, np.nan)
    solution[:, 0, 0, :2, 0], truth[:, 0, 0, :2, 0] = [224.0, 100.0], [200.0, 110.0]
    solution[:, 1, 0, :, 0] = truth[:, 1, 0, :, 0] = np.linspace(50, 200, 8)
    loss = np.where(np.isnan(solution[..., 0]), np.nan, 1.0)
    dataset = xr.Dataset(
        {"loss_refined": (dims, loss), "loss_unrefined": (dims, loss),
         "solution_refined": ((*dims, "parameter"), solution),
         "solution_unrefined": ((*dims, "parameter"), solution),
         "truth": ((*dims, "parameter"), truth)},
        coords={"solver": ["bfgs", "reparameterized"], "n": [2, 8], "seed": [0]},
    )
    row = fractions(dataset, "unrefined", 1e-6, 1e-12, 20, 0.95, problem=WavePacket()).iloc[1]
    assert row.pinned == pytest.approx(0.25) and row.pinned_pooled == pytest.approx(0.1)
    assert row.pinned_ns == "2"

    from lio.report.paper.health import pinning_notes

    table = fractions(dataset, "unrefined", 1e-6, 1e-12, 20, 0.95, problem=WavePacket())
    table.insert(0, "experiment", "wavepacket")
    note = pinning_notes(table[table["method"] != "bfgs"], ["wavepacket"])
    assert r"25.0\,\% pinned as a mean" in note and r"10.0\,\% of all its problems" in note
    assert r"$n \in \{2\}$" in note


def test_progress_says_whether_the_search_moved_the_estimates_toward_the_truth():
    truth = np.array([[100.0], [100.0], [100.0], [100.0]])
    initial = np.array([[140.0], [140.0], [110.0], [100.0]])
    solution = np.array([[110.0], [200.0], [110.0], [100.0]])  # closer, further, stayed, stayed
    moved = health.progress(initial, solution, truth, LOWER, UPPER)
    assert moved["closer"] == 0.25  # strictly closer only: a start at the truth cannot improve
    assert moved["error_initial"] == pytest.approx(np.median([40.0, 40.0, 10.0, 0.0]) / 192.0)


def test_health_rows_carry_the_start_where_the_aggregate_has_it():
    truth = [100.0, 120.0, 140.0, 160.0]
    dataset = aggregate([[5.0] * 4, [4.0] * 4], [[128.0] * 4, [101.0, 121.0, 190.0, 30.0]], truth)
    table = fractions(dataset, "unrefined", 1e-6, 1e-12, 50, 0.95, problem=WavePacket())
    assert "closer" not in table or table["closer"].isna().all()  # an older aggregate: no start
    start = np.broadcast_to(np.array([128.0, 110.0, 140.0, 160.0])[None, None, None, :, None], (2, 1, 1, 4, 1))
    dataset["solution_initial"] = (("solver", "n", "seed", "example", "parameter"), start.copy())
    table = fractions(dataset, "unrefined", 1e-6, 1e-12, 50, 0.95, problem=WavePacket())
    mine = table[table["method"] == "reparameterized"].iloc[0]
    assert mine.closer == 0.5  # 128 -> 101 (truth 100) and 110 -> 121 (truth 120) moved closer; the others away
    assert mine.error_initial == pytest.approx(np.median([28.0, 10.0, 0.0, 0.0]) / 192.0)
    table.insert(0, "experiment", "wavepacket")
    markdown = health_markdown(pd.concat([table.assign(stage="refined"), table]))
    assert "| wavepacket | reparameterized |" in markdown and "-> " in markdown and "50.0%" in markdown


def test_a_baselines_flags_say_stuck_at_its_start_or_left_the_box_not_degenerate():
    """BFGS's estimates all at the prior mean (spread 0): for a learned method that is a
    degenerate run; for the baseline it is reported as what it is."""
    from lio.analysis.metrics import health_verdict

    truth = [100.0, 120.0, 140.0, 160.0]
    stuck = [128.0, 128.0, 128.0, 128.0]
    dataset = aggregate([[1.0] * 4, [1.0] * 4], [stuck, stuck], truth)
    table = fractions(dataset, "unrefined", 1e-6, 1e-12, 50, 0.95, problem=WavePacket())
    bfgs = table[table["method"] == "bfgs"].iloc[0]
    mine = table[table["method"] == "reparameterized"].iloc[0]
    assert (bfgs.stuck, bfgs.left_box, bfgs.degenerate) == (1, 0, 1)
    assert health_verdict(bfgs) == "stuck at its start 1/1"
    assert health_verdict(mine) == "1/1"
