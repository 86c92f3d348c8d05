"""Redraw the record's figures (paper/figures) from the record's data (paper/data) with the current
figure code, without solving anything.

A record is made at one commit and takes hours; the figure code changes more often. This draws
every published figure again from what the record holds: panels (c) and (d) and an image
problem's gallery from ``paper/data/<experiment>_aggregate.nc``, panels (a) and (b) from the
problem set the workflow's figure rule draws (largest n, first seed), sampled again from its seed
(the same numbers: sampling is deterministic), and the study and observation-axis figures from
their published tables.

    python -m lio.report.redraw                       # every recorded experiment
    python -m lio.report.redraw --experiments billiards --panels c d

Then ``snakemake --cores 1 --config paper_source=record`` rebuilds the report from the record.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from lio.run.config import load_config

PANELS = ("a", "b", "c", "d")


def figure_options(block: dict[str, Any]) -> dict[str, Any]:
    """The figure rule's options for an experiment: its ``figures`` block over the defaults."""
    defaults = {
        "example": 0,
        "curves_n": max(block["ns"]),
        "landscape_points": 1001,
        "landscape_parameter": 0,
    }
    return {**defaults, **block.get("figures", {})}


def experiment_panels(
    config: dict[str, Any], experiment: str, panels: list[str], data: Path, out: Path
) -> None:
    """Draw ``panels`` of one experiment's figure into ``out/<experiment>/`` from the record."""
    from lio.report.panels import figure_panel
    from lio.run.experiment import sample_data

    block = config["experiments"][experiment]
    aggregate = data / f"{experiment}_aggregate.nc"
    if not aggregate.exists():
        raise SystemExit(
            f"redraw: {aggregate} is missing; the record holds "
            f"{sorted(p.name for p in data.glob('*_aggregate.nc'))}. Publish the experiment first."
        )
    options = figure_options(block)
    (out / experiment).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        problems = Path(scratch) / "problems.nc"
        if any(panel in ("a", "b") for panel in panels):
            sample_data(config, experiment, max(block["ns"]), block["seeds"][0], str(problems))
        for panel in panels:
            source = problems if panel in ("a", "b") else aggregate
            figure_panel(
                config,
                experiment,
                panel,
                options,
                str(source),
                str(out / experiment / f"{panel}.png"),
                str(out / experiment / f"{panel}.pdf"),
                aggregate_path=str(aggregate),
            )
            print(f"redraw: {experiment} panel {panel}", flush=True)


def run_tables(
    config: dict[str, Any],
    experiments: list[str],
    data: Path,
    out: Path,
    reference: Path,
) -> None:
    """The study and observation-axis figures of ``experiments`` from their published tables."""
    from lio.report import run_figures
    from lio.run import studies

    table2 = yaml.safe_load(reference.read_text())["experiments"]
    for name, study in studies.studies_in(config).items():
        table = data / "studies" / f"{name}.csv"
        if study.experiment in experiments and table.exists():
            (out / "studies").mkdir(parents=True, exist_ok=True)
            run_figures.study(
                pd.read_csv(table, dtype={"value": str}),
                table2.get(study.experiment, {}).get("table2"),
                str(out / "studies" / f"{name}.png"),
                str(out / "studies" / f"{name}.pdf"),
            )
            print(f"redraw: study {name}", flush=True)
    for experiment in experiments:
        table = data / "observations" / f"{experiment}.csv"
        if table.exists():
            (out / "observations").mkdir(parents=True, exist_ok=True)
            stem = out / "observations" / table.stem
            run_figures.observations(pd.read_csv(table, dtype={"amount": str}), f"{stem}.png", f"{stem}.pdf")
            print(f"redraw: observation axis {table.stem}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lio.report.redraw", description=__doc__.split("\n\n")[0])
    parser.add_argument("--configfile", nargs="*", default=[], help="merged over config/config.yaml")
    parser.add_argument(
        "--experiments",
        nargs="*",
        default=None,
        help="default: every recorded experiment",
    )
    parser.add_argument("--panels", nargs="*", default=list(PANELS), choices=PANELS)
    parser.add_argument("--data", default="paper/data")
    parser.add_argument("--out", default="paper/figures")
    parser.add_argument("--reference", default="paper/reference.yaml")
    args = parser.parse_args(argv)
    config = load_config(args.configfile)
    data, out = Path(args.data), Path(args.out)
    recorded = sorted(p.name.removesuffix("_aggregate.nc") for p in data.glob("*_aggregate.nc"))
    experiments = (
        args.experiments
        if args.experiments is not None
        else [e for e in recorded if e in config["experiments"]]
    )
    unknown = [e for e in experiments if e not in config.get("experiments", {})]
    if unknown:
        raise SystemExit(
            f"redraw: experiments {unknown} are not in the config; expected some of "
            f"{sorted(config.get('experiments', {}))}."
        )
    for experiment in experiments:
        experiment_panels(config, experiment, args.panels, data, out)
    run_tables(config, experiments, data, out, Path(args.reference))


if __name__ == "__main__":
    main(sys.argv[1:])
