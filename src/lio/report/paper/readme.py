"""The README's results: ours vs the paper per experiment, hardware, time, and the panels."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from lio.core.atomic import write_atomically
from lio.report.paper.files import PANELS, Layout, write_text
from lio.report.paper.macros import provenance
from lio.report.paper.reference import load_reference, title
from lio.report.paper.tex import method_label, percent

README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def readme_block(
    table: pd.DataFrame,
    aggregates: dict[str, xr.Dataset],
    jobs: pd.DataFrame | None,
    reference: dict[str, Any],
    figures: dict[str, list[str]],
) -> str:
    """The README's results: ours vs the paper per experiment, hardware, time, and the panels."""
    methods = list(dict.fromkeys(table["method"]))
    found = provenance(aggregates)
    commits = ", ".join(
        f"`{sha[: -len('-dirty')]}` (**uncommitted tree**)" if sha.endswith("-dirty") else f"`{sha}`"
        for sha in found["git_sha"]
    )
    lines = [
        README_START,
        "<!-- Generated from the committed record in paper/data (lio.report.paper.readme_block, rule",
        "     readme_results) and copied here by `python -m lio.report.paper.record`; edits here are overwritten. -->",
        "Refined fraction of problems where each learned method is better / equal than BFGS, in %,",
        "mean over seeds and all n (ours, from `paper/data/table2.csv`) next to the paper's Table 2.",
        f"Runs: lio {', '.join(found['lio_version'])}, commits {commits}.",
        "",
        "| experiment | "
        + " | ".join(method_label(m).lower() for m in methods)
        + " | hardware | solve time |",
        "|---|" + "---|" * (len(methods) + 2),
    ]
    in_process = False
    for experiment, dataset in aggregates.items():
        cells = []
        for method in methods:
            row = table[
                (table["experiment"] == experiment)
                & (table["method"] == method)
                & (table["stage"] == "refined")
            ]
            ours = f"{percent(row.iloc[0].better)} / {percent(row.iloc[0].equal)}" if len(row) else "–"
            paper = reference.get(experiment, {}).get("table2", {}).get(method)
            cells.append(
                ours + (f" (paper {paper['better']:.1f} / {paper['equal']:.1f})" if paper else "")
            )
        devices = sorted({str(d) for d in np.unique(dataset["device"].values) if str(d)})
        if jobs is not None and (jobs["experiment"] == experiment).any():
            selected = jobs[jobs["experiment"] == experiment]
            time = f"{_duration(selected['job_s'].sum())} in {len(selected)} jobs"
        else:
            seconds = float(
                dataset["wall_time_unrefined_s"].sum()
                + dataset["wall_time_refine_s"].where(dataset["solver"] != "bfgs").sum()
            )
            time = f"{_duration(seconds)} in-process"
            in_process = True
        name = re.sub(r"\\|\{|\}", "", title(experiment, reference)).replace("--", "–")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {', '.join(devices)} | {time} |")
    lines += [
        "",
        "Solve time: the solve jobs' wall times added up (Snakemake `benchmark:` files), not the",
        "elapsed time of the sweep, whose jobs ran side by side"
        + (
            "; in-process: the methods' own measured time, for a record without job times."
            if in_process
            else "."
        ),
        "",
        "| experiment | (a) example | (b) landscape | (c) optimisation | (d) refined L/n vs n |",
        "|---|---|---|---|---|",
    ]
    for experiment in aggregates:
        images = [f'<img src="{path}" width="200">' for path in figures[experiment]]
        lines.append(f"| `{experiment}` | " + " | ".join(images) + " |")
    lines.append(README_END)
    return "\n".join(lines) + "\n"


def spliced(text: str, block: str, name: str = "README.md") -> str:
    """``text`` with its region between the results markers replaced by ``block``."""
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise ValueError(
            f"{name} has no '{README_START}' ... '{README_END}' region; add both markers "
            "where the results table belongs."
        )
    return text[:start] + block.rstrip("\n") + text[end + len(README_END) :]


def splice_readme(readme: str | Path, block: str) -> bool:
    """Replace the README's text between the results markers with ``block``, atomically.
    Returns whether the README changed."""
    text = Path(readme).read_text()
    new = spliced(text, block, str(readme))
    if new != text:
        write_atomically(readme, new)
    return new != text


def write_readme(
    layout: Layout,
    table_path: str,
    aggregate_paths: Sequence[str],
    benchmarks_path: str | None,
    reference_path: str,
    out: str,
) -> None:
    """The README's results block from the record, written to ``out`` (``paper/generated``);
    ``python -m lio.report.paper.record`` copies it into README.md."""
    from lio.analysis.results import open_dataset

    aggregates = {e: open_dataset(p) for e, p in zip(layout.experiments, aggregate_paths)}
    table = pd.read_csv(table_path)
    table = table[table["method"] != "bfgs"]  # BFGS's rows carry only its training health
    jobs = pd.read_csv(benchmarks_path) if benchmarks_path else None
    figures = {e: [f"paper/figures/{e}/{p}.png" for p in PANELS] for e in layout.experiments}
    block = readme_block(table, aggregates, jobs, load_reference(reference_path), figures)
    write_text(out, block)
