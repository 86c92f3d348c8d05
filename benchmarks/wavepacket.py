"""Wave-packet benchmarks: batched BFGS vs a per-example scipy loop, and one training step.

    python benchmarks/wavepacket.py [--n 256] [--out benchmarks/results/wavepacket-<device>.json]

Prints the numbers and writes them as JSON. Timings exclude compilation (reported separately)
and are medians of repeated runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import scipy.optimize  # noqa: E402

from lio.methods import BFGSSettings  # noqa: E402
from lio.methods.bfgs import bfgs_on_problems  # noqa: E402
from lio.methods.networks import SolverNetwork  # noqa: E402
from lio.problems import WavePacket  # noqa: E402
from lio.provenance import device, provenance  # noqa: E402

NETWORK = {"kind": "conv", "features": [16, 16, 32, 32, 64], "kernel_size": 3, "dense": 64}


def median_time(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(function())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bfgs_versus_scipy(problem, problems, repeats: int) -> dict:
    n = problems.n
    y0 = jnp.broadcast_to(problem.prior_mean, (n, 1))
    settings = BFGSSettings()
    outcome, first_call = bfgs_on_problems(problem, problems, y0, settings)
    batched = median_time(lambda: bfgs_on_problems(problem, problems, y0, settings)[0].loss, repeats)

    value_and_grad = jax.jit(jax.value_and_grad(problem.loss))
    value_and_grad(y0[0], problems.condition[0], problems.observed[0])  # compile once
    start = time.perf_counter()
    scipy_losses = []
    for i in range(n):
        condition, observed = problems.condition[i], problems.observed[i]

        def fun(x, condition=condition, observed=observed):
            value, grad = value_and_grad(jnp.asarray(x), condition, observed)
            return float(value), np.asarray(grad)

        result = scipy.optimize.minimize(
            fun, np.asarray(y0[i]), jac=True, method="BFGS", options={"maxiter": 1000}
        )
        scipy_losses.append(result.fun)
    scipy_time = time.perf_counter() - start
    return {
        "n": n,
        "batched_bfgs_s": batched,
        "batched_bfgs_first_call_s": first_call,
        "scipy_loop_s": scipy_time,
        "speedup": scipy_time / batched,
        "batched_mean_loss": float(np.mean(outcome.loss)),
        "scipy_mean_loss": float(np.mean(scipy_losses)),
        "batched_better_or_equal_fraction": float(
            np.mean(np.asarray(outcome.loss) <= np.asarray(scipy_losses) * (1 + 1e-6))
        ),
    }


def training_step(problem, problems, repeats: int) -> dict:
    import optax

    problems32 = problems.astype(jnp.float32)
    net = SolverNetwork.create(problem, NETWORK, problems32)
    params, batch_stats = net.init(jax.random.PRNGKey(0), problems32)
    optimizer = optax.adam(1e-3)
    opt_state = optimizer.init(params)

    def loss_fn(params, batch_stats):
        solution, batch_stats = net.apply(params, batch_stats, problems32, train=True)
        return jnp.sum(problem.losses(solution, problems32)), batch_stats

    @jax.jit
    def step(params, batch_stats, opt_state):
        (loss, batch_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, batch_stats)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), batch_stats, opt_state, loss

    start = time.perf_counter()
    jax.block_until_ready(step(params, batch_stats, opt_state))
    compile_time = time.perf_counter() - start
    step_time = median_time(lambda: step(params, batch_stats, opt_state)[3], repeats)
    cost = step.lower(params, batch_stats, opt_state).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    flops = float(cost.get("flops", float("nan"))) if cost else float("nan")
    return {
        "n": problems.n,
        "train_step_s": step_time,
        "train_step_first_call_s": compile_time,
        "train_step_flops": flops,
        "train_step_gflops_per_s": flops / step_time / 1e9,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    problem = WavePacket()
    problems = problem.sample(jax.random.PRNGKey(0), args.n)
    numbers = {
        "device": device(),
        "bfgs": bfgs_versus_scipy(problem, problems, args.repeats),
        "training": training_step(problem, problems, max(args.repeats, 20)),
        "provenance": provenance(),
    }
    print(json.dumps({k: v for k, v in numbers.items() if k != "provenance"}, indent=2))
    platform = jax.devices()[0].platform
    out = Path(args.out or f"benchmarks/results/wavepacket-{platform}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(numbers, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
