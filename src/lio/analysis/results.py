"""Results files: self-describing netCDF per run, aggregates per experiment, atomic writes."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from lio.core import quality
from lio.core.atomic import atomic_path
from lio.analysis.health import is_degenerate
from lio.methods.base import STATUS, Estimate
from lio.problems.base import Problem, ProblemSet

HEALTH_NAMES = {  # lio.analysis.health's per-example diagnostics
    "pinned": "estimate at the parameter box's edge where the truth is not (lio.analysis.health; 1 = yes)",
    "outside": "estimate outside the parameter box (1 = yes)",
    "error": "max over parameters of |estimate - truth| / box width",
    "in_basin": "estimate in the hidden truth's basin (Problem.in_basin; 1 = yes)",
}


STATUS_ATTRS = {
    "flag_values": np.arange(len(STATUS), dtype=np.int8),
    "flag_meanings": " ".join(STATUS),
}

# An aggregate's first dimension. Not "method": ``Dataset.sel(method="bfgs")`` would pass
# "bfgs" to sel's own ``method=`` argument (inexact matching) and silently select nothing.
SOLVER = "solver"

PADDING = -1  # statuses and iteration counts of examples beyond a run's n, and of absent runs
PADDED = ("status_unrefined", "status_refined", "iterations_unrefined", "iterations_refined")
PROVENANCE = ("git_sha", "lio_version", "device", "config")  # per run: attributes; aggregated: variables

STAGES = {"unrefined": "the method's own estimate", "refined": "after BFGS refinement"}

# CF attributes of every variable of a run file and an aggregate. Losses and parameters are in
# each simulator's own nondimensional units (lio.problems), hence "1".
VARIABLE_ATTRS: dict[str, dict[str, Any]] = {
    "truth": {"long_name": "hidden true parameters", "units": "1"},
    "truth_loss": {"long_name": "loss L at the hidden true parameters (noise floor)", "units": "1"},
    "curve": {"long_name": "L/n during optimisation", "units": "1"},
    "refine_curve": {"long_name": "L/n during BFGS refinement", "units": "1"},
    "wall_time_unrefined_s": {"long_name": "wall time of the method, compilation included", "units": "s"},
    "wall_time_refine_s": {"long_name": "wall time of BFGS refinement, compilation included", "units": "s"},
    "git_sha": {"long_name": "git commit of lio that made the run", "units": "1"},
    "lio_version": {"long_name": "lio version that made the run", "units": "1"},
    "device": {"long_name": "JAX device the run used", "units": "1"},
    "config": {"long_name": "the run's settings (JSON)", "units": "1"},
    "solution_initial": {
        "long_name": "where the method's search started (BFGS's start, the untrained network's outputs)",
        "units": "1",
    },
    **{
        f"{name}_{stage}": {"long_name": f"{what}, {meaning}", **extra}
        for stage, meaning in STAGES.items()
        for name, what, extra in (
            ("solution", "estimated parameters", {"units": "1"}),
            ("loss", "loss L at the estimate", {"units": "1"}),
            ("status", "how the solver ended (lio.methods.STATUS)", {"units": "1", **STATUS_ATTRS}),
            ("iterations", "BFGS iterations or training steps", {"units": "1"}),
        )
    },
    **{
        f"{name}_{stage}": {"long_name": description, "units": "1"}
        for stage in STAGES
        for name, description in HEALTH_NAMES.items()
    },
    **{
        f"{name}_{stage}": {"long_name": f"{description}, {meaning}", "units": quality.UNITS[name]}
        for stage, meaning in STAGES.items()
        for name, description in quality.LONG_NAMES.items()
    },
}

COORDINATE_ATTRS = {
    SOLVER: {"long_name": "solver (lio.methods)"},
    "n": {"long_name": "number of problems solved jointly", "units": "1"},
    "seed": {"long_name": "random seed of the run", "units": "1"},
    "parameter": {"long_name": "unknown parameter of the problem"},
}


def write_atomic(dataset: xr.Dataset, path: str | Path) -> None:
    """Write ``dataset`` as compressed netCDF (h5netcdf) to ``path`` atomically
    (``lio.core.atomic``): a killed job never leaves a half-written file that looks complete."""
    encoding = {  # replaces each variable's own encoding, so its fill value is carried over
        name: {
            "zlib": True,
            "complevel": 4,
            **{k: var.encoding[k] for k in ("_FillValue",) if k in var.encoding},
        }
        for name, var in dataset.variables.items()
        if var.dtype.kind in "fiu" and var.ndim > 0
    }
    with atomic_path(path) as temporary:
        dataset.to_netcdf(temporary, engine="h5netcdf", encoding=encoding)


def open_dataset(path: str | Path) -> xr.Dataset:
    """Open a results file fully into memory (the file handle is closed afterwards).

    Statuses and iteration counts stay integers with their padding (``PADDING``), which
    aggregates declare as ``_FillValue``; the declaration is kept in ``encoding``, so writing
    the dataset again declares it again. Aggregates written before the ``solver`` dimension
    (the committed record's) get their ``method`` dimension renamed to ``solver``.
    """
    with xr.open_dataset(
        path, engine="h5netcdf", mask_and_scale={name: False for name in PADDED}
    ) as dataset:
        dataset = dataset.load()
    for name in PADDED:
        if name in dataset and "_FillValue" in dataset[name].attrs:
            dataset[name].encoding["_FillValue"] = dataset[name].attrs.pop("_FillValue")
    if "method" in dataset.dims and SOLVER not in dataset.dims:
        dataset = dataset.rename({"method": SOLVER})
    return dataset


def problem_set_to_dataset(problem: Problem, problems: ProblemSet, prefix: str) -> xr.Dataset:
    observed_dims = tuple(f"observed_{i}" for i in range(problems.observed.ndim - 1))
    return xr.Dataset(
        {
            f"{prefix}_solution": (("example", "parameter"), np.asarray(problems.solution)),
            f"{prefix}_condition": (("example", "condition"), np.asarray(problems.condition)),
            f"{prefix}_observed": (("example", *observed_dims), np.asarray(problems.observed)),
        },
        coords={"parameter": list(problem.parameter_names)},
    ).rename({"example": f"{prefix}_example"})


def dataset_to_problem_set(dataset: xr.Dataset, prefix: str) -> ProblemSet:
    import jax.numpy as jnp

    return ProblemSet(
        solution=jnp.asarray(dataset[f"{prefix}_solution"].values),
        condition=jnp.asarray(dataset[f"{prefix}_condition"].values),
        observed=jnp.asarray(dataset[f"{prefix}_observed"].values),
    )


def run_to_dataset(
    problem: Problem,
    problems: ProblemSet,
    unrefined: Estimate,
    refined: Estimate,
    attrs: dict[str, Any],
    diagnostics: dict[str, tuple[dict[str, np.ndarray], dict[str, float]]] | None = None,
) -> xr.Dataset:
    """One run (method x n x seed): per-example solutions, losses, statuses, curves, times.

    ``diagnostics``: per stage, ``lio.analysis.health.diagnose``'s per-example arrays (stored as
    ``{name}_{stage}``) and run summary (attributes ``health_{stage}_{name}`` and
    ``degenerate_{stage}``).
    """
    per_example = {}
    health_attrs = {}
    for stage, (examples, summary) in (diagnostics or {}).items():
        for name, values in examples.items():
            values = np.asarray(values)
            per_example[f"{name}_{stage}"] = (
                ("example",),
                values.astype(np.int8) if values.dtype == bool else values,
            )
        health_attrs.update({f"health_{stage}_{k}": float(v) for k, v in summary.items()})
        health_attrs[f"degenerate_{stage}"] = int(is_degenerate(summary))
    for stage, estimate in (("unrefined", unrefined), ("refined", refined)):
        for name, values in problem.quality(estimate.solution, np.asarray(problems.solution)).items():
            per_example[f"{name}_{stage}"] = (("example",), np.asarray(values, float))
        per_example[f"solution_{stage}"] = (("example", "parameter"), estimate.solution)
        per_example[f"loss_{stage}"] = (("example",), estimate.loss)
        per_example[f"status_{stage}"] = (("example",), estimate.status.astype(np.int8))
        per_example[f"iterations_{stage}"] = (("example",), estimate.iterations.astype(np.int32))
    if unrefined.initial is not None:
        per_example["solution_initial"] = (("example", "parameter"), np.asarray(unrefined.initial))
    dataset = xr.Dataset(
        {
            "truth": (("example", "parameter"), np.asarray(problems.solution)),
            "truth_loss": (("example",), np.asarray(problem.losses(problems.solution, problems))),
            **per_example,
            "curve": (("iteration",), unrefined.curve),
            "refine_curve": (("refine_iteration",), refined.curve),
        },
        coords={"parameter": list(problem.parameter_names)},
        attrs={
            **{k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in attrs.items()},
            "wall_time_unrefined_s": unrefined.wall_time,
            "wall_time_refine_s": refined.wall_time,
            **{f"extra_{k}": v for k, v in unrefined.extra.items()},
            **health_attrs,
        },
    )
    for name, variable in dataset.data_vars.items():
        variable.attrs.update(VARIABLE_ATTRS.get(name, {}))
    dataset["parameter"].attrs.update(COORDINATE_ATTRS["parameter"])
    return dataset


def _without_calibrated(settings: str) -> str:
    """A run's settings without the values calibration chooses per problem-set size (the Adam
    rate, the diffusion prior's guidance): with ``calibration.per_n`` they differ between sizes."""
    try:
        config = json.loads(settings)
    except ValueError:
        return settings
    method = config.get("method") if isinstance(config, dict) else None
    if isinstance(method, dict):
        if isinstance(method.get("training"), dict):
            method["training"].pop("learning_rate", None)
        method.pop("guidance", None)
    return json.dumps(config, sort_keys=True)


def check_same_settings(runs: list[xr.Dataset], names: list[str]) -> None:
    """Refuse runs of one method made with different settings (config, problem, BFGS).

    Mixed settings arise when results of an earlier config survive a rerun (e.g. with
    ``--rerun-triggers mtime``) or are copied in; a table over them would compare apples with
    pears. Runs of one size must agree in everything; runs of different sizes may differ in the
    values calibration chooses per size (``calibration.per_n``), and only in those.
    """
    first: dict[tuple[str, Any], tuple[str, str]] = {}
    for run, name in zip(runs, names):
        method, settings = run.attrs["method"], run.attrs.get("config", "")
        for key, compared in (((method, int(run.attrs["n"])), settings), ((method, None), _without_calibrated(settings))):
            if key not in first:
                first[key] = (compared, name)
            elif compared != first[key][0]:
                raise ValueError(
                    f"aggregate: runs of method {method!r} were made with different settings:\n"
                    f"  {first[key][1]}: {first[key][0]}\n  {name}: {compared}\n"
                    "Rerun the stale ones (snakemake --forcerun solve), or set "
                    "comparison.allow_mixed_settings: true to aggregate them anyway."
                )


def check_same_problems(runs: list[xr.Dataset], names: list[str]) -> None:
    """Refuse runs of one (n, seed) whose hidden truths differ: every method must have solved
    the same problems, bit for bit, or "better than BFGS" compares different problems. This
    happens when a method is re-recorded beside older runs (``lio.report.paper.record --unpack``)
    after the problem sampler changed."""
    first: dict[tuple[int, int], tuple[np.ndarray, str]] = {}
    for run, name in zip(runs, names):
        key = (int(run.attrs["n"]), int(run.attrs["seed"]))
        truth = run["truth"].values
        if key not in first:
            first[key] = (truth, name)
        elif not np.array_equal(truth, first[key][0], equal_nan=True):
            difference = float(np.nanmax(np.abs(truth - first[key][0]))) if truth.shape == first[key][0].shape else np.inf
            raise ValueError(
                f"aggregate: {name} and {first[key][1]} (n = {key[0]}, seed {key[1]}) solved "
                f"different problems: their truths differ by up to {difference:.3g}. Every "
                "method of a table must run on the same problem sets; rerun the older runs "
                "with the current sampler (snakemake --forcerun solve)."
            )


def aggregate(paths: Iterable[str | Path], allow_mixed_settings: bool = False) -> xr.Dataset:
    """Stack run files into one dataset with dims solver x n x seed x example.

    Examples beyond a run's n are NaN (losses) / ``PADDING`` (statuses, iterations; declared as
    their ``_FillValue``); curves are NaN-padded. Every variable keeps the runs' attributes
    (``long_name``, ``units``, flags). Runs of one method must share their settings unless
    ``allow_mixed_settings``.
    """
    paths = [str(p) for p in paths]
    runs = [open_dataset(p) for p in paths]
    if not runs:
        raise ValueError("aggregate: no run files given; expected at least one result.nc.")
    if not allow_mixed_settings:
        check_same_settings(runs, paths)
    check_same_problems(runs, paths)
    methods = sorted({r.attrs["method"] for r in runs}, key=_method_order)
    ns = sorted({int(r.attrs["n"]) for r in runs})
    seeds = sorted({int(r.attrs["seed"]) for r in runs})
    examples = max(ns)
    iterations = max(r.sizes["iteration"] for r in runs)
    refine_iterations = max(r.sizes["refine_iteration"] for r in runs)
    parameters = runs[0]["parameter"].values
    shape = (len(methods), len(ns), len(seeds))

    def full(extra_shape, fill, dtype=float):
        return np.full(shape + extra_shape, fill, dtype=dtype)

    data = {
        "truth_loss": full((examples,), np.nan),
        "truth": full((examples, len(parameters)), np.nan),
        "wall_time_unrefined_s": full((), np.nan),
        "wall_time_refine_s": full((), np.nan),
        "curve": full((iterations,), np.nan),
        "refine_curve": full((refine_iterations,), np.nan),
    }
    for stage in ("unrefined", "refined"):
        data[f"loss_{stage}"] = full((examples,), np.nan)
        data[f"solution_{stage}"] = full((examples, len(parameters)), np.nan)
        data[f"status_{stage}"] = full((examples,), PADDING, np.int8)
        data[f"iterations_{stage}"] = full((examples,), PADDING, np.int32)
        for name in quality.HIGHER_IS_BETTER:  # the image problems' truth metrics
            if f"{name}_{stage}" in runs[0]:
                data[f"{name}_{stage}"] = full((examples,), np.nan)
    if any("solution_initial" in run for run in runs):  # runs made before lio recorded it lack it
        data["solution_initial"] = full((examples, len(parameters)), np.nan)
    provenance = {key: full((), "", object) for key in PROVENANCE}
    for run in runs:
        index = (
            methods.index(run.attrs["method"]),
            ns.index(int(run.attrs["n"])),
            seeds.index(int(run.attrs["seed"])),
        )
        n = run.sizes["example"]
        for name in data:
            if name.startswith("wall_time"):
                data[name][index] = run.attrs[name]
            elif name in ("curve", "refine_curve"):
                data[name][index][: run[name].size] = run[name].values
            elif name not in run:
                continue  # solution_initial of a run made before lio recorded it: NaN
            else:
                data[name][index][:n] = run[name].values
        for key in provenance:
            provenance[key][index] = str(run.attrs.get(key, ""))
    dims = (SOLVER, "n", "seed")
    variables = {}
    for name, values in data.items():
        if name in ("curve", "refine_curve"):
            extra_dims = ("iteration",) if name == "curve" else ("refine_iteration",)
        elif values.ndim == 5:
            extra_dims = ("example", "parameter")
        elif values.ndim == 4:
            extra_dims = ("example",)
        else:
            extra_dims = ()
        variables[name] = (dims + extra_dims, values, _attrs(name, runs))
    for key, values in provenance.items():
        variables[key] = (dims, values.astype(str), _attrs(key, runs))
    dataset = xr.Dataset(
        variables,
        coords={SOLVER: methods, "n": ns, "seed": seeds, "parameter": parameters},
        attrs={"problem": runs[0].attrs["problem"], "Conventions": "CF-1.8"},
    )
    for name, attrs in COORDINATE_ATTRS.items():
        dataset[name].attrs.update(attrs)
    for name in PADDED:
        dataset[name].encoding["_FillValue"] = np.array(PADDING, dataset[name].dtype)
    return dataset


def unpack(dataset: xr.Dataset, problem: str) -> dict[tuple[str, int, int], xr.Dataset]:
    """The run files an aggregate was made of, ``{(method, n, seed): run}``: ``aggregate``'s
    inverse for what it keeps (per-example arrays cut to the run's n, curves without their NaN
    padding, wall times and provenance as attributes). Runs missing from the aggregate (NaN
    wall time) are left out. Aggregating the runs again gives the same arrays; the run files'
    health attributes and extras, which aggregates do not keep, are absent. Use: re-record one
    method of a committed experiment beside the others' recorded runs."""
    runs = {}
    for method in map(str, dataset[SOLVER].values):
        for n in map(int, dataset["n"].values):
            for seed in map(int, dataset["seed"].values):
                one = dataset.sel({SOLVER: method, "n": n, "seed": seed})
                wall = float(one["wall_time_unrefined_s"])
                if not np.isfinite(wall):
                    continue
                variables = {}
                for name, variable in one.data_vars.items():
                    if name in ("wall_time_unrefined_s", "wall_time_refine_s", *PROVENANCE):
                        continue
                    values = variable.values
                    if "example" in variable.dims:
                        values = values[:n]
                    elif variable.dims in (("iteration",), ("refine_iteration",)):
                        finite = np.flatnonzero(np.isfinite(values))
                        values = values[: finite[-1] + 1 if finite.size else 0]
                    variables[name] = (variable.dims, values, dict(variable.attrs))
                run = xr.Dataset(variables, coords={"parameter": dataset["parameter"].values})
                run.attrs = {
                    "problem": problem,
                    "method": method,
                    "n": n,
                    "seed": seed,
                    "wall_time_unrefined_s": wall,
                    "wall_time_refine_s": float(one["wall_time_refine_s"]),
                    **{key: str(one[key].values) for key in PROVENANCE if key in one},
                }
                for name in PADDED:
                    run[name].attrs.pop("_FillValue", None)
                    run[name].encoding.pop("_FillValue", None)
                runs[(method, n, seed)] = run
    return runs


def _attrs(name: str, runs: list[xr.Dataset]) -> dict[str, Any]:
    """A variable's attributes in an aggregate: lio's CF attributes, then the runs' own."""
    attrs = dict(VARIABLE_ATTRS.get(name, {}))
    for run in runs:
        if name in run.variables:
            attrs.update(run[name].attrs)
            break
    return attrs


def _method_order(name: str) -> tuple[int, str]:
    preferred = ["bfgs", "reparameterized", "supervised", "neural_adjoint", "learned_gradient"]
    return (preferred.index(name) if name in preferred else len(preferred), name)
