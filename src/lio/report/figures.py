"""The four panels of every experiment (paper Figs. 2-5), one function per panel.

Consistent style across experiments: one colour per method, log axes for losses and n, BFGS
(the reference) drawn on top. Panel (c): geometric mean and spread (÷ and × the geometric std)
over seeds, which stay on log axes; panel (d): median and quartiles of the per-problem losses,
floored at ``LOSS_FLOOR`` times the largest. Figures are sized at their print width (a panel is
half the report's text width, a wide figure all of it), so that the fonts are their printed size
(≥ ``MIN_FONT_PT``). Each panel is written as PNG (README, report) and PDF (paper).
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib
import matplotlib.lines
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402
import xarray as xr  # noqa: E402

from lio.core.atomic import atomic_path  # noqa: E402
from lio.methods import LABELS  # noqa: E402
from lio.problems.base import Problem, ProblemSet  # noqa: E402
from lio.analysis.results import SOLVER as SOLVER_DIM  # noqa: E402

METHOD_COLORS = {
    "bfgs": "#444444",
    "reparameterized": "#d62728",
    "supervised": "#1f77b4",
    "neural_adjoint": "#2ca02c",
    "learned_gradient": "#ff7f0e",
    "diffusion": "#9467bd",
    "random_start": "#8c564b",
    "best_of_random_starts": "#e377c2",
}
METHOD_LABELS = LABELS  # the registry's (lio.methods.LABELS)
SHORT_LABELS = {  # for narrow image columns
    "reparameterized": "reparam.",
    "supervised": "supervised",
    "neural_adjoint": "neural adj.",
    "learned_gradient": "learned grad.",
    "diffusion": "diffusion",
    "random_start": "random start",
    "best_of_random_starts": "best start",
}
TEXT_WIDTH = 6.3  # inches: the report's A4 text width (21 cm - 2 x 2.5 cm margins)
PANEL_WIDTH = 0.49 * TEXT_WIDTH  # panels (a)-(d) print two to a row
FIGSIZE = (PANEL_WIDTH, 2.5)
RESULT_FIGSIZE = (PANEL_WIDTH, 3.1)  # room for the method legend below the axes
MIN_FONT_PT = 7.0  # every text at print size (tests/test_figures.py)
LOSS_FLOOR = 1e-12  # panel (d): a loss below this fraction of the largest upper quartile is solved to round-off
MIXED_SHARE = 0.1  # panel (d) draws the solved share where at least this share is solved and as many are not
REFERENCE = "bfgs"  # drawn last, on top of the learned methods' lines


def _method_legend(ax) -> None:
    ax.legend(frameon=False, fontsize="small", ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.3),
              handlelength=1.2, columnspacing=0.8, handletextpad=0.4)


def _style() -> None:
    sns.set_theme(context="paper", style="ticks", font_scale=1.0)


def _save(figure, png: str, pdf: str, rect=(0, 0, 1, 1)) -> None:
    figure.tight_layout(rect=rect)
    _savefig(figure, png, dpi=200)
    _savefig(figure, pdf)
    plt.close(figure)


def _savefig(figure, path: str, **options) -> None:
    """``figure.savefig(path)``, atomically (``lio.core.atomic``). The temporary file's name
    has no image extension, so the format is the one ``path``'s extension names."""
    fmt = Path(path).suffix[1:].lower() or plt.rcParams["savefig.format"]
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format=fmt, **options)


def _plain_log_ticks(axis) -> None:
    """Log-axis tick labels as plain numbers (14, 15) rather than 1.4x10^1, at least two of
    them: inside one decade evenly spaced ticks, across two or three decades 1, 2 and 5 x 10^k,
    beyond that the powers of ten (at most about six labels)."""
    formatter = matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}")
    low, high = axis.get_view_interval()
    decades = np.log10(high / low) if low > 0 and high > low else np.inf
    if decades < 1:  # log minor ticks sit at 2..9 x 10^k: too few inside one decade
        axis.set_major_locator(matplotlib.ticker.MaxNLocator(nbins=6))
        axis.set_minor_locator(matplotlib.ticker.NullLocator())
    elif decades < 3:
        axis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    else:
        axis.set_major_locator(matplotlib.ticker.LogLocator(numticks=7))
    axis.set_major_formatter(formatter)
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def geometric_spread(values: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Geometric mean and its one-sigma band (mean ÷ and × the geometric standard deviation)
    of positive values along ``axis``: on a log axis mean ± std of the values falls below zero
    (off the axis) whenever the spread exceeds the mean; this band is symmetric there."""
    logs = np.log(np.where(values > 0, values, np.nan))
    centre, spread = np.nanmean(logs, axis=axis), np.nanstd(logs, axis=axis)
    return np.exp(centre), np.exp(centre - spread), np.exp(centre + spread)


def _color(method: str) -> str:
    return METHOD_COLORS.get(method, "#9467bd")


def _reference_last(methods) -> list[str]:
    """The methods in drawing order: BFGS, the line every other is judged against, last."""
    methods = [str(m) for m in methods]
    return [m for m in methods if m != REFERENCE] + [m for m in methods if m == REFERENCE]


def _zorder(method: str) -> float:
    return 3.0 if method == REFERENCE else 2.0


def example_observation(problem: Problem, problems: ProblemSet, index: int, png: str, pdf: str):
    """Panel (a): the observation of one problem and the noise-free forward model."""
    _style()
    if "a" in problem.example_panels:  # a problem-specific sketch (e.g. billiards' table)
        _problem_panel(problem, problems, index, "a", png, pdf)
        return
    figure, ax = plt.subplots(figsize=FIGSIZE)
    observed = np.asarray(problems.observed[index])
    clean = np.asarray(problem.forward(problems.solution[index], problems.condition[index]))
    if observed.ndim == 1:
        ax.plot(observed, lw=0.8, color="#999999", label="observed $y$")
        ax.plot(clean, lw=1.0, color="#d62728", label="$F(\\xi^*)$")
        ax.set_xlabel("sample")
        ax.set_ylabel("signal")
        ax.legend(frameon=False, fontsize="small")
    else:
        image = ax.imshow(observed, aspect="auto", cmap="RdBu_r")
        figure.colorbar(image, ax=ax)
    truth = ", ".join(
        f"{name}={value:.3g}"
        for name, value in zip(problem.parameter_names, np.asarray(problems.solution[index]))
    )
    ax.set_title(f"(a) example, {truth}", fontsize="medium")
    sns.despine(figure)
    _save(figure, png, pdf)


def image_gallery(
    problem: Problem, problems: ProblemSet, aggregate: xr.Dataset, index: int, png: str, pdf: str
):
    """Panel (a) of an imaging problem: the truth, the network input (e.g. the filtered
    back-projection; BFGS's start where the networks see the data itself) and every method's
    reconstruction of the same problem (largest n, first seed), its own estimate above and after
    BFGS refinement below, with PSNR / SSIM, all on the grey scale of the prior's box."""
    _style()
    shape = problem.solution_shape
    n, seed = int(aggregate["n"].values[-1]), aggregate["seed"].values[0]
    truth = np.asarray(problems.solution[index]).reshape(shape)
    given = np.asarray(problem.network_input(problems.observed[index], problems.condition[index]))
    given_title = "network input"
    if given.size != truth.size:  # the networks see the data itself (FWI's shot gathers)
        given, given_title = np.asarray(problem.prior_mean), "BFGS start"
    lower, upper = (np.asarray(b, float) for b in problem.bounds)
    scale = {"cmap": "gray", "vmin": float(lower.min()), "vmax": float(upper.max())}
    solvers = [str(s) for s in aggregate[SOLVER_DIM].values]
    columns = 2 + len(solvers)
    width = min(TEXT_WIDTH, 1.0 * columns)
    figure, axes = plt.subplots(2, columns, figsize=(width, 2.2 + 0.4 * (width / columns < 0.9)), squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    axes[0, 0].imshow(truth, **scale)
    axes[0, 0].set_title("truth", fontsize="small")
    axes[0, 1].imshow(given.reshape(shape), **scale)
    axes[0, 1].set_title(given_title, fontsize="small")
    for column, solver in enumerate(solvers, start=2):
        for row, stage in enumerate(("unrefined", "refined")):
            pick = {SOLVER_DIM: solver, "n": n, "seed": seed, "example": index}
            estimate = aggregate[f"solution_{stage}"].sel(pick).values.reshape(shape)
            if not np.all(np.isfinite(estimate)) or (solver == "bfgs" and stage == "unrefined"):
                continue
            axes[row, column].imshow(estimate, **scale)
            psnr = float(aggregate[f"psnr_{stage}"].sel(pick)) if f"psnr_{stage}" in aggregate else np.nan
            ssim = float(aggregate[f"ssim_{stage}"].sel(pick)) if f"ssim_{stage}" in aggregate else np.nan
            label = SHORT_LABELS.get(solver, METHOD_LABELS.get(solver, solver))
            axes[row, column].set_title(f"{label}\n{psnr:.1f} dB\n{ssim:.2f}", fontsize="small")
    figure.suptitle(f"(a) example, n = {n}: own estimate (top), + BFGS (bottom); PSNR, SSIM",
                    fontsize="medium")
    _save(figure, png, pdf)


def _problem_panel(problem: Problem, problems: ProblemSet, index: int, panel: str, png: str, pdf: str):
    """A panel the problem draws itself (``Problem.example_panels``), e.g. a flow field."""
    figure, ax = plt.subplots(figsize=FIGSIZE)
    title = problem.draw_example(ax, problems, index, panel) or "example"
    ax.set_title(f"({panel}) {title}", fontsize="medium")
    sns.despine(figure)
    _save(figure, png, pdf)


def landscape(
    problem: Problem, problems: ProblemSet, index: int, points: int, parameter: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Loss and its derivative along one parameter (others at the truth) across the box."""
    lower, upper = problem.bounds
    grid = jnp.linspace(lower[parameter], upper[parameter], points)
    truth = problems.solution[index]
    condition, observed = problems.condition[index], problems.observed[index]

    def loss_at(value):
        return problem.loss(truth.at[parameter].set(value), condition, observed)

    values, grads = jax.vmap(jax.value_and_grad(loss_at))(grid)
    return np.asarray(grid), np.asarray(values), np.asarray(grads)


def loss_landscape(
    problem: Problem,
    problems: ProblemSet,
    index: int,
    points: int,
    png: str,
    pdf: str,
    parameter: int = 0,
):
    """Panel (b): L and dL/dxi along one parameter (others at the truth), truth and BFGS's
    start marked; or the problem's own panel (b) when it lists "b" in ``example_panels``."""
    _style()
    if "b" in problem.example_panels:
        _problem_panel(problem, problems, index, "b", png, pdf)
        return
    grid, values, grads = landscape(problem, problems, index, points, parameter)
    name = problem.parameter_names[parameter]
    figure, ax = plt.subplots(figsize=FIGSIZE)
    ax.plot(grid, values, color="#d62728", lw=1.0, label="$L$")
    ax.set_xlabel(name)
    ax.set_ylabel("loss $L$", color="#d62728")
    twin = ax.twinx()
    twin.plot(grid, grads, color="#1f77b4", lw=0.6, alpha=0.8, label="$\\partial L/\\partial$" + name)
    twin.set_ylabel(f"$\\partial L / \\partial {name}$", color="#1f77b4")
    ax.axvline(float(problems.solution[index, parameter]), color="k", ls="--", lw=0.8, label="truth")
    ax.axvline(float(problem.prior_mean[parameter]), color="k", ls=":", lw=0.8, label="BFGS start")
    ax.legend(frameon=False, fontsize="small", ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.3))
    ax.set_title("(b) loss and gradient landscape", fontsize="medium")
    _save(figure, png, pdf)


def optimisation_curves(aggregate: xr.Dataset, n: int, png: str, pdf: str):
    """Panel (c): L/n along each method's optimisation (unrefined), geometric mean and spread over seeds."""
    _style()
    figure, ax = plt.subplots(figsize=RESULT_FIGSIZE)
    for method in _reference_last(aggregate["solver"].values):
        curves = aggregate["curve"].sel({"solver": method, "n": n}).values  # seed x iteration
        # The monitored iterations: NaN pads shorter runs, and lies between the steps of a
        # curve monitored every k-th step (training.monitor_every).
        steps = np.flatnonzero(np.any(np.isfinite(curves), axis=0))
        curves = curves[:, steps]
        mean, low, high = geometric_spread(curves, axis=0)
        color = _color(method)
        ax.plot(steps + 1, mean, color=color, lw=1.2 if method == REFERENCE else 1.0,
                label=METHOD_LABELS.get(method, method), zorder=_zorder(method))
        ax.fill_between(steps + 1, low, high, color=color, alpha=0.2, lw=0, zorder=_zorder(method) - 1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_log_ticks(ax.yaxis)
    ax.set_xlabel("iteration + 1")
    ax.set_ylabel("$L/n$")
    ax.set_title(f"(c) optimisation, n = {n}", fontsize="medium")
    _method_legend(ax)
    sns.despine(figure)
    _save(figure, png, pdf)


def _refined_losses(aggregate: xr.Dataset, methods: list[str]) -> np.ndarray:
    """Refined per-problem losses, method x n x seed x example (NaN where a run has fewer)."""
    losses = aggregate["loss_refined"].sel({"solver": methods}).transpose("solver", "n", "seed", ...).values
    return np.where(np.isfinite(losses), losses, np.nan)


def solved_threshold(losses: np.ndarray, floor: float = LOSS_FLOOR) -> float:
    """The loss below which a problem counts as solved to round-off: ``floor`` times the
    largest upper quartile of any (method, n) (losses: method x n x seed x example)."""
    flat = losses.reshape(losses.shape[0], losses.shape[1], -1)
    upper = np.nanpercentile(flat, 75, axis=-1)
    top = np.nanmax(upper) if np.any(np.isfinite(upper)) else 1.0
    return floor * top if top > 0 else floor


def loss_panel_kind(aggregate: xr.Dataset) -> str:
    """What panel (d) draws: "solved" (the share of problems solved to round-off) where at least
    ``MIXED_SHARE`` of the refined losses are solved and as many are not, as on billiards and KS,
    whose medians jump between 1e-20 and 1e2; else "quartiles" of the loss."""
    losses = _refined_losses(aggregate, [str(m) for m in aggregate["solver"].values])
    return _panel_kind(losses, solved_threshold(losses))


def _panel_kind(losses: np.ndarray, threshold: float) -> str:
    finite = losses[np.isfinite(losses)]
    if finite.size == 0:
        return "quartiles"
    solved = float(np.mean(finite <= threshold))
    return "solved" if MIXED_SHARE <= solved <= 1 - MIXED_SHARE else "quartiles"


def refined_loss_by_n(aggregate: xr.Dataset, png: str, pdf: str):
    """Panel (d), BFGS on top: where solved and missed problems mix (``loss_panel_kind``), the
    share of problems solved to round-off against n, bars the range over seeds; else each
    problem's refined loss, median and quartiles over every problem of every seed, floored at
    the solved threshold."""
    _style()
    figure, ax = plt.subplots(figsize=RESULT_FIGSIZE)
    ns = aggregate["n"].values
    methods = _reference_last(aggregate["solver"].values)
    losses = _refined_losses(aggregate, methods)  # method x n x seed x example
    threshold = solved_threshold(losses)
    kind = _panel_kind(losses, threshold)
    offsets = 2.0 ** np.linspace(-0.12, 0.12, len(methods)) if len(methods) > 1 else [1.0]
    if kind == "solved":
        with np.errstate(invalid="ignore"):
            per_seed = 100 * np.nanmean(np.where(np.isnan(losses), np.nan, losses <= threshold), axis=-1)
        counts = np.sum(np.isfinite(losses), axis=(-2, -1))
        centre = 100 * np.nansum(losses <= threshold, axis=(-2, -1)) / np.maximum(counts, 1)
        low, high = np.nanmin(per_seed, axis=-1), np.nanmax(per_seed, axis=-1)
    else:
        flat = losses.reshape(len(methods), len(ns), -1)
        low, centre, high = (np.maximum(q, threshold) for q in np.nanpercentile(flat, [25, 50, 75], axis=-1))
    for index, (method, offset) in enumerate(zip(methods, offsets)):
        ax.errorbar(ns * offset, centre[index],
                    yerr=(np.clip(centre[index] - low[index], 0, None), np.clip(high[index] - centre[index], 0, None)),
                    color=_color(method), marker="o", ms=3, lw=1.2 if method == REFERENCE else 1.0, capsize=2,
                    elinewidth=0.8, label=METHOD_LABELS.get(method, method), zorder=_zorder(method))
    ax.set_xscale("log", base=2)
    if kind == "solved":
        ax.set_ylim(-3, 103)
        mantissa, exponent = f"{threshold:.0e}".split("e")
        ax.set_ylabel(f"solved, $L < {mantissa}\\times10^{{{int(exponent)}}}$ (%)")
    else:
        ax.set_yscale("log")
        if np.nanmin(low) <= threshold:  # some quartile is floored: show where
            ax.axhline(threshold, color="#999999", ls=":", lw=0.8, zorder=1)
            ax.set_ylim(threshold / 3, None)
        _plain_log_ticks(ax.yaxis)
        ax.set_ylabel("refined $L$ per problem")
    ax.set_xlabel("number of problems $n$")
    ax.set_title("(d) solved after refinement" if kind == "solved" else "(d) refined loss by n", fontsize="medium")
    _method_legend(ax)
    sns.despine(figure)
    _save(figure, png, pdf)
