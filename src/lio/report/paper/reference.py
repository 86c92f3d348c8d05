"""The paper's published numbers (paper/reference.yaml) and the experiments' titles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lio.report.paper.tex import latex_escape


def load_reference(path: str | Path) -> dict[str, Any]:
    """The paper's published numbers (paper/reference.yaml), by experiment."""
    return yaml.safe_load(Path(path).read_text())["experiments"]


def title(experiment: str, reference: dict[str, Any]) -> str:
    if experiment in reference and "title" in reference[experiment]:
        return reference[experiment]["title"]
    return latex_escape(experiment.replace("_", " ").capitalize())
