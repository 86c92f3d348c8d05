"""The record's comparison table (Table 2): better/equal fractions of every experiment against
BFGS, refined and unrefined, with the training health, as CSV, Markdown and LaTeX."""

from __future__ import annotations

from typing import Any

import pandas as pd

from lio.analysis import metrics, results
from lio.core.atomic import write_atomically
from lio.run.spec import problem_of


def comparison_table(config: dict[str, Any], aggregate_paths: dict[str, str]) -> pd.DataFrame:
    """Better/equal fractions (refined and unrefined) for every experiment, with the exact
    comparison and the training health of every method (``lio.analysis.metrics.fractions``)."""
    frames = []
    for experiment, path in aggregate_paths.items():
        dataset = results.open_dataset(path)
        for frame in metrics.stage_fractions(dataset, problem_of(config, experiment), config["comparison"]):
            frame.insert(0, "experiment", experiment)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def write_tables(
    config: dict[str, Any], aggregate_paths: dict[str, str], csv: str, markdown: str, latex: str
) -> None:
    table = comparison_table(config, aggregate_paths)
    write_atomically(csv, table.to_csv(index=False, float_format="%.6f"))
    write_atomically(markdown, metrics.markdown_table(table) + "\n" + metrics.health_markdown(table))
    write_atomically(
        latex,
        "% refined\n"
        + metrics.latex_table(table, "refined")
        + "% unrefined\n"
        + metrics.latex_table(table, "unrefined")
    )
