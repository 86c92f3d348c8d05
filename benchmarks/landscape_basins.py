"""How often does BFGS stop in a local optimum? BFGS from the prior mean against many starts.

Per experiment (and per variant of its constants), on problem sets of seeds outside the sweep's,
BFGS runs from the prior mean (the baseline's start), from ``--starts`` points drawn uniformly in
the prior box, and from the hidden truth. An example is **stuck** when some other start reaches
a loss lower than the baseline's by more than the comparison's tolerance (``comparison.rtol`` and
``atol``): a better optimum exists that BFGS from the prior mean missed. No method refined by BFGS
can be "better than BFGS" on an example where BFGS is not stuck, other than by round-off, so the
stuck share bounds Table 2's "better" column from above (up to the starts' coverage).

The paper (§4.4): on the fluid "BFGS converges to some optimum in all cases, usually within 10
iterations, sometimes requiring up to 40 iterations. However, many examples get stuck in local
optima." Also printed: BFGS's median and largest iterations, the share in the truth's basin
(``Problem.in_basin``), and the median number of distinct optima the starts reach.

    python benchmarks/landscape_basins.py --experiment navier_stokes --n 16 --starts 8 \\
        [--variant initial_speed=0.5 --variant viscosity=0.01,initial_speed=0.5] [--seeds 2000]
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import yaml
from common import load_config, write

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lio import experiment  # noqa: E402
from lio.methods.bfgs import bfgs_on_problems  # noqa: E402
from lio.provenance import device, provenance  # noqa: E402


def parse_variant(text: str) -> dict:
    """``a=1,b=[1, 2]`` -> {"a": 1, "b": [1, 2]} (values read as YAML)."""
    if text == "baseline":
        return {}
    params = {}
    for part in _split_top_level(text):
        key, _, value = part.partition("=")
        if not value:
            raise SystemExit(f"--variant: expected name=value[,name=value], got {text!r}")
        params[key.strip()] = yaml.safe_load(value)
    return params


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "[{" and 1 or (char in "]}" and -1 or 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return parts + [current] if current else parts


def repeat_set(problems, times: int):
    return jax.tree.map(lambda leaf: jnp.concatenate([leaf] * times), problems)


def measure(config: dict, name: str, n: int, seed: int, starts: int) -> dict:
    problem = experiment.problem_of(config, name)
    settings = experiment.bfgs_settings(config, name)
    key_problems, _, _ = experiment.keys(seed, n)
    problems = problem.sample(key_problems, n)
    truth = jnp.asarray(problems.solution)
    lower, upper = (jnp.asarray(b, truth.dtype) for b in problem.bounds)
    uniform = jax.random.uniform(
        jax.random.PRNGKey(seed + 7919), (starts, n, truth.shape[-1]), truth.dtype
    )
    y0 = jnp.concatenate(
        [jnp.broadcast_to(problem.prior_mean.astype(truth.dtype), truth.shape), truth]
        + list(lower + uniform * (upper - lower))
    )
    begin = time.perf_counter()
    outcome, _ = bfgs_on_problems(problem, repeat_set(problems, starts + 2), y0, settings)
    seconds = time.perf_counter() - begin
    loss = np.asarray(outcome.loss).reshape(starts + 2, n)
    iterations = np.asarray(outcome.iterations).reshape(starts + 2, n)[0]
    from_mean, from_truth, others = loss[0], loss[1], loss[1:]
    rtol, atol = config["comparison"]["rtol"], config["comparison"]["atol"]
    margin = atol + rtol * np.abs(from_mean)
    best = np.nanmin(others, axis=0)
    stuck = best < from_mean - margin
    optima = [
        len(_distinct(np.sort(column[np.isfinite(column)]), rtol, atol)) for column in loss.T
    ]
    solution = np.asarray(outcome.solution)[:n]
    return {
        "seed": seed,
        "n": n,
        "stuck": float(np.mean(stuck)),
        "truth_start_lower": float(np.mean(from_truth < from_mean - margin)),
        "in_basin": float(np.mean(problem.in_basin(solution, np.asarray(truth)))),
        "iterations_median": float(np.median(iterations)),
        "iterations_max": int(np.max(iterations)),
        "distinct_optima_median": float(np.median(optima)),
        "loss_from_mean": float(np.mean(from_mean)),
        "loss_best": float(np.mean(best)),
        "seconds": seconds,
    }


def _distinct(sorted_losses: np.ndarray, rtol: float, atol: float) -> list[float]:
    values: list[float] = []
    for value in sorted_losses:
        if not values or value > values[-1] + atol + rtol * abs(values[-1]):
            values.append(float(value))
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configfile", nargs="*", default=[])
    parser.add_argument("--experiment", default="navier_stokes")
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--seeds", type=int, nargs="+", default=[2000])
    parser.add_argument("--starts", type=int, default=8, help="uniform random starts per example")
    parser.add_argument("--variant", action="append", default=[], help="params overrides, a=1,b=2")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    experiment.enable_float64()
    base = load_config(args.configfile)
    if args.experiment not in base["experiments"]:
        raise SystemExit(
            f"--experiment {args.experiment!r} is not in the config; expected one of "
            f"{sorted(base['experiments'])}"
        )
    rows = []
    for text in ["baseline", *args.variant]:
        config = copy.deepcopy(base)
        block = config["experiments"][args.experiment]
        block["params"] = {**(block.get("params") or {}), **parse_variant(text)}
        for seed in args.seeds:
            row = {"variant": text, **measure(config, args.experiment, args.n, seed, args.starts)}
            rows.append(row)
            print(
                f"{text:40s} seed {seed}: stuck {row['stuck']:.0%}, truth start lower "
                f"{row['truth_start_lower']:.0%}, in basin {row['in_basin']:.0%}, iterations "
                f"median {row['iterations_median']:.0f} max {row['iterations_max']}, distinct "
                f"optima {row['distinct_optima_median']:.0f}, L/n {row['loss_from_mean']:.4g} -> "
                f"best {row['loss_best']:.4g} ({row['seconds']:.0f} s)",
                flush=True,
            )
    numbers = {"provenance": provenance(), "device": device(), "args": vars(args), "rows": rows}
    write(numbers, f"landscape_basins-{args.experiment}", args.out)


if __name__ == "__main__":
    main()
