"""Blocks written from the committed record (``paper/data``) and the config beside it.

Every function takes the repository's root and returns Markdown; none of them trains or
simulates anything, so regenerating them takes seconds.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from lio.report.paper.reference import load_reference
from lio.report.paper.tex import method_label

RECORD = Path("paper/data")


def _config(root: Path) -> dict[str, Any]:
    return yaml.safe_load((root / "config/config.yaml").read_text())


def _title(experiment: str, reference: dict[str, Any]) -> str:
    return reference.get(experiment, {}).get("title", experiment).replace("--", "–")


def _pct(value: float) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{100 * value:.1f}"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {rest} s"


def _refined(root: Path) -> pd.DataFrame:
    table = pd.read_csv(root / RECORD / "table2.csv")
    return table[(table["stage"] == "refined") & (table["method"] != "bfgs")]


def _basins(root: Path) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((root / RECORD / "basins").glob("*.json"))}


def results(root: Path) -> str:
    """The README's results table and panels (``lio.report.paper.readme_block``), from the record."""
    from lio.report.paper.files import layout
    from lio.report.paper.readme import README_END, README_START, readme_block
    from lio.analysis.results import open_dataset

    config = _config(root)
    with contextlib.chdir(root), contextlib.redirect_stdout(io.StringIO()):
        record = layout({**config, "paper_source": "record"})
        aggregates = {e: open_dataset(p) for e, p in zip(record.experiments, record.aggregates)}
        table = pd.read_csv(record.table)
        jobs = pd.read_csv(record.benchmarks[0]) if record.benchmarks else None
        reference = load_reference("paper/reference.yaml")
    figures = {e: [f"paper/figures/{e}/{p}.png" for p in "abcd"] for e in record.experiments}
    block = readme_block(table[table["method"] != "bfgs"], aggregates, jobs, reference, figures)
    return block.replace(README_START, "").replace(README_END, "")


def verdict(root: Path) -> str:
    """Where each refined better-than-BFGS fraction the paper publishes falls against our
    bootstrap interval, with the share of problems on which BFGS is stuck (the bound on
    "better")."""
    reference = load_reference(root / "paper/reference.yaml")
    confidence = _config(root)["comparison"]["confidence"]
    refined, basins = _refined(root), _basins(root)
    rows, counts = [], {"inside": 0, "below": 0, "above": 0}
    for experiment, block in reference.items():
        for method, paper in block.get("table2", {}).items():
            ours = refined[(refined["experiment"] == experiment) & (refined["method"] == method)]
            if ours.empty:
                continue
            row = ours.iloc[0]
            low, high = 100 * row.better_low, 100 * row.better_high
            where = "below" if paper["better"] < low else "above" if paper["better"] > high else "inside"
            counts[where] += 1
            stuck = basins.get(experiment, {}).get("stuck")
            rows.append(
                f"| {_title(experiment, reference)} | {method_label(method).lower()} "
                f"| {paper['better']:.1f} / {paper['equal']:.1f} "
                f"| {_pct(row.better)} [{low:.1f}, {high:.1f}] / {_pct(row.equal)} "
                f"| {where} | {'–' if stuck is None else f'{100 * stuck:.0f}'} |"
            )
    total = sum(counts.values())
    lines = [
        f"Of the {total} refined better-than-BFGS fractions the paper publishes (its Table 2), "
        f"{counts['inside']} {'lies' if counts['inside'] == 1 else 'lie'} inside our "
        f"{100 * confidence:.0f} % bootstrap interval, {counts['above']} above it (the paper "
        f"found the learned method better more often than we do) and {counts['below']} below it.",
        "",
        "| experiment | method | paper: better / equal % | ours: better [CI] / equal % "
        "| paper's better vs our CI | BFGS stuck % |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "Ours: the record (`paper/data/table2.csv`), mean over all n and seeds. *BFGS stuck*: the "
        "share of calibration problems on which BFGS from the prior mean stops above an optimum "
        "another start reaches (`paper/data/basins/`); a refined method can be better than BFGS "
        "on at most about that share ([diagnostics](docs/diagnostics.md#is-bfgs-stuck)).",
    ]
    return "\n".join(lines)


def _runs(path: Path) -> dict[str, tuple[list[int], list[int]]]:
    """Per solver of an aggregate: the n and the seeds that have at least one run."""
    from lio.analysis.results import open_dataset

    dataset = open_dataset(path)
    ran = np.isfinite(dataset["wall_time_unrefined_s"])  # one per run: solver x n x seed
    found = {}
    for solver in dataset["solver"].values:
        cells = ran.sel(solver=solver)
        ns = [int(n) for n in dataset["n"].values if bool(cells.sel(n=n).any())]
        seeds = [int(s) for s in dataset["seed"].values if bool(cells.sel(seed=s).any())]
        if ns:
            found[str(solver)] = (ns, seeds)
    return found


def _span(values: list[int]) -> str:
    return ", ".join(str(v) for v in values) if len(values) <= 4 else f"{values[0]} … {values[-1]} ({len(values)})"


def recorded(root: Path) -> str:
    """Per experiment of ``config/config.yaml``: which methods, sizes and seeds the record holds
    and which are only configured (run them yourself), and the checks and studies recorded."""
    config = _config(root)
    reference = load_reference(root / "paper/reference.yaml")
    lines = [
        "| experiment | recorded methods (n; seeds) | configured, not recorded | basins, axis, studies recorded |",
        "|---|---|---|---|",
    ]
    for experiment, block in config["experiments"].items():
        path = root / RECORD / f"{experiment}_aggregate.nc"
        runs = _runs(path) if path.exists() else {}
        configured = list(block["methods"])
        groups: dict[tuple[str, str], list[str]] = {}
        for method, (ns, seeds) in runs.items():
            groups.setdefault((_span(ns), _span(seeds)), []).append(method.replace("_", " "))
        held = "; ".join(f"{', '.join(m)} (n {n}; seeds {s})" for (n, s), m in groups.items()) or "–"
        missing = [m.replace("_", " ") for m in configured if m not in runs]
        configured_ns = [int(n) for n in block["ns"]]
        short = {m for m, (ns, seeds) in runs.items()
                 if set(configured_ns) - set(ns) or set(block["seeds"]) - set(seeds)}
        missing += [f"{m.replace('_', ' ')} at the config's other n or seeds" for m in sorted(short) if m in configured]
        checks = []
        if (root / RECORD / "basins" / f"{experiment}.json").exists():
            checks.append("basins")
        if (root / RECORD / "observations" / f"{experiment}.csv").exists():
            checks.append("observation axis")
        studies = [s["name"] for s in config.get("studies") or [] if s.get("experiment") == experiment]
        recorded_studies = [s for s in studies if (root / RECORD / "studies" / f"{s}.csv").exists()]
        if studies:
            checks.append(f"studies: {len(recorded_studies)} of {len(studies)}")
        lines.append(
            f"| {_title(experiment, reference)} (`{experiment}`) | {held} "
            f"| {', '.join(missing) or '–'} | {', '.join(checks) or '–'} |"
        )
    lines += [
        "",
        "Recorded: runs in `paper/data/<experiment>_aggregate.nc`, which the README, the report "
        "and the tables read. Configured: what `snakemake --cores all` runs from "
        "`config/config.yaml`; an experiment or method without a record has no number anywhere "
        "in these pages until someone runs and publishes it ([the record](docs/record.md)).",
    ]
    return "\n".join(lines)


def costs(root: Path, form: str = "table") -> str:
    """The record's summed solve-job time per experiment, with the hardware it ran on: a table,
    or (``form`` ``summary``) one sentence."""
    from lio.analysis.results import open_dataset

    reference = load_reference(root / "paper/reference.yaml")
    jobs = pd.read_csv(root / RECORD / "benchmarks.csv")
    rows = []
    for experiment, selected in jobs.groupby("experiment", sort=False):
        path = root / RECORD / f"{experiment}_aggregate.nc"
        devices = sorted({str(d) for d in np.unique(open_dataset(path)["device"].values) if str(d)})
        rows.append((_title(experiment, reference), len(selected), _duration(selected["job_s"].sum()),
                     ", ".join(devices)))
    total = _duration(jobs["job_s"].sum())
    if form == "summary":
        parts = "; ".join(f"{name} {time} on {devices}" for name, _, time, devices in rows)
        return (
            f"The record's {len(jobs)} solve jobs took {total} of job time, added up ({parts}; "
            "from `paper/data/benchmarks.csv`); jobs run side by side, one per core."
        )
    lines = ["| experiment | solve jobs | their time, added up | hardware |", "|---|---|---|---|"]
    lines += [f"| {name} | {count} | {time} | {devices} |" for name, count, time, devices in rows]
    lines.append(f"| all | {len(jobs)} | {total} | |")
    return "\n".join(lines)


def basins(root: Path) -> str:
    """The record's basins checks beside Table 2's refined reparameterized fraction."""
    reference = load_reference(root / "paper/reference.yaml")
    refined = _refined(root)
    lines = [
        "| experiment | problems (seed, n) | starts | BFGS stuck | in the truth's basin "
        "| BFGS iterations (median, max) | optima reached (median) | reparameterized better, ours / paper |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for experiment, check in _basins(root).items():
        sets = ", ".join(f"{s['seed']}, {s['n']}" for s in check["sets"])
        ours = refined[(refined["experiment"] == experiment) & (refined["method"] == "reparameterized")]
        paper = reference.get(experiment, {}).get("table2", {}).get("reparameterized")
        lines.append(
            f"| {_title(experiment, reference)} | {sets} | {check['starts']} | {_pct(check['stuck'])} % "
            f"| {_pct(check['in_basin'])} % | {check['iterations_median']:.0f}, {check['iterations_max']} "
            f"| {check['distinct_optima_median']:.0f} "
            f"| {_pct(ours.iloc[0].better) if len(ours) else '–'} / "
            f"{paper['better'] if paper else '–'} % |"
        )
    return "\n".join(lines)


def calibration(root: Path) -> str:
    """The learning rate (or the diffusion prior's guidance) each recorded calibration chose."""
    lines = ["| experiment | method | setting | ladder | chosen | on (seeds; n) |", "|---|---|---|---|---|---|"]
    for path in sorted((root / RECORD / "calibration").glob("*/*.json")):
        record = json.loads(path.read_text())
        setting = record.get("setting", "learning_rate")
        by_n = record.get("chosen_by_n") or {}
        chosen = (
            ", ".join(f"{float(v):g} (n = {k})" for k, v in by_n.items())
            if by_n else f"{float(record[f'chosen_{setting}']):g}"
        )
        ladder = ", ".join(f"{v:g}" for v in record["ladder"])
        lines.append(
            f"| `{path.parent.name}` | {path.stem.replace('_', ' ')} | {setting.replace('_', ' ')} "
            f"| {ladder} | {chosen} | {_span(record['seeds'])}; {_span(record['n'])} |"
        )
    return "\n".join(lines)


def table2(root: Path) -> str:
    """Every method's better / equal fractions against BFGS, refined and not, with intervals."""
    table = pd.read_csv(root / RECORD / "table2.csv")
    table = table[table["method"] != "bfgs"]
    reference = load_reference(root / "paper/reference.yaml")
    lines = [
        "| experiment | method | stage | better [CI] | equal [CI] | better, exact | same minimum | pinned | degenerate runs |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in table.itertuples():
        lines.append(
            f"| {_title(row.experiment, reference)} | {row.method.replace('_', ' ')} | {row.stage} "
            f"| {_pct(row.better)} [{_pct(row.better_low)}, {_pct(row.better_high)}] "
            f"| {_pct(row.equal)} [{_pct(row.equal_low)}, {_pct(row.equal_high)}] "
            f"| {_pct(row.better_exact)} | {_pct(row.same_minimum)} | {_pct(row.pinned)} "
            f"| {int(row.degenerate)}/{int(row.groups)} |"
        )
    return "\n".join(lines) + "\n\nIn %; from `paper/data/table2.csv`, mean over all (n, seed) groups."


def include(root: Path, path: str) -> str:
    """A generated Markdown file of the record, as it is (a study's or an axis's table)."""
    return (root / path).read_text()


def constants(root: Path, group: str) -> str:
    """Every constant of one experiment (or config section) that the paper leaves open and
    ``config/config.yaml`` chooses, with the reason its ``# ours:`` comment gives."""
    from lio.report.paper.constants import constants_table

    config = _config(root)
    with contextlib.chdir(root):
        table = constants_table(config, ["config/config.yaml"], list(config["experiments"]))
    table = table[table["group"] == group]
    if table.empty:
        raise ValueError(f"constants: config/config.yaml has no commented constant in group {group!r}")
    lines = ["| key | value | why (the config's comment) |", "|---|---|---|"]
    for row in table.itertuples():
        key = f"{row.parent}.{row.key}" if isinstance(row.parent, str) and row.parent else row.key
        why = str(row.why).replace("|", "\\|")
        lines.append(f"| `{key}` | `{row.value}` | {why} |")
    return "\n".join(lines)


def published(root: Path) -> str:
    """The paper's Table 2 as ``paper/reference.yaml`` holds it (refined, better / equal %)."""
    reference = load_reference(root / "paper/reference.yaml")
    methods = list(dict.fromkeys(m for block in reference.values() for m in block.get("table2", {})))
    lines = [
        "| experiment | " + " | ".join(method_label(m).lower() for m in methods) + " |",
        "|---|" + "---|" * len(methods),
    ]
    for experiment, block in reference.items():
        if "table2" not in block:
            continue
        cells = [
            f"{block['table2'][m]['better']:.1f} / {block['table2'][m]['equal']:.1f}" if m in block["table2"] else "–"
            for m in methods
        ]
        lines.append(f"| {_title(experiment, reference)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
