"""Better / equal fractions on hand-made losses, ties and non-finite values included."""

import numpy as np
import pytest
import xarray as xr

from lio.analysis.metrics import compare, fractions, latex_table, markdown_table


def test_compare_with_ties_tolerance_and_nan():
    baseline = np.array([1.0, 1.0, 1.0, 1.0, 2.0, 0.0])
    loss = np.array([0.5, 1.0 + 1e-9, 1.5, np.nan, 2.0 - 1e-3, 1e-14])
    better, equal = compare(loss, baseline, rtol=1e-6, atol=1e-12)
    np.testing.assert_array_equal(better, [True, False, False, False, True, False])
    np.testing.assert_array_equal(equal, [False, True, False, False, False, True])


def make_aggregate(method_losses, bfgs_losses):
    """Aggregate with one n and the given seeds x examples."""
    seeds, n = np.shape(bfgs_losses)
    loss = np.stack([np.asarray(bfgs_losses), np.asarray(method_losses)])[:, None]
    return xr.Dataset(
        {"loss_refined": (("solver", "n", "seed", "example"), loss),
         "loss_unrefined": (("solver", "n", "seed", "example"), loss)},
        coords={"solver": ["bfgs", "reparameterized"], "n": [n], "seed": list(range(seeds))},
    )


def test_fractions_average_over_groups_and_intervals_bracket_them():
    bfgs = [[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]]
    mine = [[0.5, 0.5, 1.0, 2.0], [0.5, 2.0, 2.0, 2.0]]  # seed 0: 2 better 1 equal; seed 1: 1 better
    table = fractions(make_aggregate(mine, bfgs), "refined", 1e-6, 1e-12, resamples=500, confidence=0.95)
    row = table.iloc[0]
    assert row.method == "reparameterized" and row.groups == 2
    assert row.better == pytest.approx((2 / 4 + 1 / 4) / 2)
    assert row.equal == pytest.approx((1 / 4 + 0) / 2)
    assert row.better_low <= row.better <= row.better_high
    assert row.equal_low <= row.equal <= row.equal_high


def test_all_ties_give_equal_one_and_a_degenerate_interval():
    table = fractions(make_aggregate([[3.0] * 5], [[3.0] * 5]), "refined", 1e-6, 1e-12, 100, 0.9)
    row = table.iloc[0]
    assert (row.better, row.equal, row.equal_low, row.equal_high) == (0.0, 1.0, 1.0, 1.0)


def test_fractions_without_bfgs_say_what_to_add():
    dataset = make_aggregate([[1.0]], [[1.0]]).assign_coords(solver=["supervised", "reparameterized"])
    with pytest.raises(ValueError, match="no 'bfgs' runs; add bfgs"):
        fractions(dataset, "refined", 1e-6, 1e-12, 10, 0.95)


def test_tables_render_every_experiment_and_method():
    table = fractions(make_aggregate([[0.5, 2.0]], [[1.0, 1.0]]), "refined", 1e-6, 1e-12, 50, 0.95)
    table.insert(0, "experiment", "wavepacket")
    markdown = markdown_table(table)
    assert "| wavepacket | 50.0% [" in markdown
    latex = latex_table(table, "refined")
    assert "wavepacket & 50.0\\% & 0.0\\% \\\\" in latex and "\\toprule" in latex
