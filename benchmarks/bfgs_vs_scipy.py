"""Batched BFGS against a per-example scipy loop, on every experiment of a config.

    python benchmarks/bfgs_vs_scipy.py [--configfile config/quick.yaml] [--experiments wavepacket]
        [--n 256] [--scipy-examples 64] [--scipy-gtol 1e-5] [--out FILE]

Both start from the problem's prior mean on the same float64 problems with the workflow's BFGS
settings; scipy gets ``jax.jit(value_and_grad(loss))`` of ONE problem per call. For costly
simulators scipy runs on the first ``--scipy-examples`` problems only and its time is scaled to
n (reported as such). Timings exclude compilation (reported apart) and are medians. scipy
stops at its default gradient tolerance (``gtol`` 1e-5), looser than our Cauchy criterion;
``--scipy-gtol 1e-10`` asks it for about the accuracy ours reaches.
"""

from __future__ import annotations

import argparse
import time

import jax

from lio.run.experiment import enable_float64

enable_float64()  # as in the workflow: float64 data and BFGS, full-precision float32 matmuls

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import scipy.optimize  # noqa: E402
from common import load_config, median_time, write  # noqa: E402

from lio.run.spec import bfgs_settings, problem_of  # noqa: E402
from lio.methods.bfgs import bfgs_on_problems  # noqa: E402
from lio.analysis.provenance import device, provenance  # noqa: E402


def scipy_loop(problem, problems, y0, examples: int, max_iterations: int, gtol: float):
    value_and_grad = jax.jit(jax.value_and_grad(problem.loss))
    jax.block_until_ready(value_and_grad(y0[0], problems.condition[0], problems.observed[0]))
    losses, iterations = [], []
    start = time.perf_counter()
    for i in range(examples):
        condition, observed = problems.condition[i], problems.observed[i]

        def fun(x, condition=condition, observed=observed):
            value, grad = value_and_grad(jnp.asarray(x), condition, observed)
            return float(value), np.asarray(grad)

        result = scipy.optimize.minimize(
            fun, np.asarray(y0[i]), jac=True, method="BFGS", options={"maxiter": max_iterations, "gtol": gtol}
        )
        losses.append(result.fun)
        iterations.append(result.nit)
    return time.perf_counter() - start, np.asarray(losses), np.asarray(iterations)


def compare(problem, problems, settings, scipy_examples: int, repeats: int, gtol: float) -> dict:
    n = problems.n
    y0 = jnp.broadcast_to(problem.prior_mean, (n, problem.num_parameters))
    outcome, first_call = bfgs_on_problems(problem, problems, y0, settings)
    batched = median_time(lambda: bfgs_on_problems(problem, problems, y0, settings)[0].loss, repeats)
    m = min(scipy_examples, n)
    scipy_time, scipy_losses, scipy_iterations = scipy_loop(
        problem, problems, y0, m, settings.max_iterations, gtol
    )
    scipy_time_n = scipy_time * n / m
    ours = np.asarray(outcome.loss)[:m]
    tolerance = 1e-12 + 1e-6 * np.maximum(np.abs(ours), np.abs(scipy_losses))
    # scipy's line search can step into a region where the simulator overflows (loss NaN):
    # such an example counts as ours being lower whenever ours is finite.
    lower_or_equal = (ours <= scipy_losses + tolerance) | (np.isfinite(ours) & ~np.isfinite(scipy_losses))
    iterations = np.asarray(outcome.iterations)
    return {
        "n": n,
        "batched_bfgs_s": batched,
        "batched_bfgs_first_call_s": first_call,
        "batched_iterations_mean": float(np.mean(outcome.iterations)),
        "batched_iterations_max": int(np.max(outcome.iterations)),
        "scipy_examples_timed": m,
        "scipy_gtol": gtol,
        "scipy_loop_s_for_n": scipy_time_n,
        "scipy_iterations_mean": float(np.mean(scipy_iterations)),
        "speedup": scipy_time_n / batched,
        # Where the time goes: the vmapped loop runs until its slowest example stops, so its
        # cost is max iterations x one batched iteration; scipy pays per example-iteration.
        "batched_s_per_iteration_of_all_n": batched / max(int(np.max(iterations)), 1),
        "scipy_s_per_example_iteration": scipy_time / max(int(np.sum(scipy_iterations)), 1),
        "batched_mean_loss_on_timed": float(np.mean(ours)),
        "scipy_mean_loss_on_timed": float(np.mean(scipy_losses)),
        "scipy_nonfinite_on_timed": int(np.sum(~np.isfinite(scipy_losses))),
        "scipy_finite_mean_loss_on_timed": float(np.mean(scipy_losses[np.isfinite(scipy_losses)])),
        "batched_mean_loss_where_scipy_finite": float(np.mean(ours[np.isfinite(scipy_losses)])),
        "batched_lower_or_equal_fraction": float(np.mean(lower_or_equal)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", nargs="*", default=[])
    parser.add_argument("--experiments", nargs="*", default=None)
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--scipy-examples", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scipy-gtol", type=float, default=1e-5, help="scipy's gradient tolerance")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    config = load_config(args.configfile)
    numbers = {"device": device(), "experiments": {}}
    for experiment in args.experiments or list(config["experiments"]):
        # The experiment's own settings, as its workflow jobs run them (e.g. the fluid's
        # per-platform batch size), not the global block alone.
        settings = bfgs_settings(config, experiment)
        problem = problem_of(config, experiment)
        problems = problem.sample(jax.random.PRNGKey(0), args.n)
        print(f"[{experiment}] n = {args.n} ...", flush=True)
        numbers["experiments"][experiment] = {
            "bfgs_batch_size": settings.batch_size,
            **compare(problem, problems, settings, args.scipy_examples, args.repeats, args.scipy_gtol),
        }
        print(numbers["experiments"][experiment], flush=True)
    numbers["provenance"] = provenance({"configfiles": args.configfile})
    write(numbers, "bfgs_vs_scipy", args.out)


if __name__ == "__main__":
    main()
