"""The figures across runs: a sensitivity study's fractions against the studied value, and the
observation-amount axis's quality against the amount observed, in the style of the experiments'
panels (``lio.report.figures``), at the report's text width."""

from __future__ import annotations

import matplotlib
import matplotlib.lines

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from lio.run.observations import judged_stage  # noqa: E402
from lio.report.figures import (  # noqa: E402
    METHOD_LABELS,
    RESULT_FIGSIZE,
    TEXT_WIDTH,
    _color,
    _plain_log_ticks,
    _save,
    _style,
)


def study(frame, reference: dict[str, dict[str, float]] | None, png: str, pdf: str):
    """A sensitivity study (``lio.run.studies.table``): Table 2's refined better and equal fractions
    of each learned method against the studied value, with their bootstrap intervals; the paper's
    value as a dashed line of the method's colour, the record's value marked on the axis."""
    _style()
    refined = frame[(frame["stage"] == "refined") & (frame["method"] != "bfgs")]
    head = frame.iloc[0]
    labels = (
        frame.drop_duplicates("value_index").sort_values("value_index")[["value", "is_record"]]
    )
    positions = np.arange(len(labels))
    figure, axes = plt.subplots(1, 2, figsize=(TEXT_WIDTH, RESULT_FIGSIZE[1]), sharey=True)
    methods = list(dict.fromkeys(refined["method"]))
    offsets = np.linspace(-0.08, 0.08, len(methods)) if len(methods) > 1 else [0.0]
    for ax, name, title in zip(axes, ("better", "equal"), ("better than BFGS", "equal to BFGS")):
        for method, offset in zip(methods, offsets):
            rows = refined[refined["method"] == method].sort_values("value_index")
            centre = 100 * rows[name].to_numpy()
            low, high = 100 * rows[f"{name}_low"].to_numpy(), 100 * rows[f"{name}_high"].to_numpy()
            color = _color(method)
            ax.errorbar(rows["value_index"].to_numpy() + offset, centre, yerr=(centre - low, high - centre),
                        color=color, marker="o", ms=3, lw=1.0, capsize=2,
                        label=METHOD_LABELS.get(method, method))
            paper = (reference or {}).get(method, {}).get(name)
            if paper is not None:
                ax.axhline(paper, color=color, ls="--", lw=0.8)
        ax.set_xticks(positions)
        ax.set_xticklabels([f"{v}\n(record)" if r else str(v) for v, r in labels.itertuples(index=False)],
                           fontsize="small")
        ax.set_xlabel(head["setting"])
        ax.set_title(f"refined, {title} (%)", fontsize="medium")
        ax.set_ylim(-2, 102)
    axes[0].set_ylabel("% of problems (95% CI)")
    figure.suptitle(f"{head['experiment']}: sensitivity to {head['setting']}", fontsize="medium")
    handles, names = axes[0].get_legend_handles_labels()
    handles.append(matplotlib.lines.Line2D([], [], color="#444444", ls="--", lw=0.8))
    names.append("paper (Table 2)")
    figure.legend(handles, names, loc="lower center", ncol=min(len(names), 4), frameon=False, fontsize="small")
    sns.despine(figure)
    _save(figure, png, pdf, rect=(0, 0.08 + 0.06 * (len(names) > 4), 1, 1))


OBSERVATION_PANELS = {  # column of lio.run.observations.table -> (title, log axis); all refined
    "better": ("better than BFGS (%)", False),
    "loss": ("loss L (mean)", True),
    "psnr": ("PSNR (dB)", False),
    "ssim": ("SSIM", False),
    "relative_error": ("relative error", False),
    "error": ("median error (box widths)", True),
}


def _amount_order(frame) -> list[str]:
    """The amounts from most to least observed, so that the x axis reads 'decreasing observations'."""
    amounts = frame.drop_duplicates("amount_index")[["amount", "amount_index"]]
    ordered = sorted(amounts.itertuples(index=False), key=lambda row: float(row.amount),
                     reverse=bool(frame["increases_observations"].iloc[0]))
    return [row.amount for row in ordered]


def _observation_axes(ax, frame, column: str, log: bool, legend_methods: list[str], stage: str = "refined") -> None:
    refined = frame[frame["stage"] == stage]
    order = _amount_order(frame)
    position = {amount: i for i, amount in enumerate(order)}
    methods = [m for m in dict.fromkeys(refined["method"]) if not (column == "better" and m == "bfgs")]
    offsets = np.linspace(-0.08, 0.08, len(methods)) if len(methods) > 1 else [0.0]
    scale = 100.0 if column == "better" else 1.0
    centre_name, low_name, high_name = (
        (column, f"{column}_low", f"{column}_high") if column == "better"
        else (column, column, column) if column == "error"  # a median per run set: no interval
        else (f"{column}_mean", f"{column}_low", f"{column}_high")
    )
    for method, offset in zip(methods, offsets):
        rows = refined[refined["method"] == method]
        x = np.array([position[a] for a in rows["amount"]], float) + offset
        sort = np.argsort(x)
        centre = scale * rows[centre_name].to_numpy()[sort]
        low, high = scale * rows[low_name].to_numpy()[sort], scale * rows[high_name].to_numpy()[sort]
        ax.errorbar(x[sort], centre, yerr=(np.clip(centre - low, 0, None), np.clip(high - centre, 0, None)),
                    color=_color(method), marker="o", ms=3, lw=1.0, capsize=2,
                    label=METHOD_LABELS.get(method, method))
        if method not in legend_methods:
            legend_methods.append(method)
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels(order, fontsize="small")
    if log:
        ax.set_yscale("log")
        _plain_log_ticks(ax.yaxis)
    if column == "better":
        ax.set_ylim(-2, 102)


def observations(frame, png: str, pdf: str):
    """One experiment's observation-amount axis (``lio.run.observations.table``): per method, the
    refined better-than-BFGS share, the mean loss and (image problems) PSNR, SSIM and relative
    error against the amount, most observed on the left, with 95% bootstrap intervals; without
    PSNR, the median error to the truth in box widths (comparable across amounts, unlike the
    loss)."""
    _style()
    stage = judged_stage(frame)  # an image problem: the own estimates (the refined ones tie)
    columns = ["better"] if stage == "refined" else []
    columns += [q for q in ("loss", "psnr", "ssim", "relative_error") if f"{q}_mean" in frame]
    if "psnr_mean" not in frame and "error" in frame:
        columns.append("error")
    rows = -(-len(columns) // 3)  # at most three panels to a row, so that they print legibly
    figure, axes = plt.subplots(rows, min(len(columns), 3), figsize=(TEXT_WIDTH, 2.3 * rows + 0.5), squeeze=False)
    for ax in axes.ravel()[len(columns):]:
        ax.set_axis_off()
    axes = axes.ravel()
    head = frame.iloc[0]
    legend_methods: list[str] = []
    for ax, column in zip(axes, columns):
        title, log = OBSERVATION_PANELS[column]
        _observation_axes(ax, frame, column, log, legend_methods, stage)
        ax.set_title(title, fontsize="small")
        ax.set_xlabel(f"{head['parameter']}", fontsize="small")
    words = "refined" if stage == "refined" else "own-estimate"
    figure.suptitle(f"{head['experiment']}: {words} quality against {head['label']} (95% CI)", fontsize="medium")
    handles = [matplotlib.lines.Line2D([], [], color=_color(m), marker="o", ms=3) for m in legend_methods]
    figure.legend(handles, [METHOD_LABELS.get(m, m) for m in legend_methods], loc="lower center",
                  ncol=min(len(handles), 4), frameon=False, fontsize="small")
    sns.despine(figure)
    _save(figure, png, pdf, rect=(0, 0.12 / rows + 0.04 * (len(handles) > 4), 1, 1))


def observations_summary(frames: list, png: str, pdf: str):
    """Every experiment's axis in one figure: its main quality (own-estimate PSNR where it has one, else the
    refined better-than-BFGS share: losses of different amounts sum different numbers of
    residuals) against the amount, per method, most observed on the left."""
    _style()
    figure, axes = plt.subplots(1, len(frames), figsize=(TEXT_WIDTH, RESULT_FIGSIZE[1]), squeeze=False)
    legend_methods: list[str] = []
    for ax, frame in zip(axes[0], frames):
        column = "psnr" if "psnr_mean" in frame else "better"
        title, log = OBSERVATION_PANELS[column]
        _observation_axes(ax, frame, column, log, legend_methods, judged_stage(frame))
        head = frame.iloc[0]
        ax.set_title(f"{head['experiment']}: {title}", fontsize="small")
        ax.set_xlabel(f"{head['label']}", fontsize="small")
    handles = [matplotlib.lines.Line2D([], [], color=_color(m), marker="o", ms=3) for m in legend_methods]
    figure.legend(handles, [METHOD_LABELS.get(m, m) for m in legend_methods], loc="lower center",
                  ncol=min(len(handles), 4), frameon=False, fontsize="small")
    figure.suptitle("Quality against the amount observed (images: own estimates; else refined), most observed "
                    "on the left (95% CI)", fontsize="medium")
    sns.despine(figure)
    _save(figure, png, pdf, rect=(0, 0.1 + 0.06 * (len(handles) > 4), 1, 1))
