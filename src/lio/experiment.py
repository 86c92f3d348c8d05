"""One function per workflow step: the Snakemake scripts are thin wrappers around these.

Precision: data, BFGS and refinement run in float64 (x64 is switched on here); networks train
in float32 (their inputs are cast at the network boundary).
"""

from __future__ import annotations

import contextlib
import io
import os
import resource
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jax
import numpy as np
import pandas as pd

from lio import calibration, health, metrics, results, studies
from lio.problems import Problem, make_problem
from lio.provenance import provenance

if TYPE_CHECKING:  # imported where used: data, aggregate and figure jobs skip the method code
    from lio.methods import BFGSSettings


def enable_float64() -> None:
    """float64 for data and BFGS, full-precision float32 matmuls for networks, and a
    persistent compilation cache shared by all jobs.

    Jobs of one (problem, method, n) differ only in their seed, so every seed after the first
    loads its compiled XLA programs from the cache instead of recompiling (seconds per job on
    CPU). ``LIO_JAX_CACHE`` moves the cache; an empty value switches it off.
    """
    jax.config.update("jax_enable_x64", True)
    # Full float32 (not TF32) matmuls and convolutions on GPUs, so GPU and CPU runs agree.
    jax.config.update("jax_default_matmul_precision", "highest")
    cache = os.environ.get("LIO_JAX_CACHE", str(Path.home() / ".cache" / "lio" / "jax"))
    if cache:
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)


def bfgs_settings(config: dict[str, Any], experiment: str | None = None) -> BFGSSettings:
    """The BFGS settings of the baseline, refinement and neural adjoint: the global ``bfgs``
    block, with ``experiment``'s own ``bfgs`` block over it when an experiment is given."""
    from lio.methods import BFGSSettings

    if experiment is None:
        return BFGSSettings(**config.get("bfgs", {}))
    return BFGSSettings(**studies.bfgs_options(config, studies.block(config, experiment)))


def problem_of(config: dict[str, Any], experiment: str) -> Problem:
    block = studies.block(config, experiment)
    return make_problem(block["problem"], block.get("params"))


def keys(seed: int, n: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(problem set, training set, network init) keys: a seed fixes all three, per n."""
    key = jax.random.fold_in(jax.random.PRNGKey(seed), n)
    return tuple(jax.random.split(key, 3))


def sample_data(config: dict[str, Any], experiment: str, n: int, seed: int, path: str) -> None:
    """Draw the problem set and the labelled training set of (experiment, n, seed)."""
    enable_float64()
    problem = problem_of(config, experiment)
    key_problems, key_training, _ = keys(seed, n)
    problems = problem.sample(key_problems, n)
    training_set = problem.sample_training_set(key_training, n)
    dataset = results.problem_set_to_dataset(problem, problems, "problems").merge(
        results.problem_set_to_dataset(problem, training_set, "training")
    )
    dataset.attrs.update(
        problem=experiment,
        n=n,
        seed=seed,
        **provenance({"experiment": studies.block(config, experiment)}),
    )
    results.write_atomic(dataset, path)


def solve(
    config: dict[str, Any],
    experiment: str,
    method_name: str,
    n: int,
    seed: int,
    data_path: str,
    out_path: str,
    calibration_path: str | None = None,
) -> None:
    """Run one method on one problem set, refine with BFGS, write the run's netCDF.

    With ``calibration_path`` (a ``calibrate`` output) the method trains at the learning rate
    chosen there instead of its config's ``training.learning_rate`` (or uses the value of its
    own calibrated setting, the diffusion prior's ``guidance``).
    """
    solve_group(
        config, experiment, method_name, n, [seed], [data_path], [out_path], calibration_path
    )


def solve_group(
    config: dict[str, Any],
    experiment: str,
    method_name: str,
    n: int,
    seeds: Sequence[int],
    data_paths: Sequence[str],
    out_paths: Sequence[str],
    calibration_path: str | None = None,
    benchmark_paths: Sequence[str] = (),
) -> None:
    """``solve`` for several seeds of one (experiment, method, n) in this one process
    (``compute.runs_per_job``): start-up is paid once and equal shapes compile once. Each
    seed writes its own run file, equal to a ``solve`` of that seed alone up to float
    round-off (tests/test_runs_per_job.py).

    Methods with ``batches_seeds`` (BFGS) solve the seeds' problems as one batch of
    ``len(seeds) * n`` independent examples; the others run seed after seed. Refinement is
    always one batch. A batched stage's wall time is shared equally among its seeds.
    ``benchmark_paths``: one per seed, written in Snakemake's benchmark format with an equal
    share of this process's wall and CPU time (so the cost table keeps one row per run).
    """
    from lio.methods import make_method, refine_seeds

    if not len(seeds) == len(data_paths) == len(out_paths):
        raise ValueError(
            f"solve_group got {len(seeds)} seeds, {len(data_paths)} data files and "
            f"{len(out_paths)} output files; expected one data and one output file per seed."
        )
    enable_float64()
    problem = problem_of(config, experiment)
    block = studies.block(config, experiment)
    settings = bfgs_settings(config, experiment)
    options = dict(block["methods"].get(method_name) or {})
    labels = [f"{experiment}/{method_name}/n{n}/seed{seed}" for seed in seeds]
    if calibration_path:
        name, value = calibration.read_chosen(calibration_path, n)
        if name == "learning_rate":
            options["training"] = {**options.get("training", {}), "learning_rate": value}
        else:
            options[name] = value
        for label in labels:
            print(f"[{label}] calibrated {name.replace('_', ' ')} {value:g}")
    method = make_method(method_name, options, settings)
    problem_sets, training_sets = [], []
    for path in data_paths:
        data = results.open_dataset(path)
        problem_sets.append(results.dataset_to_problem_set(data, "problems"))
        training_sets.append(
            results.dataset_to_problem_set(data, "training") if method.needs_training_set else None
        )
    init_keys = [keys(seed, n)[2] for seed in seeds]
    for label in labels:
        print(f"[{label}] solving on {jax.devices()[0]}", flush=True)
    start = time.perf_counter()
    if method.batches_seeds or len(seeds) == 1:
        unrefined = method.solve_seeds(problem, problem_sets, training_sets, init_keys)
    else:
        # One seed after another; every line a method prints carries its run's seed.
        unrefined = []
        for label, problems, training_set, key in zip(
            labels, problem_sets, training_sets, init_keys, strict=True
        ):
            with _prefixed_stdout(f"[{label}] "):
                unrefined.append(method.solve(problem, problems, training_set, key))
    refined = (
        refine_seeds(problem, problem_sets, unrefined, settings) if method.refine else unrefined
    )
    total = (time.perf_counter() - start) / len(seeds)
    for label, seed, problems, estimate, refined_estimate, out_path in zip(
        labels, seeds, problem_sets, unrefined, refined, out_paths, strict=True
    ):
        _write_run(
            config, experiment, method_name, n, seed, label, problem, block, options,
            problems, estimate, refined_estimate, total, out_path,
        )
    if benchmark_paths:
        share = _benchmark_share(len(seeds))
        for path in benchmark_paths:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            share.to_csv(path, sep="\t", index=False)


def _write_run(
    config, experiment, method_name, n, seed, label, problem, block, options, problems,
    unrefined, refined, total, out_path,
) -> None:
    """Health lines and the netCDF of one run (``solve``)."""
    print(
        f"[{label}] L/n unrefined "
        f"{np.nanmean(unrefined.loss):.6g} refined {np.nanmean(refined.loss):.6g} in {total:.1f}s",
        flush=True,
    )
    diagnostics = {}
    truth = np.asarray(problems.solution)
    for stage, estimate in (("unrefined", unrefined), ("refined", refined)):
        examples, summary = health.diagnose(problem, estimate.solution, truth)
        moved = ""
        if stage == "unrefined" and estimate.initial is not None:
            lower, upper = (np.asarray(b, float) for b in problem.bounds)
            summary |= health.progress(estimate.initial, estimate.solution, truth, lower, upper)
            moved = (
                f" (at the start {summary['error_initial']:.3f}; closer to the truth than at "
                f"the start {summary['closer']:.2f})"
            )
        diagnostics[stage] = (examples, summary)
        stage_label = f"{label} {stage}"
        print(
            f"[{stage_label}] health: pinned {summary['pinned']:.2f} outside {summary['outside']:.2f} "
            f"spread {summary['spread']:.3f} median error {summary['error']:.3f}{moved} "
            f"in basin {summary['in_basin']:.2f}",
            flush=True,
        )
        for line in health.warnings(summary, stage_label):
            print(line, flush=True)
    run_config = {
        "experiment": experiment,
        "problem": block["problem"],
        "params": block.get("params", {}),
        "method": options,
        "bfgs": studies.bfgs_record(studies.bfgs_options(config, block)),
    }
    dataset = results.run_to_dataset(
        problem,
        problems,
        unrefined,
        refined,
        {"problem": experiment, "method": method_name, "n": n, "seed": seed,
         **provenance(run_config)},
        diagnostics,
    )
    results.write_atomic(dataset, out_path)


class _Prefixed(io.TextIOBase):
    """A text stream that writes every line to ``stream`` behind ``prefix``."""

    def __init__(self, stream, prefix: str):
        self.stream, self.prefix, self.at_line_start = stream, prefix, True

    def write(self, text: str) -> int:
        for part in text.splitlines(keepends=True):
            if self.at_line_start:
                self.stream.write(self.prefix)
            self.stream.write(part)
            self.at_line_start = part.endswith("\n")
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


@contextlib.contextmanager
def _prefixed_stdout(prefix: str) -> Iterator[None]:
    with contextlib.redirect_stdout(_Prefixed(sys.stdout, prefix)):
        yield


def _benchmark_share(runs: int) -> pd.DataFrame:
    """One run's share of this process, in the columns of a Snakemake benchmark file that the
    cost table reads (``s``, ``max_rss`` in MB, ``cpu_time``): wall and CPU time since the
    process started, divided by ``runs``, and the process's peak memory (shared, not divided)."""
    import psutil

    process = psutil.Process()
    seconds = (time.time() - process.create_time()) / runs
    cpu = process.cpu_times()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return pd.DataFrame(
        {
            "s": [round(seconds, 4)],
            "h:m:s": [time.strftime("%H:%M:%S", time.gmtime(seconds))],
            "max_rss": [round(peak_mb, 2)],
            "cpu_time": [round((cpu.user + cpu.system) / runs, 2)],
            "runs_in_job": [runs],
        }
    )


def calibrate(
    config: dict[str, Any], experiment: str, method_name: str, data_paths: list[str], out_path: str
) -> None:
    """The paper's tuning policy for one (experiment, learned method): train at each rate of
    the descending ladder on the calibration problem sets, stop at the first rate stable on all
    of them (``lio.calibration``), and write every trial and the chosen rate as JSON."""
    from lio.methods import make_method

    enable_float64()
    problem = problem_of(config, experiment)
    options = calibration.settings(config, experiment)
    base = dict(studies.block(config, experiment)["methods"][method_name] or {})
    settings = bfgs_settings(config, experiment)
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
    calibration.write_json_atomic(
        {
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
        },
        out_path,
    )


def _calibrate_own_setting(
    experiment, method_name, name, problem, base, settings, sets, options, out_path
) -> None:
    """A method's own calibrated setting (``lio.calibration``: the diffusion prior's guidance):
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
    calibration.write_json_atomic(
        {
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
        },
        out_path,
    )


def aggregate(config: dict[str, Any], paths: list[str], out_path: str) -> None:
    allow = config["comparison"].get("allow_mixed_settings", False)
    results.write_atomic(results.aggregate(paths, allow_mixed_settings=allow), out_path)


def stage_fractions(dataset, problem: Problem, options: dict[str, Any]) -> list[pd.DataFrame]:
    """``lio.metrics.fractions`` of one aggregate, refined then unrefined, under the comparison
    block ``options`` (tolerances, bootstrap, same-minimum distance)."""
    return [
        metrics.fractions(
            dataset,
            stage,
            rtol=options["rtol"],
            atol=options["atol"],
            resamples=options["bootstrap_resamples"],
            confidence=options["confidence"],
            problem=problem,
            same_minimum=options.get("same_minimum", 1e-4),
            quality_atol=options.get("quality_atol"),
        )
        for stage in ("refined", "unrefined")
    ]


def comparison_table(config: dict[str, Any], aggregate_paths: dict[str, str]) -> pd.DataFrame:
    """Better/equal fractions (refined and unrefined) for every experiment, with the exact
    comparison and the training health of every method (``lio.metrics.fractions``)."""
    frames = []
    for experiment, path in aggregate_paths.items():
        dataset = results.open_dataset(path)
        for frame in stage_fractions(dataset, problem_of(config, experiment), config["comparison"]):
            frame.insert(0, "experiment", experiment)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def write_tables(
    config: dict[str, Any], aggregate_paths: dict[str, str], csv: str, markdown: str, latex: str
) -> None:
    table = comparison_table(config, aggregate_paths)
    Path(csv).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(csv, index=False, float_format="%.6f")
    Path(markdown).write_text(metrics.markdown_table(table) + "\n" + metrics.health_markdown(table))
    Path(latex).write_text(
        "% refined\n"
        + metrics.latex_table(table, "refined")
        + "% unrefined\n"
        + metrics.latex_table(table, "unrefined")
    )


__all__ = ["aggregate", "figure_panel", "sample_data", "solve", "solve_group", "write_tables"]


def figure_panel(
    config: dict[str, Any],
    experiment: str,
    panel: str,
    options: dict[str, Any],
    input_path: str,
    png: str,
    pdf: str,
    aggregate_path: str | None = None,
) -> None:
    """Draw one panel of an experiment's figure from its data file or aggregate; an image
    problem's panel (a) shows the reconstructions of ``aggregate_path`` beside the truth."""
    from lio import figures

    enable_float64()
    dataset = results.open_dataset(input_path)
    if panel in ("a", "b"):
        problem = problem_of(config, experiment)
        problems = results.dataset_to_problem_set(dataset, "problems")
        if panel == "a" and len(problem.solution_shape) == 2 and aggregate_path:
            figures.image_gallery(
                problem, problems, results.open_dataset(aggregate_path), options["example"],
                png, pdf,
            )
        elif panel == "a":
            figures.example_observation(problem, problems, options["example"], png, pdf)
        else:
            figures.loss_landscape(
                problem,
                problems,
                options["example"],
                options["landscape_points"],
                png,
                pdf,
                parameter=options["landscape_parameter"],
            )
    elif panel == "c":
        figures.optimisation_curves(dataset, options["curves_n"], png, pdf)
    elif panel == "d":
        figures.refined_loss_by_n(dataset, png, pdf)
    else:
        raise ValueError(f"figure panel {panel!r} is not known; expected one of a, b, c, d.")
