"""The package's shape: imports run only downward through the layers, with no circles.

Layers, bottom to top (docs/architecture.md):

    core       leaf helpers: atomic writes, network pieces, image quality, the version
    problems   simulators and their losses
    methods    BFGS, the networks and their training
    analysis   run files, aggregation, metrics, health, provenance
    run        the workflow's steps: experiment specs, solves, calibration, studies, axes, basins
    api        lio.minimize, for users' own code
    report     figures, the paper's generated tables and text, the docs' generated blocks

A module may import its own layer's modules and any layer below. Every import counts, also
one inside a function or under TYPE_CHECKING: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
LAYERS = ["core", "problems", "methods", "analysis", "run", "api", "report"]


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / "lio").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The lio modules ``name`` imports (a ``from package import module`` names the module)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = [f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module
                       for alias in node.names]
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


def layer(name: str) -> int:
    """The layer's rank; the package root ``lio`` sits above every layer."""
    parts = name.split(".")
    if len(parts) == 1:
        return len(LAYERS)
    return LAYERS.index(parts[1])


GRAPH = {name: imports(name, path, modules()) for name, path in modules().items()}


def test_every_module_belongs_to_a_layer():
    stray = [name for name in GRAPH if name != "lio" and name.split(".")[1] not in LAYERS]
    assert not stray, f"modules outside the layers {LAYERS}: {stray}; move them into one"


def test_imports_run_downward():
    upward = sorted(
        f"{name} -> {target}" for name, targets in GRAPH.items() for target in targets
        if layer(target) > layer(name)
    )
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_no_import_circles():
    circles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(GRAPH[name]):
            if state.get(target) == 1:
                circles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[name] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])
    assert not circles, "import circles:\n" + "\n".join(circles)


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_no_module_over_400_lines_without_a_reason(name):
    """A module over ~400 lines says why at its top (``Size:`` in the docstring)."""
    text = modules()[name].read_text()
    lines = text.count("\n")
    if lines > 420:
        docstring = ast.get_docstring(ast.parse(text)) or ""
        assert "Size:" in docstring, f"{name} has {lines} lines; split it, or say why not in a 'Size:' line"
