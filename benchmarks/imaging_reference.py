"""Imaging reference numbers (issue 38): every imaging method on held-out phantoms, on 2 CPU cores.

For an imaging experiment of the config (CT by default; ``--experiment mri``), with its problem,
its L-BFGS settings and each method's own config block, this script reconstructs ``--test``
held-out phantoms (seed 2000: neither the calibration seed 1000 nor the evaluation seeds) with

- ``classical``: the problem's classical reconstruction (CT: filtered back-projection, MRI:
  zero-filled inverse FFT), clipped to the prior's box;
- ``tv``: L-BFGS on the MAP loss (TV at the config's weight, chosen on calibration images by
  ``benchmarks/tv_baseline.py``) from the prior's mean image, in the box (the workflow's
  ``bfgs`` method);
- every learned method named in ``--methods`` that the experiment configures, trained as the
  workflow trains it. Methods that learn from labels (supervised U-Net on the classical
  reconstruction, learned gradient descent in mode ``supervised``, the diffusion prior) train on
  ``--train`` generated phantoms (seed 3000), apart from the test set, in minibatches of the
  config's ``training.batch_size``; the reparameterized U-Net trains jointly on the test
  problems themselves (no labels, the paper's Eq. 2);

and gives, per method, mean PSNR and SSIM with 95 % percentile-bootstrap intervals over the test
images, the same after L-BFGS refinement (the paper refines every estimate; on a convex MAP loss
refinement ends near TV's minimum whatever the start), and the training wall time.
``--train-sizes 32 64 320`` adds learned gradient descent's PSNR against its training-set size
(Baguer, Leuschner & Schmidt 2020 report it at 128 x 128 for 32 ... 32 000 images).
``--steps`` overrides every learned method's Adam steps (a shorter look); the default is the
config's.

    python benchmarks/imaging_reference.py [--experiment ct] [--methods supervised learned_gradient]
        [--test 32] [--train 1024] [--train-sizes 32 64 320] [--steps N] [--out FILE]
    python benchmarks/imaging_reference.py --quick   # size 16, 3 steps, two methods; used by a test

Prints one line per measurement and writes all of them as JSON
(default ``benchmarks/results/<experiment>_imaging_reference-cpu.json``).
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import load_config, write  # noqa: E402

from lio.analysis.bootstrap import mean_interval  # noqa: E402
from lio.analysis.provenance import provenance  # noqa: E402
from lio.methods import make_method, refine_seeds  # noqa: E402
from lio.run import experiment, spec  # noqa: E402

TEST_SEED, TRAIN_SEED = 2000, 3000
LEARNED = ("supervised", "learned_gradient", "diffusion", "reparameterized")


def summary(problem, solution, problems, resamples: int = 2000) -> dict:
    """Mean PSNR / SSIM with 95 % bootstrap intervals over the images."""
    metrics = problem.quality(np.asarray(solution), np.asarray(problems.solution))
    out = {}
    for name in ("psnr", "ssim"):
        mean, low, high = mean_interval(np.asarray(metrics[name], float), 0.95, resamples, 0)
        out[name] = {"mean": mean, "low": low, "high": high}
    return out


def line(label: str, row: dict) -> str:
    psnr, ssim = row["psnr"], row["ssim"]
    return (f"{label:<34} PSNR {psnr['mean']:6.2f} dB [{psnr['low']:.2f}, {psnr['high']:.2f}]"
            f"  SSIM {ssim['mean']:.3f} [{ssim['low']:.3f}, {ssim['high']:.3f}]")


def run_method(resolved, name: str, options: dict, problem, test, training, settings) -> dict:
    method = make_method(name, options, settings)
    method.check(problem)
    labelled = training if method.needs_training_set else None
    start = time.perf_counter()
    estimate = method.solve(problem, test, labelled, jax.random.PRNGKey(0))
    seconds = time.perf_counter() - start
    refined = refine_seeds(problem, [test], [estimate], settings)[0]
    curve = np.asarray(estimate.curve, float)
    return {
        "own": summary(problem, estimate.solution, test),
        "refined": summary(problem, refined.solution, test),
        "training_s": seconds,
        "step_s": estimate.extra.get("step_time_s"),
        "steps": options.get("training", {}).get("steps"),
        "batch_size": options.get("training", {}).get("batch_size", 0),
        "train_images": None if labelled is None else int(labelled.n),
        "curve_first_last": [float(curve[0]), float(curve[np.isfinite(curve)][-1])] if curve.size else None,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configfile", nargs="*", default=[])
    parser.add_argument("--experiment", default="ct")
    parser.add_argument("--methods", nargs="*", default=list(LEARNED))
    parser.add_argument("--test", type=int, default=32)
    parser.add_argument("--train", type=int, default=None,
                        help="labelled training images (default: the experiment's training_set_size)")
    parser.add_argument("--train-sizes", nargs="*", type=int, default=[])
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    experiment.enable_float64()
    config = load_config(args.configfile)
    if args.quick:
        config = copy.deepcopy(config)
        config["experiments"][args.experiment]["params"]["size"] = 16
        args.test, args.train, args.steps = 4, 8, 3
        args.methods, args.train_sizes = ["supervised", "learned_gradient"], [4]
    resolved = spec.resolve(config, args.experiment)
    problem = resolved.make_problem()
    settings = resolved.bfgs_settings()
    train_size = args.train or spec.block(config, args.experiment).get("training_set_size") or 1024
    test = problem.sample(jax.random.PRNGKey(TEST_SEED), args.test)
    training = problem.sample_training_set(jax.random.PRNGKey(TRAIN_SEED), train_size)
    numbers: dict = {"experiment": args.experiment, "test_images": args.test,
                     "train_images": train_size, "methods": {}, "train_sizes": {}}

    classical = jax.vmap(problem.network_input)(test.observed, test.condition)
    lower, upper = problem.bounds
    classical = jnp.clip(classical.reshape(test.n, -1), lower, upper)
    numbers["methods"]["classical"] = {"own": summary(problem, classical, test)}
    print(line("classical reconstruction", numbers["methods"]["classical"]["own"]), flush=True)

    start = time.perf_counter()
    tv = run_method(resolved, "bfgs", resolved.method_options("bfgs"), problem, test, None, settings)
    tv["training_s"] = time.perf_counter() - start
    numbers["methods"]["tv"] = tv
    print(line("TV (L-BFGS in the box)", tv["own"]) + f"  {tv['training_s']:.0f} s", flush=True)

    configured = spec.block(config, args.experiment)["methods"]
    for name in args.methods:
        if name not in configured:
            print(f"{name}: not configured on {args.experiment}; skipped", flush=True)
            continue
        options = resolved.method_options(name)
        if args.steps:
            options["training"] = {**options.get("training", {}), "steps": args.steps}
        row = run_method(resolved, name, options, problem, test, training, settings)
        numbers["methods"][name] = row
        print(line(name, row["own"]) + f"  {row['training_s']:.0f} s", flush=True)
        print(line(f"{name} + L-BFGS", row["refined"]), flush=True)

    if args.train_sizes and "learned_gradient" in configured:
        options = resolved.method_options("learned_gradient")
        if args.steps:
            options["training"] = {**options.get("training", {}), "steps": args.steps}
        for size in args.train_sizes:
            subset = jax.tree.map(lambda leaf: leaf[:size], training)
            row = run_method(resolved, "learned_gradient", options, problem, test, subset, settings)
            numbers["train_sizes"][str(size)] = row
            print(line(f"learned_gradient, {size} images", row["own"]), flush=True)

    numbers["provenance"] = provenance({"experiment": spec.block(config, args.experiment)})
    if args.quick and args.out is None:
        return numbers
    write(numbers, f"{args.experiment}_imaging_reference", args.out)
    return numbers


if __name__ == "__main__":
    main()
