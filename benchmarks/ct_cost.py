"""Forward and gradient cost of the CT problem at n = 64, and its memory.

For each image size, times the batched (vmapped, jitted) forward model and the gradient of the
MAP loss over n problems (median of ``--repeats`` calls after one warm-up), and reports the
operator's stored size and the compiled gradient's temporary memory (XLA's memory analysis).

    python benchmarks/ct_cost.py [--sizes 32 64] [--angles 16 30] [--n 64] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
jax.config.update("jax_enable_x64", True)

from lio.problems import make_problem  # noqa: E402


def timed(function, *args, repeats: int) -> float:
    jax.block_until_ready(function(*args))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(function(*args))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(size: int, angles: int, n: int, repeats: int) -> dict:
    start = time.perf_counter()
    problem = make_problem("ct", {"size": size, "num_angles": angles})
    build = time.perf_counter() - start
    problems = problem.sample(jax.random.PRNGKey(0), n)
    forward = jax.jit(lambda p, x, c: jax.vmap(p.forward)(x, c))
    gradient = jax.jit(lambda p, x, ps: jax.vmap(jax.grad(p.loss))(x, ps.condition, ps.observed))
    compiled = gradient.lower(problem, problems.solution, problems).compile()
    analysis = compiled.memory_analysis()
    operator = sum(leaf.nbytes for leaf in jax.tree.leaves(problem.radon))
    row = {
        "size": size,
        "num_angles": angles,
        "n": n,
        "unknowns": problem.num_parameters,
        "equations": angles * size,
        "build_s": build,
        "forward_s": timed(forward, problem, problems.solution, problems.condition, repeats=repeats),
        "gradient_s": timed(gradient, problem, problems.solution, problems, repeats=repeats),
        "operator_mib": operator / 2**20,
        "dense_matrix_mib": angles * size * size**2 * 8 / 2**20,
        "gradient_temp_mib": (analysis.temp_size_in_bytes / 2**20) if analysis else float("nan"),
    }
    print(
        f"CT {size}x{size}, {angles} angles, n={n}: forward {1e3 * row['forward_s']:.2f} ms, "
        f"gradient {1e3 * row['gradient_s']:.2f} ms, operator {row['operator_mib']:.1f} MiB "
        f"(dense {row['dense_matrix_mib']:.1f} MiB), gradient temp {row['gradient_temp_mib']:.1f} "
        f"MiB, build {row['build_s']:.2f} s",
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--angles", type=int, nargs="+", default=[16, 30])
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if len(args.angles) != len(args.sizes):
        parser.error(f"--angles gives {len(args.angles)} values for {len(args.sizes)} --sizes; "
                     "give one number of angles per size.")
    rows = [measure(s, a, args.n, args.repeats) for s, a in zip(args.sizes, args.angles)]
    device = jax.devices()[0].platform
    out = Path(args.out or f"benchmarks/results/ct_cost-{device}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"device": str(jax.devices()[0]), "threads": "default",
                               "rows": rows}, indent=2, default=float) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
