"""The block written by running a page's example: ``docs/minimize.md`` prints what it prints.

The example is the page's first ``python`` code block; it runs in a fresh interpreter on the
CPU (``JAX_PLATFORMS=cpu``: a GPU's round-off would give other counts) in a scratch directory,
and the block shows its output and what the counts say, so the prose never states a result.
Same code, same machine kind, same output: two runs printed the same digits.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

CODE = re.compile(r"```python\n(.*?)```", re.S)


def example_code(page: Path) -> str:
    found = CODE.search(page.read_text())
    if found is None:
        raise ValueError(f"{page}: no ```python block to run")
    return found.group(1)


def run_example(page: Path) -> str:
    """What the page's example prints, run as a user would run it."""
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "example.py"
        script.write_text(example_code(page))
        result = subprocess.run(
            [sys.executable, str(script)], cwd=scratch, capture_output=True, text=True, timeout=900,
            env={**os.environ, "JAX_PLATFORMS": "cpu"}, check=False,
        )
    if result.returncode:
        raise RuntimeError(f"{page}'s example failed:\n{result.stderr[-3000:]}")
    return result.stdout


def minimize_output(root: Path, page: str = "docs/minimize.md") -> str:
    """The example's output and, from its numbers, how lio did against BFGS."""
    output = run_example(root / page)
    losses = re.search(r"lio ([\d.]+), BFGS from x0 ([\d.]+)", output)
    counts = re.search(r"better than BFGS on (\d+) of (\d+) problems, equal on (\d+)", output)
    lines = ["```text", output.rstrip("\n"), "```"]
    if losses and counts:
        lio, bfgs = (float(v) for v in losses.groups())
        better, total, equal = (int(v) for v in counts.groups())
        relation = "lower than" if lio < bfgs else "higher than" if lio > bfgs else "equal to"
        lines += [
            "",
            f"Here lio's mean loss is {relation} BFGS's; lio is better on {better} of the {total} "
            f"problems, equal on {equal} and worse on {total - better - equal}.",
        ]
    return "\n".join(lines)


def minimize_defaults(root: Path) -> str:
    """``lio.minimize``'s defaults and tolerances, as ``lio.api`` sets them."""
    from lio import api
    from lio.methods import BFGSSettings

    float64 = BFGSSettings()
    rows = [
        ("`steps`", f"{api.DEFAULT_STEPS} Adam steps"),
        ("`learning_rate`", f"{api.DEFAULT_LEARNING_RATE:g}"),
        ("`network`", f"1-D observations of length ≥ {api.CONV_MIN_LENGTH} and 2-D ones: "
         f"`{api.CONV_NETWORK}` (the wave-packet experiment's net); anything else `{api.MLP_NETWORK}`"),
        ("BFGS stopping (float64)", f"rtol {float64.rtol:g}, atol {float64.atol:g}"),
        ("BFGS stopping (float32, `FLOAT32_BFGS`)", f"rtol {api.FLOAT32_BFGS.rtol:g}, atol {api.FLOAT32_BFGS.atol:g}"),
        ("equal to BFGS", f"\\|L − L_BFGS\\| ≤ {api.COMPARISON_ATOL:g} + {api.COMPARISON_RTOL:g} · "
         "max(\\|L\\|, \\|L_BFGS\\|); better: strictly lower otherwise"),
    ]
    return "\n".join(["| setting | default |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)])
