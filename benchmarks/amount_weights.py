"""The TV weight at each amount of an imaging experiment's observation axis.

A weight tuned for one amount of data is wrong at another: the misfit sums over the
observations, so its scale moves with their number, and fewer observations leave more of the
image to the prior (on CT the best weight measured shrinks from 90 angles to 6). For every
amount of ``experiments.<experiment>.observations.amounts`` this runs the classical baseline
(L-BFGS in the prior's box from the prior's mean image, the config's TV smoothing and L-BFGS
settings) on the calibration set (seed 1000, n = 16, as ``benchmarks/tv_baseline.py`` draws it)
for each weight of a quarter-decade grid, widened until the best weight is interior, and
chooses the weight of best mean PSNR. The evaluation seeds are never used.

    python benchmarks/amount_weights.py [--experiment ct] [--n 16] [--out FILE]

Prints each measurement and the ``reg_weights`` mapping for the axis's config block, and writes
JSON (default ``benchmarks/results/<experiment>_amount_weights-<platform>.json``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import load_config, write  # noqa: E402
from tv_baseline import problem_sets, tv  # noqa: E402

from lio.analysis.provenance import provenance  # noqa: E402
from lio.methods import BFGSSettings  # noqa: E402
from lio.problems import make_problem  # noqa: E402
from lio.run import experiment, spec  # noqa: E402


def grid_point(index: int) -> float:
    """The quarter-decade grid 10^(k/4), rounded to two digits (1.0e-3, 1.8e-3, 3.2e-3, 5.6e-3)."""
    return float(f"{10 ** (index / 4):.1e}")


def best_weight(problem, sets: dict, name: str, settings: BFGSSettings, start: int, label: str) -> dict:
    """Walk the grid from 10^(start/4) until a weight beats both neighbours; every trial's PSNR."""
    trials: dict[int, dict] = {}

    def trial(index: int) -> float:
        if index not in trials:
            weight = grid_point(index)
            result = tv(problem.replace(reg_weight=weight), sets, [name], settings)
            row = result["sets"][name]
            trials[index] = {"reg_weight": weight, "psnr": row["psnr"], "ssim": row["ssim"],
                             "iterations_median": row["iterations_median"], "seconds": result["seconds"]}
            print(f"{label}: weight {weight:.1e}  {row['psnr']:.2f} dB / {row['ssim']:.3f}  "
                  f"({result['seconds']:.1f} s)", flush=True)
        return trials[index]["psnr"]

    for index in (start - 1, start, start + 1):
        trial(index)
    while True:
        at = max(trials, key=lambda i: trials[i]["psnr"])
        if at == min(trials):
            trial(at - 1)
        elif at == max(trials):
            trial(at + 1)
        else:
            break
    return {"chosen": trials[at]["reg_weight"], "psnr": trials[at]["psnr"],
            "trials": [trials[i] for i in sorted(trials)]}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="ct", choices=["ct", "mri"])
    parser.add_argument("--configfile", nargs="*", default=[], help="merged over config/config.yaml")
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--calibration-seed", type=int, default=1000)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    experiment.enable_float64()
    config = load_config(args.configfile)
    block = config["experiments"][args.experiment]
    amounts = (block.get("observations") or {}).get("amounts") or []
    if not amounts:
        raise SystemExit(f"experiments.{args.experiment}.observations.amounts is empty: nothing to tune")
    axis = spec.axes_in(config)[args.experiment]
    settings = spec.bfgs_settings(config, args.experiment)
    base = spec.problem_of(config, args.experiment)
    start = int(round(4 * np.log10(base.reg_weight)))
    record: dict = {"experiment": args.experiment, "parameter": axis.parameter, "n": args.n,
                    "calibration_seed": args.calibration_seed, "amounts": {}}
    for amount in [block["params"][axis.parameter], *amounts]:
        params = {**block["params"], axis.parameter: spec._amount_value(type(base), axis.parameter, amount)}
        problem = make_problem(block["problem"], params)
        sets = problem_sets(problem, args.n, args.calibration_seed, [])
        name = next(iter(sets))
        label = f"{axis.parameter} {spec.amount_label(amount)}"
        record["amounts"][spec.amount_label(amount)] = best_weight(problem, sets, name, settings, start, label)
        print(f"{label}: chosen weight {record['amounts'][spec.amount_label(amount)]['chosen']:.1e}", flush=True)
    weights = {spec.amount_label(a): record["amounts"][spec.amount_label(a)]["chosen"] for a in amounts}
    record["reg_weights"] = weights
    record["provenance"] = provenance({"experiment": block})
    write(record, f"{args.experiment}_amount_weights", args.out)
    print("observations.reg_weights: {" + ", ".join(f"{a}: {w:.1e}" for a, w in weights.items()) + "}")
    return record


if __name__ == "__main__":
    main()
