"""A first look at the diffusion prior against BFGS: guidance chosen on a calibration set, then
own and refined losses (and PSNR for imaging problems, with the network input, e.g. FBP) on an
evaluation set. Prints one JSON record.

    python benchmarks/diffusion_prior.py --experiment ct --params '{"size": 16, "num_angles": 8}' --n 8

The method's options come from config/config.yaml with config/quick.yaml's overrides (the
first-look sizes); ``--options`` (JSON) overrides them further. The guidance ladder is quick's
``calibration.guidance_scales`` (or ``--ladder``) walked on ``--calibration-seed``, as the
workflow's calibrate rule does, choosing the lowest median refined loss.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jax
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
jax.config.update("jax_enable_x64", True)

from lio.run import calibration  # noqa: E402
from lio.run.experiment import keys  # noqa: E402
from lio.run.spec import bfgs_settings, problem_of  # noqa: E402
from lio.methods import make_method, refine  # noqa: E402


def merged(base: dict, override: dict) -> dict:
    for key, value in override.items():
        base[key] = merged(base.get(key) or {}, value) if isinstance(value, dict) else value
    return base


def draw(problem, n, seed):
    key_problems, key_training, key_init = keys(seed, n)
    return problem.sample(key_problems, n), problem.sample_training_set(key_training, n), key_init


def run(method, problem, problems, training_set, key, settings):
    estimate = method.solve(problem, problems, training_set if method.needs_training_set else None, key)
    return estimate, refine(problem, problems, estimate, settings) if method.refine else estimate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="wavepacket")
    parser.add_argument("--params", default="{}", help="JSON overrides of the problem's params")
    parser.add_argument("--options", default="{}", help="JSON overrides of the diffusion options")
    parser.add_argument("--ladder", default=None, help="JSON list of guidance values")
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--calibration-seed", type=int, default=1000)
    args = parser.parse_args()

    config = merged(yaml.safe_load((ROOT / "config/config.yaml").read_text()),
                    yaml.safe_load((ROOT / "config/quick.yaml").read_text()))
    block = config["experiments"][args.experiment]
    block["params"] = {**(block.get("params") or {}), **json.loads(args.params)}
    problem = problem_of(config, args.experiment)
    settings = bfgs_settings(config, args.experiment)
    options = merged(block["methods"]["diffusion"], json.loads(args.options))
    options["training"]["log_every"] = 0  # stdout holds the JSON record only
    ladder = json.loads(args.ladder) if args.ladder else calibration.settings(config, args.experiment)["guidance_scales"]

    start = time.perf_counter()
    calibration_set = draw(problem, args.n, args.calibration_seed)
    trials = []
    for value in ladder:
        method = make_method("diffusion", {**options, "guidance": value}, settings)
        estimate, refined = run(method, problem, *calibration_set, settings)
        trials.append({"guidance": value, "seed": args.calibration_seed, "median_loss": float(np.median(refined.loss)),
                       "finite": bool(np.isfinite(refined.loss).all()),
                       "median_loss_unrefined": float(np.median(estimate.loss))})
    chosen, _ = calibration.choose_lowest(trials, "guidance", ladder)

    problems, training_set, key = draw(problem, args.n, args.seed)
    _, bfgs = run(make_method("bfgs", {}, settings), problem, problems, training_set, key, settings)
    own, refined = run(make_method("diffusion", {**options, "guidance": chosen}, settings),
                       problem, problems, training_set, key, settings)
    tolerance = config["comparison"]
    better = lambda loss: float(np.mean(loss < bfgs.loss - (tolerance["atol"] + tolerance["rtol"] * np.abs(bfgs.loss))))  # noqa: E731
    record = {
        "experiment": args.experiment, "params": block["params"], "n": args.n, "seed": args.seed,
        "options": options, "ladder": trials, "chosen_guidance": chosen,
        "bfgs_loss_per_n": float(np.mean(bfgs.loss)),
        "diffusion_own_loss_per_n": float(np.mean(own.loss)),
        "diffusion_refined_loss_per_n": float(np.mean(refined.loss)),
        "better_than_bfgs_own": better(own.loss), "better_than_bfgs_refined": better(refined.loss),
        "curve_first_last": [float(own.curve[0]), float(own.curve[-1])],
        "extra": own.extra,
    }
    truth = np.asarray(problems.solution)
    if problem.quality(np.asarray(bfgs.solution), truth):
        psnr = lambda solution: float(np.mean(problem.quality(np.asarray(solution), truth)["psnr"]))  # noqa: E731
        network_input = jax.vmap(problem.network_input)(problems.observed, problems.condition)
        record |= {"psnr_bfgs": psnr(bfgs.solution), "psnr_diffusion_own": psnr(own.solution),
                   "psnr_diffusion_refined": psnr(refined.solution),
                   "psnr_network_input": psnr(np.asarray(network_input).reshape(args.n, -1))}
    record["wall_time_s"] = time.perf_counter() - start
    print(json.dumps(record, indent=1, default=float))


if __name__ == "__main__":
    main()
