"""The calibration job: the paper's tuning policy for one (experiment, learned method).

Train at each rate of the descending ladder on the calibration problem sets, stop at the first
rate stable on all of them, and write every trial and the chosen rate as JSON. The criteria,
the ladder's sizes and the record's format live in lio.run.calibration; this module runs them.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from lio.analysis import health, results
from lio.analysis.provenance import provenance
from lio.run import calibration, spec
from lio.core.atomic import write_atomically
from lio.run.experiment import enable_float64, keys


def calibrate(
    config: dict[str, Any], experiment: str, method_name: str, data_paths: list[str], out_path: str
) -> None:
    """The paper's tuning policy for one (experiment, learned method): train at each rate of
    the descending ladder on the calibration problem sets, stop at the first rate stable on all
    of them (``lio.run.calibration``), and write every trial and the chosen rate as JSON."""
    from lio.methods import make_method

    enable_float64()
    problem = spec.problem_of(config, experiment)
    options = calibration.settings(config, experiment)
    base = dict(spec.block(config, experiment)["methods"][method_name] or {})
    settings = spec.bfgs_settings(config, experiment)
    sets = []
    for path in data_paths:
        data = results.open_dataset(path)
        sets.append((int(data.attrs["seed"]), int(data.attrs["n"]),
                     results.dataset_to_problem_set(data, "problems"),
                     results.dataset_to_problem_set(data, "training")))
    name = calibration.setting(config, experiment, method_name) or "learning_rate"
    if name != "learning_rate":
        # A method's own setting is chosen at the calibration n only (not per n).
        main_sets = [s for s in sets if s[1] == int(options["n"])] or sets
        return _calibrate_own_setting(
            experiment, method_name, name, problem, base, settings, main_sets, options, out_path
        )
    rates = [float(r) for r in options["learning_rates"]]
    trials, chosen_by_n, found_by_n = [], {}, {}
    ladder_by_n = {}
    for size in sorted({s[1] for s in sets}, reverse=True):
        # Each problem-set size walks the ladder on its own sets (calibration.per_n), largest
        # first; a smaller size starts at the rate the next larger one chose
        # (calibration.ladder_from).
        sized = [s for s in sets if s[1] == size]
        ladder = calibration.ladder_from(rates, chosen_by_n, found_by_n)
        ladder_by_n[size] = ladder
        for rate in ladder:
            training = {**base.get("training", {}), "learning_rate": rate}
            method = make_method(method_name, {**base, "training": training}, settings)
            for seed, n, problems, training_set in sized:
                _, _, key_init = keys(seed, n)
                estimate = method.solve(problem, problems, training_set, key_init)
                verdict = calibration.assess(estimate, problem, np.asarray(problems.solution), options)
                trials.append({"seed": seed, "n": n, "learning_rate": rate, **verdict})
                print(
                    f"[calibrate {experiment}/{method_name}] n {n} lr {rate:g} seed {seed}: "
                    f"{'stable' if verdict['stable'] else 'unstable'} (diverged {verdict['diverged']}, "
                    f"pinned {verdict['pinned']:.2f}, spread {verdict['spread']:.3f}, settled "
                    f"{verdict['settled']}, L/n {verdict['final_loss']:.6g})",
                    flush=True,
                )
            if all(t["stable"] for t in trials if t["learning_rate"] == rate and t["n"] == size):
                break  # the largest stable rate: smaller ones are not needed
        chosen_by_n[size], found_by_n[size] = calibration.choose(
            [t for t in trials if t["n"] == size], ladder
        )
        if not found_by_n[size]:
            print(
                f"[calibrate {experiment}/{method_name}] WARNING: no rate of {rates} trained stably "
                f"at n {size}; using the smallest, {chosen_by_n[size]:g}. Extend "
                "calibration.learning_rates downwards.",
                flush=True,
            )
    main = int(options["n"]) if int(options["n"]) in chosen_by_n else max(chosen_by_n)
    chosen, found = chosen_by_n[main], found_by_n[main]
    record = {
        "experiment": experiment,
        "method": method_name,
        "ladder": rates,
        "criterion": {k: options[k] for k in ("settle_window", "settle_tolerance")}
        | {"degenerate_pinned": health.DEGENERATE_PINNED,
           "degenerate_outside": health.DEGENERATE_OUTSIDE,
           "degenerate_spread": health.DEGENERATE_SPREAD},
        "seeds": [s[0] for s in sets],
        "n": sorted({s[1] for s in sets}),
        "steps": base.get("training", {}).get("steps"),
        "trials": trials,
        "chosen_learning_rate": chosen,
        "stable_rate_found": found,
        "chosen_by_n": {str(k): v for k, v in sorted(chosen_by_n.items())},
        "ladder_by_n": {str(k): v for k, v in sorted(ladder_by_n.items())},
        "found_by_n": {str(k): v for k, v in sorted(found_by_n.items())},
        **provenance({"calibration": options}),
    }
    write_atomically(out_path, json.dumps(record, indent=1))


def _calibrate_own_setting(
    experiment, method_name, name, problem, base, settings, sets, options, out_path
) -> None:
    """A method's own calibrated setting (``lio.run.calibration``: the diffusion prior's guidance):
    solve and refine at each value of its ladder on the calibration sets, choose the value of
    lowest median refined loss, and write every trial and the choice as JSON."""
    from lio.methods import make_method, refine

    values = [float(v) for v in options[calibration.LADDERS[name]]]
    method = make_method(method_name, base, settings)
    trials = []
    for seed, n, problems, training_set in sets:
        _, _, key_init = keys(seed, n)
        # One call per seed: a method may share the work that does not depend on the setting
        # (the diffusion prior trains its denoiser once for the whole ladder).
        ladder = method.solve_ladder(name, values, problem, problems, training_set, key_init)
        for value, estimate in zip(values, ladder, strict=True):
            refined = refine(problem, problems, estimate, settings) if method.refine else estimate
            finite = bool(np.all(np.isfinite(estimate.solution)) and np.all(np.isfinite(refined.loss)))
            trial = {
                "seed": seed, "n": n, name: value, "finite": finite,
                "median_loss": float(np.median(refined.loss)),
                "median_loss_unrefined": float(np.median(estimate.loss)),
            }
            trials.append(trial)
            print(
                f"[calibrate {experiment}/{method_name}] {name} {value:g} seed {seed}: median L "
                f"unrefined {trial['median_loss_unrefined']:.6g} refined {trial['median_loss']:.6g}"
                f"{'' if finite else ' (non-finite)'}",
                flush=True,
            )
    chosen, found = calibration.choose_lowest(trials, name, values)
    if not found:
        print(
            f"[calibrate {experiment}/{method_name}] WARNING: no {name} of {values} gave finite "
            f"estimates; using the smallest, {chosen:g}. Extend calibration."
            f"{calibration.LADDERS[name]} downwards.",
            flush=True,
        )
    record = {
        "experiment": experiment,
        "method": method_name,
        "setting": name,
        "ladder": values,
        "criterion": "lowest mean over seeds of the median refined true loss, every estimate finite; refined losses within a relative EQUAL_RTOL tie, the lowest median unrefined loss breaks it",
        "seeds": [s[0] for s in sets],
        "n": sorted({s[1] for s in sets}),
        "trials": trials,
        f"chosen_{name}": chosen,
        "found": found,
        **provenance({"calibration": options}),
    }
    write_atomically(out_path, json.dumps(record, indent=1))
