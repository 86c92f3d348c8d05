"""Where do the wave packet's reparameterized estimates go during training, and why?

The paper (§4.1): "the estimate of t0 repeatedly moves from minimum to minimum until settling
[...] the cross-talk between different examples [...] regularizes the movement in t0 space,
preventing solutions from moving far away from the global optimum". This script measures that
movement. On calibration problem sets (seeds disjoint from the evaluation seeds), with the
config's wave-packet network and constants, it trains the reparameterized network at each
learning rate and compares its estimates at initialisation with its final ones:

- how far each estimate travelled, in minima (the loss's minima lie 2π apart);
- the median distance to the hidden truth, before and after, and the share of estimates that
  ended closer to the truth than they started (by more than half a period, π);
- the share inside the truth's envelope (|t0 − truth| < 2σ, where the loss still varies) and
  the median |dL/dt0| there, before and after: estimates driven by noisy, normalised (Adam)
  steps leave regions of large gradient and collect where the gradient is small;
- the pinned share (lio.analysis.health), and how often the estimate beats BFGS, own and refined.

    python benchmarks/wavepacket_training_dynamics.py [--rates 1e-3 3e-4 1e-4 3e-5] [--seeds 1000 1001]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
jax.config.update("jax_enable_x64", True)

from common import load_config  # noqa: E402

from lio.analysis import health  # noqa: E402
from lio.methods import BFGSSettings, make_method, refine  # noqa: E402
from lio.methods.networks import SolverNetwork  # noqa: E402
from lio.problems import make_problem  # noqa: E402


def measure(problem, options: dict, rate: float, seed: int, n: int, bfgs: BFGSSettings) -> dict:
    """One calibration run: the keys split as the workflow's solve job splits its seed."""
    keys = jax.random.split(jax.random.PRNGKey(seed), 3)
    problems = problem.sample(keys[0], n)
    truth = np.asarray(problems.solution)[:, 0]
    baseline = make_method("bfgs", {}, bfgs).solve(problem, problems, None, keys[2])

    options = {**options, "training": {**options["training"], "learning_rate": rate, "log_every": 0}}
    problems32 = problems.astype(jnp.float32)
    net = SolverNetwork.create(problem, options["network"], problems32)
    params, batch_stats = net.init(keys[2], problems32)  # the same key Reparameterized.solve uses
    initial = np.asarray(net.solutions(params, batch_stats, problems32, True), float)[:, 0]

    start = time.perf_counter()
    estimate = make_method("reparameterized", options, bfgs).solve(problem, problems, None, keys[2])
    seconds = time.perf_counter() - start
    refined = refine(problem, problems, estimate, bfgs)
    final = np.asarray(estimate.solution)[:, 0]

    gradient = jax.jit(jax.vmap(jax.grad(problem.loss)))

    def abs_gradient(t0: np.ndarray) -> np.ndarray:
        g = gradient(jnp.asarray(t0[:, None]), problems.condition, problems.observed)
        return np.abs(np.asarray(g)[:, 0])

    envelope = 2 * problem.width
    before, after = np.abs(initial - truth), np.abs(final - truth)
    inside_before, inside_after = before < envelope, after < envelope
    _, summary = health.diagnose(problem, np.asarray(estimate.solution), np.asarray(problems.solution))
    better = lambda loss: float(np.mean(loss < baseline.loss * (1 - 1e-6)))  # noqa: E731
    return {
        "learning_rate": rate,
        "seed": seed,
        "seconds": seconds,
        "minima_travelled_median": float(np.median(np.abs(final - initial)) / (2 * np.pi)),
        "error_initial_median": float(np.median(before)),
        "error_final_median": float(np.median(after)),
        "error_bfgs_median": float(np.median(np.abs(np.asarray(baseline.solution)[:, 0] - truth))),
        "closer_than_initial": float(np.mean(after < before - np.pi)),
        "further_than_initial": float(np.mean(after > before + np.pi)),
        "inside_envelope_initial": float(np.mean(inside_before)),
        "inside_envelope_final": float(np.mean(inside_after)),
        "abs_gradient_initial_median": float(np.median(abs_gradient(initial))),
        "abs_gradient_final_median": float(np.median(abs_gradient(final))),
        "pinned": float(summary["pinned"]),
        "spread": float(summary["spread"]),
        "better_than_bfgs_own": better(estimate.loss),
        "better_than_bfgs_refined": better(refined.loss),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", nargs="*", default=[])
    parser.add_argument("--experiment", default="wavepacket")
    parser.add_argument("--rates", type=float, nargs="+", default=[1e-3, 3e-4, 1e-4, 3e-5])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1000, 1001])
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--steps", type=int, default=None, help="Adam steps (default: the config's)")
    parser.add_argument("--out", default="benchmarks/results/wavepacket_training_dynamics.json")
    args = parser.parse_args()
    config = load_config(args.configfile)
    block = config["experiments"][args.experiment]
    problem = make_problem(block["problem"], block.get("params", {}))
    options = dict(block["methods"]["reparameterized"])
    options["training"] = dict(options["training"])
    if args.steps:
        options["training"]["steps"] = args.steps
    bfgs = BFGSSettings(**{k: v for k, v in config["bfgs"].items()})
    rows = []
    print("rate     seed  minima  error init->final (BFGS)  closer further  envelope init->final  "
          "|dL/dt0| init->final  pinned  better own/refined")
    for rate in args.rates:
        for seed in args.seeds:
            row = measure(problem, options, rate, seed, args.n, bfgs)
            rows.append(row)
            print(
                f"{rate:7.0e}  {seed}  {row['minima_travelled_median']:6.2f}  "
                f"{row['error_initial_median']:6.1f} -> {row['error_final_median']:6.1f} "
                f"({row['error_bfgs_median']:5.1f})  {row['closer_than_initial']:6.2f} "
                f"{row['further_than_initial']:7.2f}  {row['inside_envelope_initial']:8.2f} -> "
                f"{row['inside_envelope_final']:4.2f}  {row['abs_gradient_initial_median']:10.3g} -> "
                f"{row['abs_gradient_final_median']:8.3g}  {row['pinned']:6.2f}  "
                f"{row['better_than_bfgs_own']:.2f}/{row['better_than_bfgs_refined']:.2f}",
                flush=True,
            )
    record = {
        "experiment": args.experiment,
        "params": block.get("params", {}),
        "network": options["network"],
        "steps": options["training"]["steps"],
        "n": args.n,
        "envelope": "|t0 - truth| < 2 sigma",
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
