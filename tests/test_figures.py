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


def _aggregate(losses):
    """A synthetic aggregate: refined losses (solver x n x seed x example) and flat curves."""
    import xarray as xr

    solvers, ns = ["bfgs", "reparameterized", "supervised"], [2, 8, 32]
    curve = np.broadcast_to(np.linspace(10.0, 0.05, 30), (3, 3, 2, 30)).copy()
    return xr.Dataset(
        {"loss_refined": (("solver", "n", "seed", "example"), losses),
         "curve": (("solver", "n", "seed", "iteration"), curve)},
        coords={"solver": solvers, "n": ns, "seed": [0, 1]},
    )


def _drawn(monkeypatch, draw, *args):
    from lio.report import figures, run_figures

    drawn = {}
    for module in (figures, run_figures):
        monkeypatch.setattr(module, "_save", lambda figure, png, pdf, rect=None: drawn.update(figure=figure))
    draw(*args, "x.png", "x.pdf")
    figure = drawn["figure"]
    figure.canvas.draw()
    return figure


def _check_readable(figure, width):
    """Issue 40: every text is >= 7 pt at print size (the figure is no wider than it prints),
    and every log axis carries at least two tick labels."""
    from matplotlib.text import Text

    from lio.report import figures

    assert figure.get_figwidth() <= width + 1e-9
    sizes = [t.get_fontsize() for t in figure.findobj(Text) if t.get_text().strip() and t.get_visible()]
    assert sizes and min(sizes) >= figures.MIN_FONT_PT, min(sizes)
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() == "log":
                low, high = sorted(axis.get_view_interval())
                shown = [t for t in axis.get_ticklabels() if t.get_text() and low <= t.get_position()[axis is ax.yaxis] <= high]
                assert len(shown) >= 2, [t.get_text() for t in axis.get_ticklabels()]


def test_result_panels_are_readable_with_bfgs_on_top(monkeypatch):
    from lio.report import figures

    rng = np.random.default_rng(0)
    aggregate = _aggregate(10 ** rng.uniform(-1.3, -0.6, (3, 3, 2, 8)))  # one decade: few log ticks
    for draw, args in ((figures.optimisation_curves, (aggregate, 8)), (figures.refined_loss_by_n, (aggregate,))):
        figure = _drawn(monkeypatch, draw, *args)
        _check_readable(figure, figures.PANEL_WIDTH)
        ax = figure.axes[0]
        artists = ax.get_lines()
        by_colour = {}
        for artist in artists:
            by_colour.setdefault(matplotlib.colors.to_hex(artist.get_color()), []).append(artist.get_zorder())
        assert min(by_colour[figures.METHOD_COLORS["bfgs"]]) > max(
            z for c, zs in by_colour.items() if c != figures.METHOD_COLORS["bfgs"] for z in zs)


def test_loss_panel_draws_the_solved_share_where_solved_and_missed_problems_mix(monkeypatch):
    """Billiards and KS refine some problems to 1e-25 and miss others at 1e-1: a median jumps
    between the two, so panel (d) draws the share solved; unimodal losses keep their quartiles."""
    from lio.report import figures

    mixed = np.where(np.arange(8) % 2, 1e-25, 1e-1) * np.ones((3, 3, 2, 8))
    aggregate = _aggregate(mixed)
    assert figures.loss_panel_kind(aggregate) == "solved"
    figure = _drawn(monkeypatch, figures.refined_loss_by_n, aggregate)
    ax = figure.axes[0]
    assert ax.get_yscale() == "linear" and "solved" in ax.get_ylabel()
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), 50.0)
    assert figures.loss_panel_kind(_aggregate(np.full((3, 3, 2, 8), 0.5))) == "quartiles"
    _check_readable(figure, figures.PANEL_WIDTH)


def test_wide_figures_print_at_the_text_width_with_readable_fonts(monkeypatch):
    """The observation-amount figure (five quality panels) and a study print at the report's
    text width, three panels to a row at most, fonts >= 7 pt."""
    import pandas as pd

    from lio.report import figures, run_figures

    rows = []
    for method in ("bfgs", "reparameterized", "supervised", "learned_gradient", "diffusion"):
        for index, amount in enumerate((90, 45, 22)):
            row = {"experiment": "CT", "method": method, "stage": "refined", "amount": amount,
                   "amount_index": index, "increases_observations": True, "label": "projection angles",
                   "parameter": "num_angles", "better": 0.5, "better_low": 0.4, "better_high": 0.6}
            for q in ("loss", "psnr", "ssim", "relative_error"):
                row |= {f"{q}_mean": 1.0 + index, f"{q}_low": 0.5 + index, f"{q}_high": 1.5 + index}
            rows.append(row)
    figure = _drawn(monkeypatch, run_figures.observations, pd.DataFrame(rows))
    _check_readable(figure, figures.TEXT_WIDTH)
    assert max(len({round(ax.get_position().y0, 3) for ax in figure.axes}), 1) == 2  # 5 panels: two rows
