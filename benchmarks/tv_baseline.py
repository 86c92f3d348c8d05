"""The imaging experiments' classical TV baseline: the box, the TV smoothing and the weight.

For an imaging experiment of the config (CT by default; MRI with ``--experiment mri``) it
measures, with the experiment's own L-BFGS settings from the prior's mean image:

1. on the calibration set (seed 1000, n = 16, drawn as ``benchmarks/regularization.py`` draws
   it), TV with the prior's box (``bfgs.parameterization: projected``): every weight of a
   quarter-decade grid at the largest TV smoothing of ``--smoothings``, then each smaller
   smoothing on the grid from the last one's best weight outwards until a weight beats both its
   neighbours (or the grid ends). The smoothing chosen is the largest within
   ``--smoothing-tolerance`` dB of the best (a larger one converges in fewer iterations);
2. at that smoothing, every weight of the grid with the box on the calibration set and the
   held-out sets (seeds 0 and 1, n = 16 each, drawn as the workflow draws them,
   ``lio.run.experiment.keys``), and without the box (``raw``) on all three. The weight chosen is
   the calibration set's best mean PSNR with the box; the classical reconstruction (FBP /
   zero-filling) and the config's own setting on each set for comparison;
3. at the chosen setting, TV's mean PSNR against iterations (with and without the box), the
   scaled tanh (``parameterization: tanh``), and scipy's L-BFGS-B run to a tight tolerance on the
   same objective and box (is L-BFGS converged?).

Never the evaluation seeds for a choice: held-out seeds 0 and 1 only show how it transfers.

    python benchmarks/tv_baseline.py [--experiment ct] [--n 16] [--out FILE]

Prints each measurement and writes all of them as JSON
(default ``benchmarks/results/<experiment>_tv_baseline-cpu.json``).
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
import scipy.optimize

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import load_config  # noqa: E402

from lio.run import experiment, spec  # noqa: E402
from lio.methods import BFGSSettings, bfgs_on_problems, minimize_batch  # noqa: E402

# Quarter-decade steps (10^(k/4), two digits), an eighth-decade step 1.3e-3 where CT's optimum lies.
DEFAULT_WEIGHTS = [3.2e-4, 5.6e-4, 1.0e-3, 1.3e-3, 1.8e-3, 3.2e-3, 5.6e-3]
DEFAULT_SMOOTHINGS = [1e-2, 3e-3, 1e-3, 3e-4, 1e-4]
CHECKPOINTS = [0, 1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 700, 1000]


def problem_sets(problem, n: int, calibration_seed: int, heldout_seeds: list[int]) -> dict:
    sets = {f"calibration{calibration_seed}": problem.sample(jax.random.PRNGKey(calibration_seed), n)}
    for seed in heldout_seeds:
        sets[f"seed{seed}"] = problem.sample(experiment.keys(seed, n)[0], n)
    return sets


def quality(problem, solution, problems) -> dict:
    metrics = problem.quality(np.asarray(solution), np.asarray(problems.solution))
    return {"psnr": float(np.nanmean(metrics["psnr"])), "ssim": float(np.nanmean(metrics["ssim"]))}


def tv(problem, sets: dict, names: list[str], settings: BFGSSettings) -> dict:
    """(L-)BFGS from the prior mean on the sets ``names``, as one batch; quality per set."""
    joined = jax.tree.map(lambda *leaves: jnp.concatenate(leaves), *(sets[k] for k in names))
    start = jnp.broadcast_to(problem.prior_mean, joined.solution.shape)
    outcome, seconds = bfgs_on_problems(problem, joined, start, settings)
    rows, begin = {}, 0
    for name in names:
        end = begin + sets[name].n
        rows[name] = {
            **quality(problem, outcome.solution[begin:end], sets[name]),
            "loss_mean": float(jnp.mean(outcome.loss[begin:end])),
            "iterations_median": float(jnp.median(outcome.iterations[begin:end])),
            "iterations_max": int(jnp.max(outcome.iterations[begin:end])),
            "converged": float(jnp.mean(outcome.status[begin:end] == 0)),
        }
        begin = end
    return {"sets": rows, "seconds": seconds, "outcome": outcome}


def report(label: str, result: dict) -> None:
    cells = "  ".join(f"{k} {v['psnr']:.2f} dB / {v['ssim']:.3f}" for k, v in result["sets"].items())
    first = next(iter(result["sets"].values()))
    print(f"{label}: {cells}  (median iterations {first['iterations_median']:.0f}, "
          f"{result['seconds']:.1f} s)", flush=True)


def psnr_curve(problem, problems, settings: BFGSSettings, parameterization: str) -> dict:
    """Mean PSNR of the iterate after k accepted iterations (the box's range as peak)."""
    lower, upper = (np.asarray(b) for b in problem.bounds)
    peak = float(np.max(upper) - np.min(lower))
    monitor = lambda y, p: 10 * jnp.log10(peak**2 / jnp.mean((y - p.solution) ** 2))  # noqa: E731
    boxed = parameterization == "projected"
    start = jnp.broadcast_to(problem.prior_mean, problems.solution.shape)
    # The problem is an argument, not a closure: its operator stays a buffer, not a constant.
    outcome = jax.jit(lambda prob, y0, ps: minimize_batch(
        lambda y, p: prob.loss(y, p.condition, p.observed), y0, ps, settings, monitor=monitor,
        bounds=prob.bounds if boxed else None))(problem, start, problems)
    curve = np.asarray(jnp.mean(outcome.history, axis=0))
    return {str(k): float(curve[k]) for k in CHECKPOINTS if k < len(curve)}


def scipy_check(problem, problems, ours) -> dict:
    """scipy's L-BFGS-B on the same objective and box, to a tight tolerance, per example."""
    value_and_grad = jax.jit(jax.value_and_grad(problem.loss))
    bounds = list(zip(*(np.asarray(b) for b in problem.bounds), strict=True))
    solutions, losses, iterations = [], [], []
    for i in range(problems.n):
        def fun(x, i=i):
            value, grad = value_and_grad(jnp.asarray(x), problems.condition[i], problems.observed[i])
            return float(value), np.asarray(grad)

        result = scipy.optimize.minimize(
            fun, np.asarray(problem.prior_mean), jac=True, method="L-BFGS-B", bounds=bounds,
            options={"maxiter": 20000, "maxfun": 40000, "gtol": 1e-10, "ftol": 1e-15},
        )
        solutions.append(result.x)
        losses.append(result.fun)
        iterations.append(result.nit)
    losses = np.array(losses)
    gap = (np.asarray(ours.loss) - losses) / losses
    return {
        **quality(problem, np.stack(solutions), problems),
        "iterations_median": float(np.median(iterations)),
        "relative_loss_gap_mean": float(np.mean(gap)),
        "relative_loss_gap_max": float(np.max(gap)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="ct", choices=["ct", "mri"])
    parser.add_argument("--configfile", nargs="*", default=[], help="merged over config/config.yaml")
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--calibration-seed", type=int, default=1000)
    parser.add_argument("--heldout-seeds", type=int, nargs="*", default=[0, 1])
    parser.add_argument("--weights", type=float, nargs="+", default=DEFAULT_WEIGHTS)
    parser.add_argument("--smoothings", type=float, nargs="+", default=DEFAULT_SMOOTHINGS)
    parser.add_argument("--smoothing-tolerance", type=float, default=0.05,
                        help="dB below the best smoothing's PSNR that a larger smoothing may lose")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    experiment.enable_float64()
    config = load_config(args.configfile)
    base = spec.problem_of(config, args.experiment)
    bfgs = {**config["bfgs"], **config["experiments"][args.experiment].get("bfgs", {})}
    settings = {p: BFGSSettings(**{**bfgs, "parameterization": p})
                for p in ("raw", "projected", "tanh")}
    sets = problem_sets(base, args.n, args.calibration_seed, args.heldout_seeds)
    calibration, *heldout = sets
    record: dict = {"settings": {**vars(args), "bfgs": bfgs, "params": {
        k: v for k, v in config["experiments"][args.experiment]["params"].items()
        if k not in ("reg_weight", "tv_smoothing")}}, "device": str(jax.devices()[0])}

    classical = {}
    box = [np.asarray(b) for b in base.bounds]
    for name, problems in sets.items():
        images = jax.jit(jax.vmap(base.network_input))(problems.observed, problems.condition)
        images = np.asarray(images).reshape(problems.n, -1)
        classical[name] = {"raw": quality(base, images, problems),
                           "clipped_to_box": quality(base, np.clip(images, *box), problems)}
        print(f"{name}: classical reconstruction {classical[name]['raw']['psnr']:.2f} dB, clipped "
              f"to the box {classical[name]['clipped_to_box']['psnr']:.2f} dB", flush=True)
    record["classical"] = classical
    configured = tv(base, sets, list(sets), BFGSSettings(**bfgs))
    report(f"the config's own setting ({bfgs.get('parameterization', 'raw')}, smoothing "
           f"{base.tv_smoothing:g}, weight {base.reg_weight:g})", configured)
    record["config_setting"] = {"parameterization": bfgs.get("parameterization", "raw"),
                                "tv_smoothing": base.tv_smoothing, "reg_weight": base.reg_weight,
                                "sets": configured["sets"], "seconds": configured["seconds"]}

    # 1. with the box, on the calibration set: the weight grid at the largest smoothing, then
    # each smaller smoothing around the best weight so far
    grid = []

    def calibrate(smoothing: float, weight: float) -> dict:
        problem = base.replace(reg_weight=weight, tv_smoothing=smoothing)
        result = tv(problem, sets, [calibration], settings["projected"])
        report(f"box, smoothing {smoothing:g}, weight {weight:g}", result)
        grid.append({"tv_smoothing": smoothing, "reg_weight": weight, "seconds": result["seconds"],
                     **result["sets"][calibration]})
        return grid[-1]

    smoothings = sorted(args.smoothings, reverse=True)
    first = max((calibrate(smoothings[0], w) for w in args.weights), key=lambda r: r["psnr"])
    at = args.weights.index(first["reg_weight"])
    for smoothing in smoothings[1:]:
        # A smaller smoothing can move the best weight (MRI: up): walk the grid from the last
        # best until a weight beats both its neighbours or the grid ends.
        psnr = {i: calibrate(smoothing, args.weights[i])["psnr"]
                for i in range(max(at - 1, 0), min(at + 2, len(args.weights)))}
        at = max(psnr, key=psnr.get)
        while at in (min(psnr), max(psnr)) and 0 < at < len(args.weights) - 1:
            step = at - 1 if at == min(psnr) else at + 1
            psnr[step] = calibrate(smoothing, args.weights[step])["psnr"]
            at = max(psnr, key=psnr.get)
    best = {s: max((r for r in grid if r["tv_smoothing"] == s), key=lambda r: r["psnr"])
            for s in smoothings}
    top = max(r["psnr"] for r in best.values())
    smoothing = max(s for s, r in best.items() if r["psnr"] >= top - args.smoothing_tolerance)
    print(f"chosen smoothing {smoothing:g} ({best[smoothing]['psnr']:.2f} dB on {calibration}; "
          f"best of all smoothings {top:.2f} dB)", flush=True)
    record["smoothing_grid"] = grid

    # 2. at the chosen smoothing, every weight: the held-out sets with the box, every set
    # without it; the weight is the calibration set's best with the box
    weights = []
    for w in args.weights:
        problem = base.replace(reg_weight=w, tv_smoothing=smoothing)
        cell = next((r for r in grid if r["tv_smoothing"] == smoothing and r["reg_weight"] == w), None)
        cell = cell or calibrate(smoothing, w)
        boxed = tv(problem, sets, heldout, settings["projected"]) if heldout else {"sets": {}, "seconds": 0.0}
        boxed["sets"] = {calibration: {k: v for k, v in cell.items() if k not in (
            "tv_smoothing", "reg_weight", "seconds")}, **boxed["sets"]}
        report(f"box, smoothing {smoothing:g}, weight {w:g}", boxed)
        free = tv(problem, sets, list(sets), settings["raw"])
        report(f"no box, smoothing {smoothing:g}, weight {w:g}", free)
        weights.append({"reg_weight": w, "box": boxed["sets"], "no_box": free["sets"]})
    record["weights"] = weights
    chosen = max(weights, key=lambda r: r["box"][calibration]["psnr"])
    free_best = max(weights, key=lambda r: r["no_box"][calibration]["psnr"])
    weight = chosen["reg_weight"]
    interior = args.weights[0] < weight < args.weights[-1]
    record["chosen"] = {"tv_smoothing": smoothing, "reg_weight": weight, "interior": interior,
                        "no_box_reg_weight": free_best["reg_weight"]}
    print(f"chosen: smoothing {smoothing:g}, weight {weight:g} "
          f"({chosen['box'][calibration]['psnr']:.2f} dB on {calibration}, "
          f"{'interior' if interior else 'AT THE GRID EDGE: widen --weights'}); "
          f"without the box the best weight is {free_best['reg_weight']:g} "
          f"({free_best['no_box'][calibration]['psnr']:.2f} dB)", flush=True)

    # 3. the chosen setting: PSNR against iterations, tanh, scipy's L-BFGS-B
    problem = base.replace(reg_weight=weight, tv_smoothing=smoothing)
    record["psnr_vs_iterations"] = {
        "box": psnr_curve(problem, sets[calibration], settings["projected"], "projected"),
        "no_box": psnr_curve(base.replace(reg_weight=free_best["reg_weight"], tv_smoothing=smoothing),
                             sets[calibration], settings["raw"], "raw"),
    }
    for label, curve in record["psnr_vs_iterations"].items():
        print(f"PSNR vs iterations, {label}: "
              + ", ".join(f"{k}: {v:.2f}" for k, v in curve.items()), flush=True)
    tanh = tv(problem, sets, list(sets), settings["tanh"])
    report(f"tanh, weight {weight:g}", tanh)
    record["tanh"] = {"sets": tanh["sets"], "seconds": tanh["seconds"]}
    ours = tv(problem, sets, [calibration], settings["projected"])["outcome"]
    start = time.perf_counter()
    record["scipy_lbfgsb"] = scipy_check(problem, sets[calibration], ours)
    record["scipy_lbfgsb"]["seconds"] = time.perf_counter() - start
    print(f"scipy L-BFGS-B on {calibration}: {record['scipy_lbfgsb']['psnr']:.2f} dB, our loss "
          f"above its by {record['scipy_lbfgsb']['relative_loss_gap_mean']:.2e} (mean), "
          f"{record['scipy_lbfgsb']['relative_loss_gap_max']:.2e} (max) relative", flush=True)

    out = Path(args.out or f"benchmarks/results/{args.experiment}_tv_baseline-cpu.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
