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

from lio.run import calibration, spec

from lio.analysis import health, results
from lio.analysis.provenance import provenance
from lio.core.atomic import write_atomically

if TYPE_CHECKING:  # imported where used: data, aggregate and figure jobs skip the method code
    pass


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


def keys(seed: int, n: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(problem set, training set, network init) keys: a seed fixes all three, per n."""
    key = jax.random.fold_in(jax.random.PRNGKey(seed), n)
    return tuple(jax.random.split(key, 3))


# Stream of the seed's key for a training set whose size is set apart from n
# (``training_set_size``): one set per seed, shared by every n.
_TRAINING_SET_STREAM = 2**31 - 1


def training_set_draw(seed: int, n: int, size: int | None) -> tuple[jax.Array, int]:
    """(key, size) of the labelled training set of (n, seed).

    ``size`` None: the paper's coupling, n examples drawn per (n, seed) (``keys``). An integer:
    that many examples, drawn from the seed alone, so every n of a seed trains on one set and
    the n axis changes only how many problems are solved jointly.
    """
    if size is None:
        return keys(seed, n)[1], n
    return jax.random.fold_in(jax.random.PRNGKey(seed), _TRAINING_SET_STREAM), int(size)


def sample_data(config: dict[str, Any], experiment: str, n: int, seed: int, path: str) -> None:
    """Draw the problem set and the labelled training set of (experiment, n, seed)."""
    enable_float64()
    problem = spec.problem_of(config, experiment)
    key_problems, _, _ = keys(seed, n)
    problems = problem.sample(key_problems, n)
    key_training, size = training_set_draw(
        seed, n, spec.block(config, experiment).get("training_set_size")
    )
    training_set = problem.sample_training_set(key_training, size)
    dataset = results.problem_set_to_dataset(problem, problems, "problems").merge(
        results.problem_set_to_dataset(problem, training_set, "training")
    )
    dataset.attrs.update(
        problem=experiment,
        n=n,
        seed=seed,
        **provenance({"experiment": spec.block(config, experiment)}),
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
    resolved = spec.resolve(config, experiment)  # the one place the config is read
    problem = resolved.make_problem()
    settings = resolved.bfgs_settings()
    options = resolved.method_options(method_name)
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
            resolved, method_name, n, seed, label, problem, options,
            problems, estimate, refined_estimate, total, out_path,
        )
    if benchmark_paths:
        share = _benchmark_share(len(seeds))
        for path in benchmark_paths:
            write_atomically(path, share.to_csv(sep="\t", index=False))


def _write_run(
    resolved: spec.Spec, method_name, n, seed, label, problem, options, problems,
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
        metrics = problem.quality(np.asarray(estimate.solution), truth)
        if metrics:  # an imaging problem: judged by the image, not by the misfit
            print(f"[{stage_label}] to the truth: "
                  + " ".join(f"{name} {np.nanmean(values):.4g}" for name, values in metrics.items()), flush=True)
    run_config = {
        "experiment": resolved.name,
        "problem": resolved.problem,
        "params": spec.thawed(resolved.params),
        "method": options,
        "bfgs": spec.bfgs_record(spec.thawed(resolved.bfgs)),
    }
    dataset = results.run_to_dataset(
        problem,
        problems,
        unrefined,
        refined,
        {"problem": resolved.name, "method": method_name, "n": n, "seed": seed,
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


def aggregate(config: dict[str, Any], paths: list[str], out_path: str) -> None:
    allow = config["comparison"].get("allow_mixed_settings", False)
    results.write_atomic(results.aggregate(paths, allow_mixed_settings=allow), out_path)


__all__ = ["aggregate", "sample_data", "solve", "solve_group"]
