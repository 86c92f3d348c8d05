"""The reproduction report: its generated LaTeX inputs, the README's results table, the PDF build.

Every number in ``paper/main.tex`` comes from a file written here from the results (showyourwork's
contract): ``numbers.tex`` (macros), the better/equal tables refined and unrefined, the cost table,
the per-experiment sections and a summary (``generated``, which writes them with one module per
report section: ``macros``, ``comparison``, ``costs``, ``health``, ``tuning``, ``deviations``...),
and the table of constants we chose, parsed from the ``# ours: ...`` comments of the config files
(``constants``). ``Layout`` says where the inputs come from (this run's ``results/`` or the
committed record in ``paper/data``) and where the outputs go; ``readme`` writes the README's
results table from the record.
"""

from lio.report.paper.constants import commented_constants, constants_table, write_constants
from lio.report.paper.files import (
    NO_TEX_MESSAGE,
    PANELS,
    Layout,
    build_pdf,
    layout,
    merge_order,
)
from lio.report.paper.costs import cost_table, job_seconds, write_benchmarks
from lio.report.paper.generated import write_generated
from lio.report.paper.macros import numbers
from lio.report.paper.readme import readme_block, splice_readme, write_readme
from lio.report.paper.tex import latex_escape, macro

__all__ = [
    "NO_TEX_MESSAGE",
    "PANELS",
    "Layout",
    "build_pdf",
    "commented_constants",
    "constants_table",
    "cost_table",
    "job_seconds",
    "latex_escape",
    "layout",
    "macro",
    "merge_order",
    "numbers",
    "readme_block",
    "splice_readme",
    "write_benchmarks",
    "write_constants",
    "write_generated",
    "write_readme",
]
