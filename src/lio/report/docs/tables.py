"""Blocks written from measured files: benchmark JSON, the health thresholds, the config.

``json_table`` turns any benchmark result into a Markdown table, so a page shows what a
benchmark wrote and nothing typed: ``<!-- json-table GLOB PATH COLUMNS:start -->`` reads every
file matching ``GLOB`` (relative to the repository), walks ``PATH`` (dot-separated keys, ``.``
for the top) to a list of records or a mapping of them, and writes the comma-separated
``COLUMNS`` (dotted keys into each record; ``@key`` the mapping's key, ``@file`` the file's
name; ``key=header`` names a column's header, whose underscores read as spaces).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml


def number(value: Any) -> str:
    """A measured value as a reader wants it: three significant digits, thousands plain."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        size = abs(value)
        return f"{value:.0f}" if 100 <= size < 1e5 else f"{value:.3g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(number(v) for v in value)
    return "–" if value is None else str(value)


def _walk(data: Any, path: str) -> Any:
    for key in [] if path == "." else path.split("."):
        data = data[key]
    return data


def _cell(record: Any, column: str, key: str, file: str) -> str:
    if column == "@key":
        return key
    if column == "@file":
        return f"`{file}`"
    try:
        value = _walk(record, column)
    except (KeyError, TypeError, IndexError):
        return "–"
    if column.endswith("git_sha") and isinstance(value, str):  # the commit, short, dirty or not
        return f"`{value[:10]}{'-dirty' if value.endswith('-dirty') else ''}`"
    return number(value)


def json_table(root: Path, pattern: str, path: str, columns: str) -> str:
    """Rows of every file matching ``pattern`` at ``path``, one column per name in ``columns``."""
    specs = [c.partition("=") for c in columns.split(",")]
    names = [name for name, _, _ in specs]
    header = [(label or name.lstrip("@").split(".")[-1]).replace("_", " ") for name, _, label in specs]
    files = sorted(root.glob(pattern))
    if not files:
        raise FileNotFoundError(f"json-table: no file matches {pattern!r} under {root}")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(names)]
    for file in files:
        data = _walk(json.loads(file.read_text()), path)
        if isinstance(data, dict) and all(isinstance(v, dict) for v in data.values()):
            records = list(data.items())
        elif isinstance(data, dict) and all(isinstance(v, list) for v in data.values()):
            records = [(key, item) for key, items in data.items() for item in items]
        elif isinstance(data, list):
            records = [("", item) for item in data]
        else:
            records = [("", data)]
        for key, record in records:
            lines.append("| " + " | ".join(_cell(record, c, key, file.name) for c in names) + " |")
    return "\n".join(lines)


def settings(root: Path) -> str:
    """How "equal", "degenerate", "pinned" and "stable" are decided: the config's comparison
    and calibration settings and the health module's thresholds, as the code reads them."""
    from lio.analysis import health

    config = yaml.safe_load((root / "config/config.yaml").read_text())
    comparison, calibration = config["comparison"], config["calibration"]
    rows = [
        ("equal to BFGS", f"\\|L − L_BFGS\\| ≤ atol + rtol · max(\\|L\\|, \\|L_BFGS\\|), "
         f"rtol = {comparison['rtol']:g}, atol = {comparison['atol']:g}", "`comparison` in the config"),
        ("better than BFGS", "strictly lower and not equal; a non-finite loss is worse", "`lio.analysis.metrics`"),
        ("exact better / equal", "the same with rtol = atol = 0", "`lio.analysis.metrics`"),
        ("same minimum", f"every parameter within {comparison['same_minimum']:g} of the box's width "
         "of BFGS's solution", "`comparison.same_minimum`"),
        ("interval", f"{100 * comparison['confidence']:g} % percentile bootstrap, "
         f"{comparison['bootstrap_resamples']} resamples of the examples within each (n, seed)",
         "`comparison`"),
        ("pinned", f"a parameter within {health.EDGE_MARGIN:g} of the box's half-width of its edge "
         f"where the truth's is not (images: more than {health.PINNED_PARAMETERS:g} of the pixels, each further than "
         f"{health.PINNED_PIXEL_ERROR:g} of the box from the truth)", "`lio.analysis.health`"),
        ("outside", f"a parameter beyond the box by more than {health.OUTSIDE_MARGIN:g} of its "
         "half-width", "`lio.analysis.health`"),
        ("degenerate run", f"more than {100 * health.DEGENERATE_PINNED:g} % pinned, or more than "
         f"{100 * health.DEGENERATE_OUTSIDE:g} % outside the box, or a spread below "
         f"{health.DEGENERATE_SPREAD:g}", "`lio.analysis.health.is_degenerate`"),
        ("stable (calibration)", f"no divergence, not degenerate, and L/n rising by at most "
         f"{100 * calibration['settle_tolerance']:g} % over the last "
         f"{100 * calibration['settle_window']:g} % of the steps", "`calibration` in the config"),
        ("calibration ladder", ", ".join(f"{v:g}" for v in calibration["learning_rates"])
         + f", largest first, on seeds {calibration['seeds']} at n = {calibration['n']}",
         "`calibration.learning_rates`"),
    ]
    lines = ["| term | definition | set in |", "|---|---|---|"]
    lines += [f"| {term} | {definition} | {where} |" for term, definition, where in rows]
    return "\n".join(lines)


def cost_estimate(root: Path, path: str) -> str:
    """The table ``python -m lio.run.cost`` last wrote to ``path``, and its one-line total."""
    from lio.run import cost

    file = root / path
    if not file.exists():
        return f"No estimate yet: `python -m lio.run.cost` writes `{path}`."
    result = json.loads(file.read_text())
    configs = (
        ", ".join(f"`{c}`" for c in result["configfiles"]) or "`config/config.yaml`"
    )
    ranked = "; ".join(
        f"{label} {cost.hours(seconds)}"
        for label, seconds in list(result.get("where_the_time_goes", {}).items())[:6]
    )
    return (
        f"{cost.markdown(result)}\n\n{cost.summary(result)} ({configs}, `python -m lio.run.cost`, `{path}`)"
        + (f"\n\nWhere the time goes: {ranked}." if ranked else "")
    )
