"""Provenance as a table: which commit, device and date made each part of the record.

One row per experiment and method (from the aggregates' per-run ``git_sha`` and ``device``), then
one per study table and observation axis (their runs' commits) and per basins check. The date is the commit's, read from
the repository's history; a commit the history lacks (or a tree with uncommitted changes) shows
``--``, and an ``-dirty`` SHA is marked as such, since its runs cannot be reproduced exactly.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from lio.report.paper.tex import latex_escape, macro, method_label


def commit_date(sha: str) -> str:
    """The commit's date (YYYY-MM-DD) from git, or ``--`` when the history lacks it."""
    try:
        out = subprocess.run(["git", "show", "-s", "--format=%cs", sha.removesuffix("-dirty")],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "--"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "--"


def _short(shas: Sequence[str]) -> str:
    return ", ".join(f"\\texttt{{{s[:7]}}}" + (" (uncommitted tree)" if s.endswith("-dirty") else "") for s in shas)


def _dates(shas: Sequence[str]) -> str:
    return ", ".join(sorted({commit_date(s) for s in shas}))


def rows(
    aggregates: dict[str, xr.Dataset], basins: dict[str, dict[str, Any]], studies: dict[str, pd.DataFrame],
    axes: dict[str, pd.DataFrame] | None = None,
) -> list[tuple[str, str, str, str, str]]:
    """(what, method, commits, devices, dates) for every part of the record; ``axes``: the
    observation axes' tables by experiment (their runs' commits)."""
    found = []
    for experiment, dataset in aggregates.items():
        for solver in dataset["solver"].values:
            runs = dataset.sel(solver=solver)
            shas = sorted({str(v) for v in np.unique(runs["git_sha"].values) if str(v)})
            devices = sorted({str(v) for v in np.unique(runs["device"].values) if str(v)})
            found.append((f"{macro(experiment, 'Title')}{{}}", method_label(str(solver)), _short(shas),
                          latex_escape("; ".join(devices)) or "--", _dates(shas)))
    for name, frame in studies.items():
        shas = sorted({s for value in frame.get("git_sha", pd.Series(dtype=str)).dropna() for s in str(value).split()})
        found.append((f"study {latex_escape(name)}".replace("\\_", "\\_\\allowbreak{}"), "all", _short(shas), "--", _dates(shas)))
    for experiment, frame in (axes or {}).items():
        shas = sorted({s for value in frame.get("git_sha", pd.Series(dtype=str)).dropna() for s in str(value).split()})
        found.append((f"observation axis, {macro(experiment, 'Title')}{{}}", "all", _short(shas), "--", _dates(shas)))
    for experiment, record in basins.items():
        sha = str(record.get("git_sha", ""))
        found.append((f"basins, {macro(experiment, 'Title')}{{}}", "BFGS starts", _short([sha] if sha else []),
                      latex_escape(str(record.get("device", "--"))), _dates([sha] if sha else [])))
    return found


def tabular(found: Sequence[tuple[str, str, str, str, str]]) -> str:
    lines = [r"\begin{longtable}{p{3.7cm}p{2.5cm}p{3.0cm}p{2.8cm}l}", r"\toprule",
             r"part of the record & method & commit(s) & device & commit date \\", r"\midrule", r"\endhead"]
    lines += [" & ".join(row) + r" \\" for row in found]
    lines += [r"\bottomrule", r"\end{longtable}", ""]
    return "\n".join(lines)
