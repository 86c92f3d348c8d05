"""Shared by the benchmark scripts: config loading, timing, and writing the numbers."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import jax

from lio.run.config import load_config  # noqa: F401 (the benchmarks load configs as the workflow does)


def median_time(function, repeats: int) -> float:
    """Median wall time of ``function()`` (its result waited for), in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(function())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def platform() -> str:
    return jax.devices()[0].platform


def write(numbers: dict, name: str, out: str | None) -> Path:
    """Print the numbers (without provenance) and write them all as JSON."""
    print(json.dumps({k: v for k, v in numbers.items() if k != "provenance"}, indent=2))
    path = Path(out or f"benchmarks/results/{name}-{platform()}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(numbers, indent=2))
    print(f"written to {path}")
    return path
