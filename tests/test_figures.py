"""Figure helpers: spreads that stay on log axes, and panels from a synthetic aggregate."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from lio.report.figures import geometric_spread  # noqa: E402


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


def test_optimisation_curves_plot_the_monitored_iterations_only(monkeypatch, tmp_path):
    """A curve monitored every 10th step (supervised's ``monitor_every``) is NaN between: the
    panel draws its monitored points, not a line broken at every gap."""
    import xarray as xr

    from lio.report import figures

    every = np.linspace(10.0, 1.0, 21)
    thinned = np.full(21, np.nan)
    thinned[::10] = every[::10]
    curve = np.stack([np.stack([every, every]), np.stack([thinned, thinned])])[:, None]
    aggregate = xr.Dataset(
        {"curve": (("solver", "n", "seed", "iteration"), curve)},
        coords={"solver": ["reparameterized", "supervised"], "n": [4], "seed": [0, 1]},
    )
    drawn = {}
    monkeypatch.setattr(figures, "_save", lambda figure, png, pdf: drawn.update(figure=figure))
    figures.optimisation_curves(aggregate, 4, str(tmp_path / "c.png"), str(tmp_path / "c.pdf"))
    lines = {line.get_label(): line for line in drawn["figure"].axes[0].get_lines()}
    x = {label: np.asarray(line.get_xdata()) for label, line in lines.items()}
    assert sorted(len(v) for v in x.values()) == [3, 21]
    np.testing.assert_array_equal(min(x.values(), key=len), [1, 11, 21])  # iteration + 1
    assert all(np.all(np.isfinite(line.get_ydata())) for line in lines.values())
