"""BFGS on raw parameters against BFGS through the scaled tanh (``bfgs.parameterization``).

Per experiment, on problem sets of seeds outside the sweep's: mean loss L/n, median distance
moved from the start and share of examples that end further from the truth than the start (both
in units of the box), median iterations, share in the truth's basin (``Problem.in_basin``),
share of estimates outside the prior's box, and median error to the truth (box widths). The
networks' outputs pass through the same tanh, so ``tanh`` is BFGS on the networks' terms. The paper (§4.1): BFGS "moves a considerable distance in the first iteration and then quickly
halts", leaving "many solutions ... further from the actual optimum than the initial guess".

    python benchmarks/bfgs_parameterization.py [--experiments wavepacket billiards] [--n 64]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lio.run import experiment, spec  # noqa: E402
from lio.methods import make_method  # noqa: E402


def measure(config: dict, name: str, n: int, seeds: list[int], parameterization: str) -> dict:
    problem = spec.problem_of(config, name)
    rows = []
    for seed in seeds:
        key_problems, _, key_init = experiment.keys(seed, n)
        problems = problem.sample(key_problems, n)
        settings = dataclasses.replace(spec.bfgs_settings(config, name), parameterization=parameterization)
        outcome = make_method("bfgs", {}, settings).solve(problem, problems, None, key_init)
        lower, upper = (np.asarray(b, float) for b in problem.bounds)
        width = upper - lower
        start = np.asarray(problem.prior_mean, float)
        truth = np.asarray(problems.solution)
        moved = np.max(np.abs(outcome.solution - start) / width, axis=-1)
        further = np.max(np.abs(outcome.solution - truth) / width, axis=-1) > np.max(
            np.abs(start - truth) / width, axis=-1
        )
        rows.append(
            [
                float(np.mean(outcome.loss)),
                float(np.median(moved)),
                float(np.mean(further)),
                float(np.median(outcome.iterations)),
                float(np.mean(problem.in_basin(outcome.solution, truth))),
                float(np.mean(np.any((outcome.solution < lower) | (outcome.solution > upper), axis=-1))),
                float(np.median(np.max(np.abs(outcome.solution - truth) / width, axis=-1))),
            ]
        )
    mean = np.mean(rows, axis=0)
    keys = ("loss_per_problem", "median_move", "further_than_start", "median_iterations", "in_basin",
            "outside_box", "median_error")
    return dict(zip(keys, map(float, mean)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", default="config/config.yaml")
    parser.add_argument("--experiments", nargs="+",
                        default=["wavepacket", "billiards", "kuramoto_sivashinsky", "navier_stokes"])
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--seeds", type=int, nargs="+", default=[100, 101])
    parser.add_argument("--out", default="benchmarks/results/bfgs_parameterization.json")
    args = parser.parse_args()
    experiment.enable_float64()
    config = yaml.safe_load(Path(args.configfile).read_text())
    record = {"n": args.n, "seeds": args.seeds, "experiments": {}}
    for name in args.experiments:
        record["experiments"][name] = {}
        for parameterization in ("raw", "tanh"):
            result = measure(config, name, args.n, args.seeds, parameterization)
            record["experiments"][name][parameterization] = result
            print(
                f"{name:22s} {parameterization:4s}: L/n {result['loss_per_problem']:.4g}  "
                f"median move {result['median_move']:.3f} of the box  further than start "
                f"{result['further_than_start']:.2f}  median iterations "
                f"{result['median_iterations']:.0f}  in basin {result['in_basin']:.2f}  outside the box "
                f"{result['outside_box']:.2f}  median error {result['median_error']:.3f}",
                flush=True,
            )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
