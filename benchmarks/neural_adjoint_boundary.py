"""Does the neural adjoint's boundary loss keep its search inside the prior's box?

    python benchmarks/neural_adjoint_boundary.py [--configfile ...] [--experiments ...]
        [--n 16] [--seed 0] [--steps 1000] [--out FILE]

Ren et al. 2020 add the boundary loss B to the surrogate's mean squared misfit. lio's search
once added it to the SUMMED squared misfit instead, which weakens B by the number of observed
values (wave packet 256, Kuramoto–Sivashinsky 800). Per experiment this runs the workflow's
neural adjoint (config options, problem set and training set of ``--seed`` at ``--n``) twice:
as configured (mean misfit + B), and with ``boundary_weight`` divided by the observation's size,
which has the same minimisers as the summed misfit + B. For each it prints and writes the share
of estimates outside the prior's box, the median error to the truth in box widths (largest over
the parameters) and the mean true loss L.
"""

from __future__ import annotations

import argparse

import numpy as np
from common import load_config, write

from lio.run import studies
from lio.run.experiment import enable_float64, keys
from lio.run.spec import bfgs_settings, problem_of
from lio.methods import make_method
from lio.analysis.provenance import provenance


def outcome(problem, problems, estimate) -> dict:
    lower, upper = (np.asarray(b, float) for b in problem.bounds)
    solution, truth = np.asarray(estimate.solution, float), np.asarray(problems.solution, float)
    error = np.max(np.abs(solution - truth) / (upper - lower), axis=1)
    return {
        "outside": float(np.mean(np.any((solution < lower) | (solution > upper), axis=1))),
        "median_error_box_widths": float(np.median(error)),
        "mean_loss": float(np.mean(estimate.loss)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", nargs="*", default=[])
    parser.add_argument("--experiments", nargs="*", default=["wavepacket", "billiards", "kuramoto_sivashinsky"])
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="surrogate Adam steps (default: config's)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    enable_float64()
    config = load_config(args.configfile)
    numbers = {"n": args.n, "seed": args.seed, "experiments": {}}
    for experiment in args.experiments:
        problem = problem_of(config, experiment)
        key_problems, key_training, key_init = keys(args.seed, args.n)
        problems, training = problem.sample(key_problems, args.n), problem.sample(key_training, args.n)
        options = dict(studies.block(config, experiment)["methods"]["neural_adjoint"])
        training_options = {**options.get("training", {}), "log_every": 0}
        if args.steps:
            training_options["steps"] = args.steps
        options["training"] = training_options
        weight = float(options.get("boundary_weight", 10.0))
        size = int(np.prod(problems.observed.shape[1:]))
        rows = {}
        for name, boundary in (("mean_misfit", weight), ("summed_misfit", weight / size)):
            method = make_method("neural_adjoint", {**options, "boundary_weight": boundary},
                                 bfgs_settings(config, experiment))
            rows[name] = outcome(problem, problems, method.solve(problem, problems, training, key_init))
        numbers["experiments"][experiment] = {"observed_values": size, "boundary_weight": weight, **rows}
    numbers["provenance"] = provenance({"configfiles": args.configfile})
    write(numbers, "neural_adjoint_boundary", args.out)


if __name__ == "__main__":
    main()
