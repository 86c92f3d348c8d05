"""Generated parts of README.md and the documentation site (docs/, built by mkdocs).

No number on these pages is typed: each sits in a marked block (``lio.report.docs.blocks``) that a
generator below writes from the committed record (``paper/data``), the benchmark results
(``benchmarks/results``), the config, or by running the page's own example.

    python -m lio.report.docs           # rewrite every block of README.md and docs/*.md
    python -m lio.report.docs --check   # exit 1 when a committed page differs from what it would write

``tests/test_docs.py`` runs the check, so a number edited by hand, or a record re-made
without regenerating the pages, fails the tests.
"""

from __future__ import annotations

from lio.report.docs import example, record, tables
from lio.report.docs.blocks import Block, blocks, update

GENERATORS = {
    "results": record.results,
    "verdict": record.verdict,
    "recorded": record.recorded,
    "costs": record.costs,
    "basins": record.basins,
    "calibration": record.calibration,
    "table2": record.table2,
    "include": record.include,
    "constants": record.constants,
    "published": record.published,
    "json-table": tables.json_table,
    "settings": tables.settings,
    "cost-estimate": tables.cost_estimate,
    "minimize-output": example.minimize_output,
    "minimize-defaults": example.minimize_defaults,
}

# Blocks that run code rather than read files: seconds of CPU, not milliseconds.
SLOW = ("minimize-output",)

__all__ = ["GENERATORS", "SLOW", "Block", "blocks", "update"]
