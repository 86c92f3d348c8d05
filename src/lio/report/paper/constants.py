"""The constants we chose: config keys whose comment says ``ours:``, as a table for the paper."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lio.report.paper.files import Layout, write_text
from lio.report.paper.reference import load_reference, title
from lio.report.paper.tex import latex_escape
from lio.core.atomic import write_atomically
from lio.run.spec import lookup

#: Keys that never change a result (where jobs run, logging), left out of the paper's table.
NOT_CONSTANTS = {"compute", "publish", "publish_allow_uncommitted", "paper_source", "log_every"}
_OURS = re.compile(r"\bours\b", re.IGNORECASE)
_KEY = re.compile(r"^(\s*)([A-Za-z0-9_]+)\s*:(.*)$")


@dataclass
class Constant:
    """Config keys that share one justification: a commented key and its uncommented followers."""

    keys: list[tuple[str, ...]]
    comment: str


def _split_comment(line: str) -> tuple[str, str]:
    quote = None
    for index, char in enumerate(line):
        if char in "'\"" and quote in (None, char):
            quote = None if quote else char
        elif char == "#" and quote is None and (index == 0 or line[index - 1].isspace()):
            return line[:index], line[index + 1 :].strip()
    return line, ""


def commented_constants(text: str) -> list[Constant]:
    """Leaf keys of a YAML config whose end-of-line comment says the choice is ours.

    An uncommented key right after such a key, under the same parent and of the same family
    (first word before ``_``), shares its comment (``t0_low: 32.0  # ours: ...`` then
    ``t0_high: 224.0``). Comments on mapping keys and on their own lines describe blocks and
    are left out.
    """
    stack: list[tuple[int, str]] = []
    constants: list[Constant] = []
    previous: dict[tuple[str, ...], Constant | None] = {}
    for line in text.splitlines():
        content, comment = _split_comment(line)
        match = _KEY.match(content)
        if not match:
            if not content.strip():
                previous.clear()  # a blank or comment line ends a group
            continue
        indent, key, value = len(match[1]), match[2], match[3].strip()
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = tuple(k for _, k in stack)
        if not value:
            stack.append((indent, key))
            previous[parent] = None
            continue
        if comment and _OURS.search(comment):
            constant = Constant(
                [(*parent, key)],
                re.sub(r"^ours\s*(\([^)]*\))?\s*:\s*", "", comment, flags=re.IGNORECASE),
            )
            constants.append(constant)
            previous[parent] = constant
        elif (
            not comment
            and previous.get(parent) is not None
            and _family(previous[parent].keys[0][-1]) == _family(key)
        ):
            previous[parent].keys.append((*parent, key))
        else:
            previous[parent] = None
    return constants


def _family(key: str) -> str:
    return key.split("_")[0]


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return re.sub(r"e\+?(-?)0*(\d)", r"e\1\2", f"{value:g}")  # 1e-06 -> 1e-6
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {format_value(v)}" for k, v in value.items()) + "}"
    return "null" if value is None else str(value)


def constants_table(
    config: dict[str, Any], config_files: Sequence[str], experiments: Sequence[str]
) -> pd.DataFrame:
    """Every constant we chose: group, key(s), value(s) in force, justification.

    Comments come from the config files in merge order (a later file's comment on the same key
    wins); values from the merged config, so the table shows what the run used.
    """
    chosen: dict[tuple[str, ...], Constant] = {}
    for path in config_files:
        for constant in commented_constants(Path(path).read_text()):
            chosen[constant.keys[0]] = constant
    rows = []
    for constant in chosen.values():
        first = constant.keys[0]
        inside = first[0] == "experiments"
        keys, values = [], []
        for path in constant.keys:
            found, value = lookup(config, list(path))
            elsewhere = inside and path[1] not in experiments
            if not found or elsewhere or NOT_CONSTANTS.intersection(path):
                continue
            keys.append(path[-1])
            values.append(format_value(value))
        if keys:
            rows.append(
                {
                    "group": first[1] if inside else first[0],
                    "parent": ".".join(first[2:-1] if inside else first[1:-1]),
                    "key": ", ".join(keys),
                    "value": ", ".join(values),
                    "why": constant.comment,
                }
            )
    table = pd.DataFrame(rows, columns=["group", "parent", "key", "value", "why"])
    # Within a group, keys of the group itself (seeds) before those of its blocks (params, ...).
    order = table["group"].map({g: i for i, g in enumerate(dict.fromkeys(table["group"]))})
    table = table.assign(_order=order, _nested=table["parent"] != "")
    return (
        table.sort_values(["_order", "_nested"], kind="stable")
        .drop(columns=["_order", "_nested"])
        .reset_index(drop=True)
    )


GROUP_TITLES = {
    "bfgs": "BFGS (baseline, refinement, neural-adjoint search)",
    "comparison": "Better / equal and intervals",
}


def constants_longtable(constants: pd.DataFrame, reference: dict[str, Any]) -> str:
    """Constants grouped by experiment (or config section) and by the block they sit in."""

    def breakable(text: str) -> str:
        escaped = latex_escape(text).replace("\\_", "\\_\\allowbreak{}")
        return escaped.replace(", ", ",\\allowbreak{} ")

    lines = [
        r"\begin{longtable}{@{}p{0.22\linewidth}p{0.2\linewidth}p{0.52\linewidth}@{}}",
        r"\toprule key & value & why (config comment) \\ \midrule \endhead",
        r"\bottomrule \endfoot",
    ]
    for group, rows in constants.groupby("group", sort=False):
        heading = GROUP_TITLES.get(group) or title(group, reference)
        lines.append(f"\\multicolumn{{3}}{{@{{}}l}}{{\\textbf{{{heading}}}}} \\\\*")
        parent = ""
        for _, row in rows.iterrows():
            if row.parent != parent:
                parent = row.parent
                path = " / ".join(latex_escape(part) for part in parent.split("."))
                lines.append(f"\\multicolumn{{3}}{{@{{}}l}}{{\\quad\\textit{{{path}}}}} \\\\*")
            key, value = breakable(row.key), breakable(row.value)
            lines.append(f"\\texttt{{{key}}} & \\texttt{{{value}}} & {latex_escape(row.why)} \\\\")
        lines.append(r"\addlinespace")
    lines += [r"\end{longtable}", ""]
    return "\n".join(lines)


def write_constants(
    config: dict[str, Any],
    config_files: Sequence[str],
    layout: Layout,
    reference_path: str,
    tex: str,
    csv: str,
) -> None:
    constants = constants_table(config, config_files, layout.experiments)
    write_text(
        tex,
        "% Generated by lio.report.paper from the config files' `# ours:` comments; do not edit.\n"
        + constants_longtable(constants, load_reference(reference_path)),
    )
    write_atomically(csv, constants.to_csv(index=False))
