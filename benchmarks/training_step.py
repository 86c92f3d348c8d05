"""One reparameterized Adam step per experiment against a roofline estimate.

    python benchmarks/training_step.py [--configfile config/quick.yaml] [--experiments ...]
        [--n 256] [--threads 1] [--out FILE]

The step is the workflow's (network + simulator, forward and backward, Adam update) in float32.
Roofline: the step's FLOPs divided by this machine's measured float32 matmul rate, so
``ratio = measured / roofline`` says how far the step is from compute-bound at matmul speed
(element-wise simulators and small convolutions cannot reach it). FLOPs are counted on the
step's jaxpr with every ``lax.scan`` body times its length (``flops.py``); XLA's cost analysis,
which counts a loop body once (one time step of KS and NS), is reported beside it.

On CPU, ``--threads 1`` (default) measures both the step and the matmul rate on one XLA thread,
as every workflow job runs (``compute.threads``); ``--threads 0`` leaves XLA all cores.
"""

from __future__ import annotations

import argparse
import time


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", nargs="*", default=[])
    parser.add_argument("--experiments", nargs="*", default=None)
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument(
        "--threads", type=int, default=1, help="XLA CPU threads: 1 as in workflow jobs, 0 all"
    )
    parser.add_argument("--out", default=None)
    return parser


from lio.run.jobenv import limit_xla_cpu_threads  # noqa: E402  (imports no jax)

limit_xla_cpu_threads(_parser().parse_known_args()[0].threads)  # before jax is imported

import jax  # noqa: E402

from lio.run.experiment import enable_float64  # noqa: E402

enable_float64()  # as in the workflow: float64 data and BFGS, full-precision float32 matmuls

import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402
from common import load_config, median_time, platform, write  # noqa: E402
from flops import count_flops  # noqa: E402

from lio.run.spec import problem_of  # noqa: E402
from lio.methods.networks import SolverNetwork  # noqa: E402
from lio.analysis.provenance import device, provenance  # noqa: E402


def matmul_rate() -> float:
    """Measured float32 matmul FLOP/s at a size that saturates this device."""
    size = 8192 if platform() == "gpu" else 2048
    a = jax.random.normal(jax.random.PRNGKey(0), (size, size), jnp.float32)
    matmul = jax.jit(lambda a: a @ a)
    jax.block_until_ready(matmul(a))
    seconds = median_time(lambda: matmul(a), 5)
    return 2 * size**3 / seconds


def flops_of(compiled) -> float:
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    return float(cost.get("flops", float("nan"))) if cost else float("nan")


def training_step(problem, network: dict, learning_rate: float, n: int, repeats: int) -> dict:
    problems = problem.sample(jax.random.PRNGKey(0), n).astype(jnp.float32)
    net = SolverNetwork.create(problem, network, problems)
    params, batch_stats = net.init(jax.random.PRNGKey(1), problems)
    optimizer = optax.adam(learning_rate)
    opt_state = optimizer.init(params)

    def loss_fn(params, batch_stats):
        solution, batch_stats = net.apply(params, batch_stats, problems, train=True)
        return jnp.sum(problem.losses(solution, problems)), batch_stats

    @jax.jit
    def step(params, batch_stats, opt_state):
        (loss, batch_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, batch_stats)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), batch_stats, opt_state, loss

    start = time.perf_counter()
    jax.block_until_ready(step(params, batch_stats, opt_state))
    first_call = time.perf_counter() - start
    seconds = median_time(lambda: step(params, batch_stats, opt_state)[3], repeats)
    flops, while_loops = count_flops(jax.make_jaxpr(step)(params, batch_stats, opt_state))
    return {
        "n": n,
        "train_step_s": seconds,
        "train_step_first_call_s": first_call,
        "train_step_flops": flops,
        "while_loops_counted_once": while_loops,
        "xla_cost_analysis_flops": flops_of(step.lower(params, batch_stats, opt_state).compile()),
    }


def main() -> None:
    args = _parser().parse_args()
    config = load_config(args.configfile)
    rate = matmul_rate()
    numbers = {
        "device": device(),
        "xla_cpu_threads": "1" if args.threads == 1 else "all",
        "matmul_flops_per_s": rate,
        "experiments": {},
    }
    print(f"float32 matmul rate: {rate / 1e9:.1f} GFLOP/s", flush=True)
    for experiment in args.experiments or list(config["experiments"]):
        block = config["experiments"][experiment]
        method = block["methods"]["reparameterized"]
        n = min(args.n, max(block["ns"]))
        result = training_step(
            problem_of(config, experiment),
            method["network"],
            method["training"]["learning_rate"],
            n,
            args.repeats,
        )
        result["roofline_s"] = result["train_step_flops"] / rate
        result["ratio_to_roofline"] = result["train_step_s"] / result["roofline_s"]
        numbers["experiments"][experiment] = result
        print(f"[{experiment}] {result}", flush=True)
    numbers["provenance"] = provenance({"configfiles": args.configfile})
    write(numbers, "training_step", args.out)


if __name__ == "__main__":
    main()
