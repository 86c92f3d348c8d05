"""Generated blocks in Markdown pages: find them, regenerate them, check them.

A page marks a generated region with two HTML comments, invisible on GitHub and in the site:

    <!-- NAME ARG ...:start -->
    ... text written by the generator NAME (with its arguments, if any) ...
    <!-- NAME:end -->

``NAME`` is a key of ``lio.report.docs.GENERATORS``; the text between the markers is whatever that
generator returns now, never typed by hand. ``python -m lio.report.docs`` rewrites every block of
README.md and docs/*.md; ``--check`` only compares and fails on a block that differs (a number
edited by hand, or a record, benchmark or example that changed since the page was written).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from lio.core.atomic import write_atomically

START = re.compile(r"<!-- (?P<name>[a-z0-9_-]+)(?P<args>(?: [^\s>]+)*):start -->")

# A generator reads the repository (its root is the argument) and returns the block's text.
Generator = Callable[..., str]


@dataclass(frozen=True)
class Block:
    """One marked region of a page: where its text starts and ends, and what writes it."""

    name: str
    args: tuple[str, ...]
    start: int  # index of the first character after the start marker
    end: int  # index of the end marker

    @property
    def label(self) -> str:
        return " ".join((self.name, *self.args))


def blocks(text: str, page: str = "page") -> list[Block]:
    """The marked regions of ``text``, in order; an unclosed one is an error naming the page."""
    found = []
    for match in START.finditer(text):
        end_marker = f"<!-- {match['name']}:end -->"
        end = text.find(end_marker, match.end())
        if end < 0:
            raise ValueError(f"{page}: '{match.group(0)}' has no '{end_marker}' after it; add it.")
        args = tuple(match["args"].split())
        found.append(Block(match["name"], args, match.end(), end))
    return found


def generate(block: Block, generators: dict[str, Generator], root: Path, page: str) -> str:
    """The text ``block`` should hold now, with one newline on either side."""
    if block.name not in generators:
        raise ValueError(
            f"{page}: no generator named {block.name!r} for block '{block.label}'; "
            f"expected one of {sorted(generators)}."
        )
    text = generators[block.name](root, *block.args)
    return "\n" + text.strip("\n") + "\n"


def regenerated(
    text: str, generators: dict[str, Generator], root: Path, page: str, skip: Iterable[str] = ()
) -> tuple[str, list[str]]:
    """``text`` with every block's region rewritten, and the labels of the blocks that changed.
    Blocks named in ``skip`` keep their text."""
    pieces, changed, position = [], [], 0
    for block in blocks(text, page):
        if block.name in skip:
            continue
        new = generate(block, generators, root, page)
        if text[block.start : block.end] != new:
            changed.append(block.label)
        pieces += [text[position : block.start], new]
        position = block.end
    pieces.append(text[position:])
    return "".join(pieces), changed


def pages(root: Path) -> list[Path]:
    """The pages that may hold generated blocks: README.md and every Markdown file under docs/."""
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def update(
    root: Path, generators: dict[str, Generator], check: bool = False, skip: Iterable[str] = ()
) -> dict[str, list[str]]:
    """Regenerate (or with ``check``, only compare) every page's blocks. Returns, per page
    (relative to ``root``), the labels of the blocks that differed."""
    stale = {}
    for path in pages(root):
        page = str(path.relative_to(root))
        text = path.read_text()
        new, changed = regenerated(text, generators, root, page, skip)
        if changed:
            stale[page] = changed
            if not check:
                write_atomically(path, new)
    return stale
