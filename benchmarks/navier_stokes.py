"""Navier–Stokes benchmarks: the simulator's cost, one training step, and BFGS vs scipy.

    python benchmarks/navier_stokes.py [--n 1 32 128] [--bfgs-n 8] [--resolution 32]
        [--out benchmarks/results/navier_stokes-<device>.json]

Times the jitted, vmapped forward model and ``value_and_grad`` of the summed loss for each n,
in float32 (network training) and float64 (BFGS, refinement), with the dense pressure solve
(the default) and with CG; one Adam step of a conv solver network through the simulation;
and batched BFGS against a per-example ``scipy.optimize.minimize(method="BFGS")`` loop.
Prints the numbers and writes them as JSON. Timings exclude compilation (reported
separately) and are medians of repeated runs; memory is XLA's compiled-buffer estimate.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import scipy.optimize  # noqa: E402
from common import median_time  # noqa: E402

from lio.methods import BFGSSettings  # noqa: E402
from lio.methods.bfgs import STATUS, bfgs_on_problems  # noqa: E402
from lio.methods.networks import SolverNetwork  # noqa: E402
from lio.problems.paper.navier_stokes import NavierStokes  # noqa: E402
from lio.analysis.provenance import device, provenance  # noqa: E402

# Paper §4.4: four 2D convolutions and two dense layers.
NETWORK = {"kind": "conv", "features": [16, 16, 32, 32], "kernel_size": 3, "dense": 64}


def compiled_bytes(jitted, *args) -> int | None:
    """XLA's estimate of the buffers one call needs (arguments + outputs + temporaries)."""
    try:
        memory = jitted.lower(*args).compile().memory_analysis()
        return int(
            memory.argument_size_in_bytes + memory.output_size_in_bytes + memory.temp_size_in_bytes
        )
    except Exception:  # noqa: BLE001  not every backend reports it
        return None


def simulation_cost(problem, problems, dtype, repeats: int) -> dict:
    problems = problems.astype(dtype)
    solution = jnp.broadcast_to(problem.prior_mean.astype(dtype), problems.solution.shape)
    total = lambda s, p: jnp.sum(problem.losses(s, p))  # noqa: E731
    forward = jax.jit(jax.vmap(problem.forward))
    value_and_grad = jax.jit(jax.value_and_grad(total))
    numbers = {
        "pressure_solver": problem.pressure_solver,
        "dtype": jnp.dtype(dtype).name,
        "n": problems.n,
    }
    for name, function, args in (
        ("forward", forward, (solution, problems.condition)),
        ("value_and_grad", value_and_grad, (solution, problems)),
    ):
        start = time.perf_counter()
        jax.block_until_ready(function(*args))
        numbers[f"{name}_first_call_s"] = time.perf_counter() - start
        seconds = median_time(lambda f=function, a=args: f(*a), repeats)
        numbers[f"{name}_s"] = seconds
        numbers[f"{name}_per_problem_ms"] = 1e3 * seconds / problems.n
        numbers[f"{name}_bytes"] = compiled_bytes(function, *args)
    print(json.dumps(numbers), flush=True)
    return numbers


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
    return {
        "n": problems.n,
        "network": NETWORK,
        "train_step_s": step_time,
        "train_step_first_call_s": compile_time,
        "train_step_bytes": compiled_bytes(step, params, batch_stats, opt_state),
        "adam_steps_per_hour": 3600 / step_time,
    }


def bfgs_versus_scipy(problem, problems) -> dict:
    n = problems.n
    y0 = jnp.broadcast_to(problem.prior_mean, (n, problem.num_parameters))
    settings = BFGSSettings()
    outcome, first_call = bfgs_on_problems(problem, problems, y0, settings)
    _, batched = bfgs_on_problems(problem, problems, y0, settings)

    value_and_grad = jax.jit(jax.value_and_grad(problem.loss))
    value_and_grad(y0[0], problems.condition[0], problems.observed[0])  # compile once
    start = time.perf_counter()
    results = []
    for i in range(n):
        condition, observed = problems.condition[i], problems.observed[i]

        def fun(x, condition=condition, observed=observed):
            value, grad = value_and_grad(jnp.asarray(x), condition, observed)
            return float(value), np.asarray(grad)

        results.append(
            scipy.optimize.minimize(
                fun, np.asarray(y0[i]), jac=True, method="BFGS", options={"maxiter": 1000}
            )
        )
    scipy_time = time.perf_counter() - start
    batched_losses = np.asarray(outcome.loss)
    scipy_losses = np.array([r.fun for r in results])
    truth_losses = np.asarray(problem.losses(problems.solution, problems))
    return {
        "n": n,
        "batched_bfgs_s": batched,
        "batched_bfgs_first_call_s": first_call,
        "batched_iterations": np.asarray(outcome.iterations).tolist(),
        "batched_status": [STATUS[s] for s in np.asarray(outcome.status)],
        "batched_losses": batched_losses.tolist(),
        "scipy_loop_s": scipy_time,
        "scipy_iterations": [int(r.nit) for r in results],
        "scipy_evaluations": [int(r.nfev) for r in results],
        "scipy_success": [bool(r.success) for r in results],
        "scipy_messages": sorted({r.message for r in results}),
        "scipy_losses": scipy_losses.tolist(),
        "truth_losses": truth_losses.tolist(),
        "speedup": scipy_time / batched,
        "batched_mean_loss": float(batched_losses.mean()),
        "scipy_mean_loss": float(scipy_losses.mean()),
        "truth_mean_loss": float(truth_losses.mean()),
        "prior_mean_loss": float(np.mean(problem.losses(y0, problems))),
        "batched_better_or_equal_fraction": float(
            np.mean(batched_losses <= scipy_losses * (1 + 1e-6))
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1, 32, 128])
    parser.add_argument("--cg-n", type=int, nargs="*", default=[1, 32], help="n timed with CG")
    parser.add_argument("--bfgs-n", type=int, default=8)
    parser.add_argument("--resolution", type=int, default=NavierStokes().resolution)
    parser.add_argument("--dt", type=float, default=NavierStokes().dt)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--skip-bfgs", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    problem = NavierStokes(resolution=args.resolution, dt=args.dt)
    key = jax.random.PRNGKey(0)
    sizes = {*args.n, *args.cg_n} | (set() if args.skip_bfgs else {args.bfgs_n})
    problem_sets = {n: problem.sample(key, n) for n in sorted(sizes)}
    simulation = []
    for solver, sizes in (("dense", args.n), ("cg", args.cg_n)):
        timed = problem.replace(pressure_solver=solver)
        for n in sizes:
            for dtype in (jnp.float32, jnp.float64):
                simulation.append(simulation_cost(timed, problem_sets[n], dtype, args.repeats))
    numbers = {
        "device": device(),
        "problem": {
            "resolution": problem.resolution,
            "dt": problem.dt,
            "steps": problem.num_steps,
            "pressure_solver": problem.pressure_solver,
            "advection": problem.advection,
        },
        "simulation": simulation,
    }
    if not args.skip_training:
        numbers["training"] = training_step(problem, problem_sets[max(args.n)], args.repeats)
        print(json.dumps(numbers["training"]), flush=True)
    if not args.skip_bfgs:
        numbers["bfgs"] = bfgs_versus_scipy(problem, problem_sets[args.bfgs_n])
    numbers["provenance"] = provenance()
    summary = {k: v for k, v in numbers.items() if k not in ("provenance", "simulation")}
    print(json.dumps(summary, indent=2))
    platform = jax.devices()[0].platform
    out = Path(args.out or f"benchmarks/results/navier_stokes-{platform}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(numbers, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
