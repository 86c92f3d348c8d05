"""How often does BFGS stop in a local optimum? BFGS from the prior mean against many starts.

Per experiment (and per variant of its constants), on problem sets of seeds outside the sweep's,
BFGS runs from the prior mean (the baseline's start), from ``--starts`` points drawn uniformly in
the prior box, and from the hidden truth (``lio.run.basins.multistart``, as the workflow's ``basins``
rule runs it on the calibration sets). An example is **stuck** when some other start reaches
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
import numpy as np
import yaml
from common import load_config, write

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lio.run import basins, experiment, spec  # noqa: E402
from lio.analysis.provenance import device, provenance  # noqa: E402


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
    """Split at the commas outside brackets: ``a=[1, 2],b=3`` -> ["a=[1, 2]", "b=3"]."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return parts + [current] if current else parts


def measure(config: dict, name: str, n: int, seed: int, starts: int) -> dict:
    problem = spec.problem_of(config, name)
    key_problems, _, _ = experiment.keys(seed, n)
    problems = problem.sample(key_problems, n)
    begin = time.perf_counter()
    found = basins.multistart(
        problem, problems, spec.bfgs_settings(config, name), starts,
        jax.random.fold_in(jax.random.PRNGKey(seed), 7919),
        config["comparison"]["rtol"], config["comparison"]["atol"],
    )
    return {
        "seed": seed,
        "n": n,
        **basins.summarize(found),
        "loss_from_mean": float(np.mean(found["loss_from_mean"])),
        "loss_best": float(np.mean(found["loss_best"])),
        "seconds": time.perf_counter() - begin,
    }


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
