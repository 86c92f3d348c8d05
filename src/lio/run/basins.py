"""Does BFGS stop in a local optimum? BFGS from the prior mean against BFGS from other starts.

On the calibration problem sets (``lio.run.calibration``: seeds disjoint from the evaluation
seeds), BFGS runs from the prior mean (the baseline's start), from the hidden truth and from
``starts`` points drawn uniformly in the prior's box. An example is **stuck** when one of the
other starts ends at a loss lower than the baseline's by more than the comparison's tolerance
(``comparison.rtol``, ``atol``): a better optimum exists that BFGS from the prior mean missed.

Where BFGS is not stuck, no estimate refined by BFGS can end better than BFGS's own, except by
round-off; so the stuck share bounds the "better" column of Table 2 from above (up to the
starts' coverage of the box). The paper's statements it tests: the wave packet's BFGS "get[s]
stuck in local minima quickly", and on the fluid "many examples get stuck in local optima".

Configured per experiment (``experiments.<name>.basins: {starts: 8}``; 0 starts: off); the job writes
``results/<experiment>/basins.json``, which ``snakemake publish`` copies into the record and the
report tabulates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # jax is imported where used: the workflow reads starts_of while parsing
    import jax

    from lio.problems.base import Problem, ProblemSet

def starts_of(block: dict[str, Any]) -> int:
    """The random starts an experiment block asks for (0: no basins check)."""
    return int((block.get("basins") or {}).get("starts", 0))


def multistart(
    problem: Problem, problems: ProblemSet, settings, starts: int, key: jax.Array,
    rtol: float, atol: float,
) -> dict[str, np.ndarray]:
    """Per example: BFGS's loss from the prior mean, from the truth and the best of all other
    starts, whether it is stuck, its iterations and how many distinct optima the starts reach.
    One batch of ``(starts + 2) * n`` independent BFGS runs (``bfgs.batch_size`` applies)."""
    import jax
    import jax.numpy as jnp

    from lio.methods.bfgs import bfgs_on_problems

    if starts < 1:
        raise ValueError(f"basins: starts must be an integer >= 1, got {starts!r}")
    n, truth = problems.n, jnp.asarray(problems.solution)
    lower, upper = (jnp.asarray(b, truth.dtype) for b in problem.bounds)
    uniform = jax.random.uniform(key, (starts, *truth.shape), truth.dtype)
    mean = jnp.broadcast_to(jnp.asarray(problem.prior_mean, truth.dtype), truth.shape)
    y0 = jnp.concatenate([mean, truth, *(lower + uniform * (upper - lower))])
    copies = jax.tree.map(lambda leaf: jnp.concatenate([leaf] * (starts + 2)), problems)
    outcome, _ = bfgs_on_problems(problem, copies, y0, settings)
    loss = np.asarray(outcome.loss, float).reshape(starts + 2, n)
    from_mean = loss[0]
    margin = atol + rtol * np.abs(from_mean)
    best = np.nanmin(loss[1:], axis=0)
    solution = np.asarray(outcome.solution)[:n].reshape(truth.shape)
    return {
        "loss_from_mean": from_mean,
        "loss_from_truth": loss[1],
        "loss_best": best,
        "stuck": best < from_mean - margin,
        "truth_start_lower": loss[1] < from_mean - margin,
        "in_basin": np.asarray(problem.in_basin(solution, np.asarray(truth)), bool),
        "iterations": np.asarray(outcome.iterations).reshape(starts + 2, n)[0],
        "distinct_optima": np.array([_distinct(column, rtol, atol) for column in loss.T]),
    }


def _distinct(losses: np.ndarray, rtol: float, atol: float) -> int:
    """How many values of ``losses`` differ from the next lower one by more than the tolerance."""
    values = np.sort(losses[np.isfinite(losses)])
    count, last = 0, None
    for value in values:
        if last is None or value > last + atol + rtol * abs(last):
            count, last = count + 1, value
    return count


def summarize(examples: dict[str, np.ndarray]) -> dict[str, float]:
    """Shares and medians over all examples of all calibration sets."""
    return {
        "stuck": float(np.mean(examples["stuck"])),
        "truth_start_lower": float(np.mean(examples["truth_start_lower"])),
        "in_basin": float(np.mean(examples["in_basin"])),
        "iterations_median": float(np.median(examples["iterations"])),
        "iterations_max": int(np.max(examples["iterations"])),
        "distinct_optima_median": float(np.median(examples["distinct_optima"])),
    }


def measure(config: dict[str, Any], experiment: str, data_paths: list[str], out_path: str) -> None:
    """The ``basins`` job: every calibration set of ``experiment``, one JSON file."""
    import jax

    from lio.analysis import results

    from lio.run import spec
    from lio.core.atomic import write_atomically
    from lio.run.experiment import enable_float64
    from lio.run.spec import bfgs_settings, problem_of
    from lio.analysis.provenance import provenance

    enable_float64()
    block = spec.block(config, experiment)
    starts = starts_of(block)
    problem = problem_of(config, experiment)
    settings = bfgs_settings(config, experiment)
    comparison = config["comparison"]
    parts, sets = [], []
    for path in data_paths:
        data = results.open_dataset(path)
        seed, n = int(data.attrs["seed"]), int(data.attrs["n"])
        problems = results.dataset_to_problem_set(data, "problems")
        key = jax.random.fold_in(jax.random.PRNGKey(seed), 7919)  # not the sweep's keys
        part = multistart(problem, problems, settings, starts, key,
                          comparison["rtol"], comparison["atol"])
        parts.append(part)
        summary = summarize(part)
        sets.append({"seed": seed, "n": n, **summary})
        print(f"[basins {experiment}] seed {seed}, n {n}, {starts} random starts: "
              + ", ".join(f"{k} {v:.3g}" for k, v in summary.items()), flush=True)
    examples = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    record = {
        "experiment": experiment,
        "starts": starts,
        "comparison": {k: comparison[k] for k in ("rtol", "atol")},
        "sets": sets,
        **summarize(examples),
        "examples": {k: v.tolist() for k, v in examples.items()},
        **provenance({"basins": {"starts": starts}}),
    }
    write_atomically(out_path, json.dumps(record, indent=1))


def read(paths: list[str | Path]) -> dict[str, dict[str, Any]]:
    """Experiment -> its basins record (summary fields and per-set rows)."""
    records = {}
    for path in paths:
        record = json.loads(Path(path).read_text())
        records[record["experiment"]] = record
    return records
