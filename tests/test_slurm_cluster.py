"""profiles/slurm on a real SLURM: the local two-node cluster of profiles/slurm/local-cluster
(node lio-cpu in partition cpu, node lio-gpu with two fake GPUs in partition gpu), driven by the
SLURM executor plugin through the profile as shipped, with only its placeholders filled in.

A subset of the tiny DAG: four BFGS solves (one group job), one calibrate, one basins and the
sampling jobs they need. The group job is cancelled once with scancel while it runs; the
profile's retries resubmit it. The outputs are compared with a local run of the same targets.
Needs root (and apt-get where SLURM is not installed); skipped otherwise, except on CI.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import xarray as xr

from tests.test_profiles import TINY, fill_placeholders
from tests.workflow_helpers import ROOT, scratch_copy

# Minutes, not seconds: `-m "not slow"` leaves it out and .ci/run runs this file on its own line.
pytestmark = pytest.mark.slow

CLUSTER = ROOT / "profiles/slurm/local-cluster/cluster.sh"
SOLVES = [f"results/{problem}/bfgs/n{n}/seed0/result.nc" for problem in ("wavepacket", "billiards") for n in (4, 8)]
OTHERS = ["results/wavepacket/calibration/reparameterized.json", "results/wavepacket/basins.json"]
TARGETS = SOLVES + OTHERS
# The problem sets: the four solves' and the calibration set (n = 4, seed 1000) of calibrate and basins.
SAMPLES = 5
GROUP = "solve_solve"  # a group job's name: its group id (profiles/slurm: solve), then its rules
# Options of this cluster, not of the profile. It has no slurmdbd: the plugin would choose `sacct`
# because the binary is installed, and then wait forever; `squeue` sees every job, since
# MinJobAge (1 h) is well above the status-check interval. A first status check after 5 s, not 40.
CLUSTER_OPTIONS = ["--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "5"]
TIMEOUT = 1500  # seconds for the SLURM run: 313-377 s on 2 cores shared with other work (docs/cluster.md)


def slurm_cannot_run() -> str:
    """Why the local cluster cannot come up here ('' when it can)."""
    check = subprocess.run(["bash", str(CLUSTER), "check"], capture_output=True, text=True)
    return "" if check.returncode == 0 else check.stderr.strip()


@pytest.fixture(scope="module")
def cluster():
    """The local cluster, brought up for this module (and taken down after) unless already up."""
    reason = slurm_cannot_run()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must test profiles/slurm on a real SLURM, but {reason}")
        pytest.skip(f"no local SLURM cluster: {reason}")
    already_up = subprocess.run(["bash", str(CLUSTER), "status"], capture_output=True).returncode == 0
    if not already_up:
        up = subprocess.run(["bash", str(CLUSTER), "up"], capture_output=True, text=True, timeout=900)
        print(up.stdout)
        if up.returncode != 0:  # half up: stop what did start
            subprocess.run(["bash", str(CLUSTER), "down"], capture_output=True, timeout=300)
            pytest.fail(f"profiles/slurm/local-cluster/cluster.sh up failed:\n{up.stdout}{up.stderr}")
    yield os.environ.get("LIO_CLUSTER_DIR", "/tmp/lio-local-cluster")
    if not already_up:
        subprocess.run(["bash", str(CLUSTER), "down"], capture_output=True, text=True, timeout=300)


def squeue() -> list[dict]:
    """Every job slurmctld still holds (finished ones too): id, state, comment, partition."""
    listing = subprocess.run(["squeue", "--states=all", "-h", "-o", "%i|%T|%k|%P"], capture_output=True, text=True)
    return [dict(zip(("id", "state", "comment", "partition"), line.split("|"))) for line in listing.stdout.splitlines()]


def job_records(job_ids) -> dict[str, dict]:
    """SLURM's record of each job (`scontrol show job`), as {job id: {field: value}}."""
    records = {}
    for job_id in job_ids:
        shown = subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True, check=True)
        records[job_id] = dict(re.findall(r"(\S+?)=(\S*)", shown.stdout))
    return records


def run_on_the_cluster(workdir, log_path):
    """Snakemake with the SLURM profile; the group job is cancelled once, while it runs.
    Returns (exit code, id of the cancelled job, ids of this run's jobs)."""
    before = {job["id"] for job in squeue()}
    command = [sys.executable, "-m", "snakemake", *TARGETS, "--workflow-profile", "profiles/slurm",
               "--configfile", str(TINY), *CLUSTER_OPTIONS]
    cancelled = None
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + TIMEOUT
        try:
            while process.poll() is None and time.monotonic() < deadline:
                # once the group job runs its members (the first one's log is written)
                if cancelled is None and any((workdir / "results/logs").glob("*/bfgs/*/seed0.log")):
                    running = [job["id"] for job in squeue() if job["id"] not in before
                               and job["comment"] == f"rule_{GROUP}" and job["state"] == "RUNNING"]
                    if running:
                        subprocess.run(["scancel", running[0]], check=True)
                        cancelled = running[0]
                time.sleep(1)
        finally:
            if process.poll() is None:  # SIGINT: after SIGTERM Snakemake waits for every queued job
                os.killpg(process.pid, signal.SIGINT)
                try:
                    process.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
    return process.returncode, cancelled, sorted({job["id"] for job in squeue()} - before, key=int)


@pytest.fixture(scope="module")
def runs(cluster, tmp_path_factory):
    """The SLURM run and, beside it (the cluster's jobs leave the cores idle while they are
    polled), a local run of the same targets in a second scratch copy."""
    local = scratch_copy(tmp_path_factory.mktemp("local"))
    local_command = [sys.executable, "-m", "snakemake", *TARGETS, "--cores", "2", "--configfile", str(TINY)]
    with open(local / "snakemake.log", "w") as log:
        local_process = subprocess.Popen(local_command, cwd=local, stdout=log, stderr=subprocess.STDOUT)
        try:
            workdir = fill_placeholders(scratch_copy(tmp_path_factory.mktemp("slurm")))
            started = time.monotonic()
            returncode, cancelled, job_ids = run_on_the_cluster(workdir, workdir / "snakemake.log")
            seconds = time.monotonic() - started
        finally:
            local_process.wait(TIMEOUT)
    print(f"SLURM run: {seconds:.0f} s, {len(job_ids)} jobs, job {cancelled} cancelled")
    output = (workdir / "snakemake.log").read_text()
    assert returncode == 0, output[-5000:]
    assert cancelled, "the group job was never seen running, so nothing was cancelled"
    assert local_process.returncode == 0, (local / "snakemake.log").read_text()[-5000:]
    return {
        "workdir": workdir,
        "local": local,
        "output": output,
        "cancelled": cancelled,
        "records": job_records(job_ids),
        "slurmctld_log": open(f"{cluster}/slurmctld.log").read(),
        "jobcomp_log": open(f"{cluster}/jobcomp.log").read(),
    }


def rule_of(record):
    """The rule (or group) a job ran: the plugin's --comment is rule_<name>[_wildcards_...]."""
    return record["Comment"].removeprefix("rule_").split("_wildcards_")[0]


def test_every_job_went_through_sbatch(runs):
    records = runs["records"]
    rules = sorted(rule_of(record) for record in records.values())
    # 5 sampling jobs, the group (twice: cancelled, then retried), calibrate and basins
    assert rules == sorted(["sample_problems"] * SAMPLES + [GROUP] * 2 + ["calibrate", "basins"])
    for job_id, record in records.items():
        # slurmctld's log: the submission (sbatch) and the end; the job completion log: its record
        assert re.search(rf"_slurm_rpc_submit_batch_job: JobId={job_id} ", runs["slurmctld_log"]), job_id
        assert re.search(rf"^JobId={job_id} .*JobState={record['JobState']} ", runs["jobcomp_log"], flags=re.M)
        assert record["WorkDir"] == str(runs["workdir"])
        assert record["Account"] == "lio"
        assert record["JobState"] == ("CANCELLED" if job_id == runs["cancelled"] else "COMPLETED"), record


def test_jobs_asking_for_a_gpu_ran_in_the_gpu_partition(runs):
    for record in runs["records"].values():
        if rule_of(record) == "sample_problems":
            assert (record["Partition"], record["NodeList"], record.get("TresPerJob")) == ("cpu", "lio-cpu", None)
        else:  # the group, calibrate, basins: one GPU each, on the GPU node
            assert (record["Partition"], record["NodeList"], record["TresPerJob"]) == ("gpu", "lio-gpu", "gres:gpu:1")
    # The group of four solves asked for one GPU, one CPU, the memory of its largest member
    # (2000 + 8 n MB at n = 8) and the members' minutes added (10 + 0.1 n each, rounded).
    group = [r for r in runs["records"].values() if rule_of(r) == GROUP and r["JobState"] == "COMPLETED"]
    assert len(group) == 1
    assert (group[0]["NumCPUs"], group[0]["TimeLimit"]) == ("1", "00:42:00")
    assert "mem=2064M" in group[0]["TRES"]
    # SLURM chose the GPU and told each member (lio.run.jobenv writes it into the job's log)
    for target in SOLVES:
        log = runs["workdir"] / target.replace("results/", "results/logs/").replace("/result.nc", ".log")
        assert re.search(r"gpu=1 CUDA_VISIBLE_DEVICES=\d+ ", log.read_text().splitlines()[0])


def test_the_outputs_equal_a_local_run(runs):
    for target in SOLVES:
        on_cluster = xr.open_dataset(runs["workdir"] / target)
        local = xr.open_dataset(runs["local"] / target)
        xr.testing.assert_equal(on_cluster, local)  # every variable and coordinate, exactly
        timeless = {name for name in local.attrs if name.startswith("wall_time")}
        assert on_cluster.attrs.keys() == local.attrs.keys()
        assert {k: v for k, v in on_cluster.attrs.items() if k not in timeless} == {
            k: v for k, v in local.attrs.items() if k not in timeless}
    for target in OTHERS:
        assert json.loads((runs["workdir"] / target).read_text()) == json.loads((runs["local"] / target).read_text())


def test_a_cancelled_job_is_retried_and_the_run_completes(runs):
    cancelled = runs["records"][runs["cancelled"]]
    assert rule_of(cancelled) == GROUP and cancelled["JobState"] == "CANCELLED"
    retried = [r for job_id, r in runs["records"].items() if rule_of(r) == GROUP and int(job_id) > int(runs["cancelled"])]
    assert [r["JobState"] for r in retried] == ["COMPLETED"]
    output = runs["output"]
    # SLURM's log of the job, which Snakemake shows: killed by scancel, then resubmitted
    assert f"*** JOB {runs['cancelled']} ON lio-gpu CANCELLED AT" in output
    assert "Error in group solve" in output and "Trying to restart job" in output
    assert f"{len(TARGETS) + SAMPLES} of {len(TARGETS) + SAMPLES} steps (100%) done" in output
