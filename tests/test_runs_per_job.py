"""compute.runs_per_job: several seeds of one (experiment, method, n) in one process agree with
the same runs made one at a time (lio.run.experiment.solve_group), and a rerun is bit-identical."""

import re

import numpy as np
import pandas as pd
import pytest
import yaml

from lio.run.experiment import sample_data, solve, solve_group
from lio.analysis.results import open_dataset
from tests.workflow_helpers import ROOT

SEEDS = (0, 1, 2)
N = 4
# Float round-off: BFGS runs in float64, networks train in float32. Batching the seeds' BFGS
# examples changes only the batch size of the vmapped loop, which XLA may vectorise
# differently (last-bit differences); the losses are O(1e-3 .. 1e2) on the wave packet.
LOSS_RTOL = 1e-6


def tiny_config():
    base = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    block = base["experiments"]["wavepacket"]
    block["methods"] = {
        "bfgs": {},
        "reparameterized": {
            "network": {**block["methods"]["reparameterized"]["network"], "features": [4, 4, 8, 8, 8], "dense": 16},
            "training": {"learning_rate": 1e-3, "steps": 10, "log_every": 5},
        },
        "supervised": {
            "network": {**block["methods"]["supervised"]["network"], "features": [4, 4, 8, 8, 8], "dense": 16},
            "training": {"learning_rate": 1e-3, "steps": 10, "log_every": 5},
        },
        "neural_adjoint": {
            "surrogate": {"hidden": [16, 16]},
            "training": {"learning_rate": 1e-3, "steps": 10, "log_every": 5},
        },
    }
    base["experiments"] = {"wavepacket": block}
    return base


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    directory = tmp_path_factory.mktemp("data")
    config = tiny_config()
    paths = []
    for seed in SEEDS:
        paths.append(str(directory / f"seed{seed}.nc"))
        sample_data(config, "wavepacket", N, seed, paths[-1])
    return paths


def same_runs(one, other, rtol):
    for stage in ("unrefined", "refined"):
        np.testing.assert_array_equal(one[f"status_{stage}"], other[f"status_{stage}"])
        np.testing.assert_allclose(one[f"loss_{stage}"], other[f"loss_{stage}"], rtol=rtol, atol=0)
        np.testing.assert_allclose(one[f"solution_{stage}"], other[f"solution_{stage}"], rtol=rtol, atol=1e-12)
    assert one.attrs["seed"] == other.attrs["seed"] and one.attrs["config"] == other.attrs["config"]


# bfgs: one batch of the seeds' examples; the network methods: seed after seed in one process,
# their refinement one batch.
@pytest.mark.parametrize("method", ["bfgs", "reparameterized", "supervised", "neural_adjoint"])
def test_a_group_of_seeds_equals_one_run_per_seed(data, tmp_path, capsys, method):
    config = tiny_config()
    alone = []
    for seed, path in zip(SEEDS, data):
        alone.append(tmp_path / f"alone{seed}.nc")
        solve(config, "wavepacket", method, N, seed, path, str(alone[-1]))
    capsys.readouterr()
    grouped = [tmp_path / f"group{seed}.nc" for seed in SEEDS]
    benchmarks = [tmp_path / f"seed{seed}.tsv" for seed in SEEDS]
    solve_group(config, "wavepacket", method, N, SEEDS, data, [str(p) for p in grouped],
                benchmark_paths=[str(p) for p in benchmarks])
    log = capsys.readouterr().out
    for seed, one, other in zip(SEEDS, alone, grouped):
        same_runs(open_dataset(one), open_dataset(other), LOSS_RTOL)
        # every line of a run carries its seed, its training progress included
        assert f"[wavepacket/{method}/n{N}/seed{seed}] L/n unrefined" in log
        if method != "bfgs":
            label = f"{method} surrogate" if method == "neural_adjoint" else method
            assert f"[wavepacket/{method}/n{N}/seed{seed}] [{label} n={N}] step    10/10" in log
    # one row per run for the cost table: an equal share of the job
    shares = [pd.read_csv(path, sep="\t").iloc[-1] for path in benchmarks]
    assert {float(s["s"]) for s in shares} == {float(shares[0]["s"])} and float(shares[0]["s"]) > 0
    assert all(int(s["runs_in_job"]) == len(SEEDS) for s in shares)


def test_a_rerun_of_a_group_is_bit_identical(data, tmp_path):
    config = tiny_config()
    for method in ("bfgs", "reparameterized", "supervised"):
        runs = []
        for attempt in range(2):
            paths = [str(tmp_path / f"{method}{attempt}-{seed}.nc") for seed in SEEDS]
            solve_group(config, "wavepacket", method, N, SEEDS, data, paths)
            runs.append([open_dataset(p) for p in paths])
        for first, second in zip(*runs):
            for name in first.data_vars:
                if name.startswith("wall_time") or "time" in name:
                    continue
                np.testing.assert_array_equal(first[name].values, second[name].values, err_msg=name)


def test_a_group_needs_one_data_and_one_output_file_per_seed(data, tmp_path):
    with pytest.raises(ValueError, match="got 3 seeds, 3 data files and 2 output files; expected one"):
        solve_group(tiny_config(), "wavepacket", "bfgs", N, SEEDS, data, ["a.nc", "b.nc"])


RUNS = [f"results/wavepacket/{method}/n{N}/seed{seed}/result.nc" for method in ("bfgs", "reparameterized") for seed in SEEDS]


def test_the_workflow_runs_chunks_of_seeds_per_job_and_agrees_with_one_job_per_run(tmp_path):
    """The real DAG: runs_per_job 2 makes one job of seeds 0-1 and one of seed 2 per method,
    each writing every run's own result, benchmark and seed-labelled log lines; the results
    match runs_per_job 1's (the default layout)."""
    from tests.workflow_helpers import scratch_copy, snakemake

    workdir = scratch_copy(tmp_path)
    tiny = ROOT / "tests/data/tiny.yaml"
    override = {"experiments": {"wavepacket": {"seeds": list(SEEDS)}}}
    one = snakemake(workdir, "--cores", "2", *RUNS, "--configfile", str(tiny),
                    config={**override, "compute": {"runs_per_job": 1}})
    assert one.returncode == 0, one.stderr[-3000:]
    alone = {path: open_dataset(workdir / path).load() for path in RUNS}
    for path in RUNS:
        (workdir / path).unlink()
    dry = snakemake(workdir, "-n", "--cores", "1", *RUNS, "--configfile", str(tiny),
                    config={**override, "compute": {"runs_per_job": 2}})
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", dry.stdout.split("Job stats:")[1], flags=re.M))
    assert counts == {"solve_group_seeds0_1": "2", "solve_group_seeds2": "2", "total": "4"}
    grouped = snakemake(workdir, "--cores", "2", *RUNS, "--configfile", str(tiny),
                        config={**override, "compute": {"runs_per_job": 2}})
    assert grouped.returncode == 0, grouped.stderr[-3000:]
    for path in RUNS:
        same_runs(alone[path], open_dataset(workdir / path), LOSS_RTOL)
    for method in ("bfgs", "reparameterized"):
        log = (workdir / f"results/logs/wavepacket/{method}/n{N}/seeds0_1.log").read_text()
        for seed in (0, 1):
            assert f"[wavepacket/{method}/n{N}/seed{seed}] L/n unrefined" in log
            assert (workdir / f"results/benchmarks/wavepacket/{method}/n{N}/seed{seed}.tsv").exists()
    again = snakemake(workdir, "-n", "--cores", "1", *RUNS, "--configfile", str(tiny),
                      config={**override, "compute": {"runs_per_job": 2}})
    assert "Nothing to be done" in again.stdout + again.stderr


def test_the_slurm_profile_sends_group_jobs_to_the_gpu_partition(tmp_path):
    """profiles/slurm names rule solve in set-resources; the group rules take its resources."""
    from tests.test_profiles import fill_placeholders
    from tests.workflow_helpers import scratch_copy, snakemake

    workdir = fill_placeholders(scratch_copy(tmp_path))  # the profile refuses its placeholders
    result = snakemake(workdir, "-n", "--workflow-profile", "profiles/slurm", *RUNS,
                       "--configfile", str(ROOT / "tests/data/tiny.yaml"),
                       config={"experiments": {"wavepacket": {"seeds": list(SEEDS)}},
                               "compute": {"runs_per_job": 2}})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    resources = re.findall(r"rule solve_group_seeds\w+:.*?resources: ([^\n]*)", output, flags=re.S)
    assert len(resources) == 4  # two methods x chunks (0, 1) and (2,)
    assert all("gpu=1" in r and "slurm_partition=gpu" in r for r in resources)
