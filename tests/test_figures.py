"""Figure helpers: spreads that stay on log axes, and panels from a synthetic aggregate."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from lio.figures import geometric_spread  # noqa: E402


def test_geometric_spread_stays_positive_where_the_std_exceeds_the_mean():
    """Issue 22.9: mean - std of (1, 1, 1000) is -137: such a bar falls off a log axis."""
    values = np.array([[1.0, 1.0, 1000.0], [4.0, 4.0, 4.0]])
    centre, low, high = geometric_spread(values, axis=1)
    assert np.allclose(centre, [10.0, 4.0]) and np.allclose(low[1], 4.0) and np.allclose(high[1], 4.0)
    assert values[0].mean() - values[0].std() < 0 < low[0]
    assert np.allclose(centre / low, high / centre)  # symmetric on a log axis


def test_geometric_spread_ignores_missing_runs():
    centre, low, high = geometric_spread(np.array([[2.0, np.nan, 8.0]]), axis=1)
    assert np.allclose(centre, 4.0) and np.allclose(low, 2.0) and np.allclose(high, 8.0)
