"""Cluster profile and rerun policy, checked by real Snakemake dry runs."""

import re

import pytest
import yaml

from tests.workflow_helpers import ROOT, scratch_copy, snakemake


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return scratch_copy(tmp_path_factory.mktemp("profiles"))


def test_slurm_profile_sends_solve_jobs_to_the_gpu_partition(workdir):
    result = snakemake(workdir, "-n", "--workflow-profile", "profiles/slurm", configfile=ROOT / "config/quick.yaml")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    solve_resources = re.findall(r"rule solve:.*?resources: ([^\n]*)", output, flags=re.S)
    quick = yaml.safe_load((ROOT / "config/quick.yaml").read_text())["experiments"]
    expected = sum(len(b["ns"]) * len(b["seeds"]) * len(b["methods"]) for b in quick.values())
    assert len(solve_resources) == expected  # experiments x n x seeds x methods
    assert all("gpu=1" in r and "slurm_partition=<GPU_PARTITION>" in r for r in solve_resources)
    assert "slurm_partition=<CPU_PARTITION>" in output  # sampling jobs
    assert "Group job solve" in output  # solve jobs are batched into SLURM jobs


def test_local_cpu_run_requests_no_gpu(workdir):
    result = snakemake(workdir, "-n", "--cores", "2", configfile=ROOT / "config/quick.yaml")
    solve_resources = re.findall(r"rule solve:.*?resources: ([^\n]*)", result.stdout, flags=re.S)
    assert solve_resources and all("gpu=0" in r for r in solve_resources)
