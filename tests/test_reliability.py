"""Divergence, interruption, determinism and mixed settings, each forced on purpose."""

import os
import signal
import json
import subprocess
import sys
import time

import numpy as np
import pytest
import xarray as xr
import yaml

from lio.run import experiment
from lio.methods import STATUS
from lio.analysis.metrics import compare
from lio.analysis.results import aggregate, open_dataset
from tests.workflow_helpers import ROOT, scratch_copy

TINY = yaml.safe_load((ROOT / "tests/data/tiny.yaml").read_text())


def tiny_config(**training):
    """config.yaml merged with tiny.yaml, as Snakemake would, with training overrides."""
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    for name, block in TINY["experiments"]["wavepacket"]["methods"].items():
        for key, value in (block or {}).items():
            # a block tiny.yaml adds (the wave packet's learned gradient) starts empty
            options = config["experiments"]["wavepacket"]["methods"].setdefault(name, {})
            if isinstance(value, dict):
                options.setdefault(key, {}).update(value)
            else:  # a plain option, e.g. learned_gradient's iterations
                options[key] = value
    for block in config["experiments"]["wavepacket"]["methods"].values():
        if block and "training" in block:
            block["training"].update(training)
    return config


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "n8_seed0.nc"
    experiment.sample_data(tiny_config(), "wavepacket", 8, 0, str(path))
    return path


def test_exploding_learning_rate_is_recorded_as_diverged_not_crashing(data, tmp_path):
    out = tmp_path / "result.nc"
    config = tiny_config(learning_rate=1e38, steps=5)
    experiment.solve(config, "wavepacket", "reparameterized", 8, 0, str(data), str(out))
    run = open_dataset(out)
    statuses = {STATUS[s] for s in run["status_unrefined"].values}
    assert statuses == {"diverged"}
    assert np.isnan(run["curve"].values).any()
    # The estimate is the last finite one; refinement ran from it and every example has a status.
    assert np.all(np.isfinite(run["loss_unrefined"].values))
    assert run["status_refined"].size == 8 and np.all(run["status_refined"].values >= 0)


def test_non_finite_losses_count_as_worse_than_bfgs():
    better, equal = compare(np.array([np.nan, np.inf, 1.0]), np.array([2.0, 2.0, 2.0]), 1e-6, 1e-12)
    assert better.tolist() == [False, False, True] and not equal.any()


def test_same_seed_bit_identical_and_other_seed_different(data, tmp_path):
    again = tmp_path / "again.nc"
    experiment.sample_data(tiny_config(), "wavepacket", 8, 0, str(again))
    np.testing.assert_array_equal(open_dataset(data)["problems_observed"], open_dataset(again)["problems_observed"])
    other = tmp_path / "other.nc"
    experiment.sample_data(tiny_config(), "wavepacket", 8, 1, str(other))
    assert not np.array_equal(open_dataset(data)["problems_observed"], open_dataset(other)["problems_observed"])
    losses = []
    for name in ("first", "second"):
        out = tmp_path / f"{name}.nc"
        experiment.solve(tiny_config(), "wavepacket", "supervised", 8, 0, str(data), str(out))
        losses.append(open_dataset(out)["loss_refined"].values)
    np.testing.assert_array_equal(losses[0], losses[1])


def test_aggregate_refuses_runs_with_different_settings(tmp_path):
    paths = []
    for n, learning_rate in ((4, 1e-3), (8, 5e-4)):
        run = xr.Dataset(
            {"loss_unrefined": (("example",), np.ones(n)), "curve": (("iteration",), np.ones(3)),
             "refine_curve": (("refine_iteration",), np.ones(2))},
            attrs={"method": "supervised", "n": n, "seed": 0, "problem": "wavepacket",
                   "config": f'{{"learning_rate": {learning_rate}}}'},
        )
        paths.append(tmp_path / f"n{n}.nc")
        run.to_netcdf(paths[-1], engine="h5netcdf")
    with pytest.raises(ValueError, match="runs of method 'supervised' were made with different settings"):
        aggregate(paths)


def _run_file(path, n, seed, learning_rate, width=8):
    run = xr.Dataset(
        {"loss_unrefined": (("example",), np.ones(n)), "curve": (("iteration",), np.ones(3)),
         "refine_curve": (("refine_iteration",), np.ones(2))},
        attrs={"method": "reparameterized", "n": n, "seed": seed, "problem": "wavepacket",
               "config": json.dumps({"method": {"training": {"learning_rate": learning_rate}, "width": width}})},
    )
    run.to_netcdf(path, engine="h5netcdf")
    return path


def test_aggregate_takes_a_calibrated_rate_per_size_but_nothing_else(tmp_path):
    # calibration.per_n: each size trains at its own calibrated rate, so the sizes' runs differ there
    from lio.analysis.results import check_same_settings

    sizes = [_run_file(tmp_path / f"n{n}.nc", n, 0, rate) for n, rate in ((2, 1e-5), (8, 3e-5))]
    check_same_settings([xr.open_dataset(path, engine="h5netcdf") for path in sizes], [str(p) for p in sizes])
    # within one size every seed must agree, the rate included
    seeds = [_run_file(tmp_path / f"s{seed}.nc", 8, seed, rate) for seed, rate in ((0, 3e-5), (1, 1e-4))]
    with pytest.raises(ValueError, match="different settings"):
        aggregate(seeds)
    # across sizes, any other setting must agree
    widths = [_run_file(tmp_path / f"w{n}.nc", n, 0, 1e-5, width=n) for n in (2, 8)]
    with pytest.raises(ValueError, match="different settings"):
        aggregate(widths)


def test_killed_sweep_resumes_only_unfinished_jobs_with_identical_results(finished, tmp_path):
    workdir = scratch_copy(tmp_path)
    # The wave packet's part of the sweep only: it is what the test compares, and the other
    # experiments' jobs would only make it slower (the whole tiny sweep at one core: ~14 min).
    target = "results/wavepacket/aggregate.nc"
    command = [sys.executable, "-m", "snakemake", target, "--cores", "1", "--configfile", str(ROOT / "tests/data/tiny.yaml")]
    sweep = subprocess.Popen(command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    runs = workdir / "results/wavepacket"
    deadline = time.time() + 600
    while len(list(runs.glob("*/n*/seed*/result.nc"))) < 3 and time.time() < deadline:
        time.sleep(0.5)
    os.killpg(sweep.pid, signal.SIGKILL)  # the scheduler and the job it is running
    sweep.wait()
    # A hard-killed Snakemake leaves its lock behind; --unlock is the documented first step.
    unlock = subprocess.run([*command, "--unlock"], cwd=workdir, capture_output=True, text=True)
    assert unlock.returncode == 0, unlock.stderr[-2000:]
    done_before = {p: p.stat().st_mtime_ns for p in runs.glob("*/n*/seed*/result.nc")}
    assert 3 <= len(done_before) < 8
    for path in done_before:
        open_dataset(path)  # every file that looks complete is complete (atomic writes)

    resumed = subprocess.run([*command[:4], "--cores", "2", *command[6:]], cwd=workdir, capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    # Finished jobs are not rerun. The one job in flight at the kill (--cores 1) may have renamed
    # its output into place before Snakemake recorded it as finished; Snakemake then rightly
    # treats that output as incomplete and redoes it.
    recomputed = [p for p, mtime in done_before.items() if p.stat().st_mtime_ns != mtime]
    assert len(recomputed) <= 1, recomputed
    mine = open_dataset(runs / "aggregate.nc")
    reference = open_dataset(finished / "results/wavepacket/aggregate.nc")
    for name in ("loss_unrefined", "loss_refined", "solution_refined"):
        np.testing.assert_array_equal(mine[name].values, reference[name].values)
