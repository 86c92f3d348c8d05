"""Cluster profile and rerun policy, checked by real Snakemake dry runs."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import yaml

from lio.run import observations
from tests.workflow_helpers import ROOT, scratch_copy, snakemake

TINY = ROOT / "tests/data/tiny.yaml"
SOLVE_TARGETS = [  # the 8 bfgs runs of the tiny config: exactly one group of 8
    f"results/{problem}/bfgs/n{n}/seed0/result.nc"
    for problem in ("wavepacket", "billiards", "kuramoto_sivashinsky", "navier_stokes")
    for n in (4, 8)
]
SAMPLE_TARGET = "results/wavepacket/data/n16/seed0.nc"  # one ungrouped CPU job
# What a user writes over profiles/slurm's placeholders; the local cluster's names
# (profiles/slurm/local-cluster/slurm.conf: partitions cpu and gpu; no accounting, any account).
FILLED = {"<ACCOUNT>": "lio", "<CPU_PARTITION>": "cpu", "<GPU_PARTITION>": "gpu"}

# Stand-ins for the cluster's commands. sbatch records its argv (one JSON list a line) and
# answers like `sbatch --parsable`; the job never runs, so Snakemake waits and is killed.
FAKE_SBATCH = f"""#!{sys.executable}
import json, os, sys
sys.stdin.read()
with open(os.environ["FAKE_SBATCH_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
print("Submitted batch job 1")
"""
# Just enough of conda for `--list-conda-envs`, which creates no environment.
FAKE_CONDA = """#!/bin/sh
case "$1" in
  --version) echo "conda 24.11.0" ;;
  config) echo '{"get": {"channel_priority": "strict"}}' ;;
  *) echo '{"conda_prefix": "/nonexistent", "platform": "linux-64", "envs_dirs": []}' ;;
esac
"""


def fake_cluster_bin(directory):
    """A bin directory with a recording sbatch, a fake conda, quiet SLURM query tools and an
    nvidia-smi that lists no GPU (the submit host of a cluster usually has none)."""
    directory.mkdir()
    scripts = {"sbatch": FAKE_SBATCH, "conda": FAKE_CONDA, "nvidia-smi": "#!/bin/sh\nexit 0\n"}
    for tool in ("sinfo", "squeue", "sacct", "sacctmgr", "sshare", "scontrol"):
        scripts[tool] = "#!/bin/sh\nexit 0\n"
    for name, text in scripts.items():
        (directory / name).write_text(text)
        (directory / name).chmod(0o755)
    return directory


def fill_placeholders(workdir, filled=FILLED):
    """Replace the placeholders of the scratch copy's profiles/slurm, as a user does."""
    profile = workdir / "profiles/slurm/config.yaml"
    text = profile.read_text()
    for placeholder, name in filled.items():
        assert placeholder in text, placeholder
        text = text.replace(placeholder, name)
    profile.write_text(text)
    return workdir


def job_resources(output):
    """(rule, resources) of every job of a dry run, group members included."""
    blocks = re.split(r"^\s*(?:local)?rule (\w+):$", output, flags=re.M)
    jobs = []
    for rule, block in zip(blocks[1::2], blocks[2::2]):
        resources = re.search(r"^\s*resources: (.*)$", block, flags=re.M)
        jobs.append((rule, dict(item.split("=", 1) for item in resources.group(1).split(", ")) if resources else {}))
    return jobs


def submitted_sbatch_calls(workdir, bin_dir, targets, expected_calls, timeout=300):
    """Run the SLURM profile until ``expected_calls`` sbatch calls are recorded; their argvs."""
    log = workdir / "sbatch-calls.jsonl"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_SBATCH_LOG": str(log)}
    command = [sys.executable, "-m", "snakemake", *targets, "--workflow-profile", "profiles/slurm",
               "--configfile", str(TINY)]
    with open(workdir / "snakemake.out", "w") as output:
        process = subprocess.Popen(command, cwd=workdir, env=env, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline and process.poll() is None:
                if log.exists() and len(log.read_text().splitlines()) >= expected_calls:
                    time.sleep(1)  # let a further (unexpected) call show up
                    break
                time.sleep(0.5)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    assert len(calls) == expected_calls, (workdir / "snakemake.out").read_text()[-3000:]
    return calls


def sbatch_request(argv):
    """What one sbatch call asks for: rule, partition, gpus, cpus, mem (MB), time (min)."""
    options = dict(zip(argv, argv[1:]))
    flags = dict(a.split("=", 1) for a in argv if a.startswith("--") and "=" in a and " " not in a)
    return {
        "rule": options["--comment"],
        "partition": options["-p"],
        "gpus": int(flags["--gpus"]) if "--gpus" in flags else None,
        "cpus": int(flags["--cpus-per-task"]),
        "mem_mb": int(options["--mem"]),
        "runtime": int(options["-t"]),
    }


def merged(base, update):
    """``update`` merged into ``base`` key by key, as Snakemake merges a --configfile."""
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged(base[key], value)
        else:
            base[key] = value
    return base


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return fill_placeholders(scratch_copy(tmp_path_factory.mktemp("profiles")))


def test_slurm_profile_sends_every_gpu_job_to_the_gpu_partition(workdir):
    """Issue 41: calibrate and basins jobs ask for a GPU as solve jobs do; in the CPU partition
    (no GPUs on the usual cluster) sbatch refused every one of them."""
    result = snakemake(workdir, "-n", "--workflow-profile", "profiles/slurm", configfile=ROOT / "config/quick.yaml")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    jobs = job_resources(output)
    solve_resources = [resources for rule, resources in jobs if rule == "solve"]
    config = merged(yaml.safe_load((ROOT / "config/config.yaml").read_text()),
                    yaml.safe_load((ROOT / "config/quick.yaml").read_text()))
    blocks = [*config["experiments"].values(), *observations.experiments(config).values()]
    expected = sum(len(b["ns"]) * len(b["seeds"]) * len(b["methods"]) for b in blocks)
    assert len(solve_resources) == expected  # (experiments and observation amounts) x n x seeds x methods
    # compute.gpu: true gives every solve, calibrate and basins job a GPU; each such job, and
    # only such a job, goes to the GPU partition
    gpu_rules = {"solve", "calibrate", "basins"}
    assert {rule for rule, _ in jobs} >= gpu_rules
    for rule, resources in jobs:
        if not resources:  # rule all
            continue
        gpu = resources.get("gpu", "0")
        assert (gpu, resources["slurm_partition"]) == (("1", "gpu") if rule in gpu_rules else ("0", "cpu")), rule
    assert "Group job solve" in output  # solve jobs are batched into SLURM jobs


def test_slurm_profile_placeholders_are_refused_in_one_line(tmp_path):
    """The profile as shipped stops before any job, naming what to replace and where."""
    workdir = scratch_copy(tmp_path)
    result = snakemake(workdir, "-n", "--workflow-profile", "profiles/slurm", configfile=TINY)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Job stats" not in output
    message = [line for line in output.splitlines() if line.startswith("replace the placeholders")]
    assert message == [
        "replace the placeholders <ACCOUNT> (slurm_account), <CPU_PARTITION> (slurm_partition), "
        "<GPU_PARTITION> (slurm_partition) in profiles/slurm/config.yaml (or your copy of it) with your "
        "cluster's account and partitions (sacctmgr show associations user=$USER; sinfo -s); nothing was run"
    ]
    fill_placeholders(workdir, {"<ACCOUNT>": "lio", "<CPU_PARTITION>": "cpu"})  # one left over
    result = snakemake(workdir, "-n", "--workflow-profile", "profiles/slurm", configfile=TINY)
    assert result.returncode != 0
    assert "replace the placeholders <GPU_PARTITION> (slurm_partition) in" in result.stdout + result.stderr


def test_local_cpu_run_requests_no_gpu(workdir):
    result = snakemake(workdir, "-n", "--cores", "2", configfile=ROOT / "config/quick.yaml")
    solve_resources = re.findall(r"rule solve:.*?resources: ([^\n]*)", result.stdout, flags=re.S)
    assert solve_resources and all("gpu=0" in r for r in solve_resources)


def test_slurm_group_job_asks_for_one_member_not_the_sum(tmp_path):
    (tmp_path / "work").mkdir()
    workdir = fill_placeholders(scratch_copy(tmp_path / "work"))
    for target in SOLVE_TARGETS:  # inputs present: the 8 solve jobs are ready at once
        data = workdir / target.replace("bfgs/", "data/").replace("/seed0/result.nc", "/seed0.nc")
        data.parent.mkdir(parents=True, exist_ok=True)
        data.touch()
    calls = submitted_sbatch_calls(workdir, fake_cluster_bin(tmp_path / "bin"),
                                   SOLVE_TARGETS + [SAMPLE_TARGET], expected_calls=2)
    requests = {request["rule"].split("_wildcards")[0]: request for request in map(sbatch_request, calls)}
    # The group of 8 solve jobs: one GPU, the cpus and memory of its largest member (n = 8:
    # 2000 + 8 * 8 MB, compute.* of config/config.yaml), the members' runtimes added up
    # (10 + 0.1 n minutes, rounded: 4 x 10 + 4 x 11), since they run one after another.
    assert requests["rule_solve_solve"] == {
        "rule": "rule_solve_solve", "partition": "gpu", "gpus": 1, "cpus": 1,
        "mem_mb": 2000 + 8 * 8, "runtime": 4 * 10 + 4 * 11,
    }
    # Sampling: CPU partition, no GPU, the profile's defaults.
    sample = requests["rule_sample_problems"]
    assert (sample["partition"], sample["gpus"], sample["cpus"], sample["mem_mb"]) == ("cpu", None, 1, 2000)


def test_slurm_profile_gives_solve_jobs_the_cuda_env(workdir, tmp_path):
    """The profile decides (compute.gpu: true), not nvidia-smi on the GPU-less submit host."""
    bin_dir = fake_cluster_bin(tmp_path / "bin")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    command = [sys.executable, "-m", "snakemake", "--workflow-profile", "profiles/slurm", "--use-conda",
               "--list-conda-envs", "--configfile", str(TINY)]
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "workflow/envs/lio-cuda.yaml" in result.stdout


@pytest.mark.parametrize("spelled, expected", [("True", True), ("true", True), ("False", False), ("auto", "auto")])
def test_command_line_gpu_switch_is_a_boolean_again(spelled, expected):
    from lio.run.config import restore_booleans

    config = {"compute": {"gpu": spelled, "threads": 1}}
    restore_booleans(config)
    assert config == {"compute": {"gpu": expected, "threads": 1}}


def test_every_boolean_the_schema_types_is_a_boolean_again():
    from lio.run.config import load_schema, restore_booleans

    schema = load_schema(
        os.path.join(
            os.path.dirname(__file__), "..", "workflow/schemas/config.schema.yaml"
        )
    )
    config = {
        "publish": "true",
        "publish_allow_uncommitted": "False",
        "compute": {"gpu": "True"},
        "experiments": {},
    }
    restore_booleans(config, schema)
    assert (
        config["publish"] is True
        and config["publish_allow_uncommitted"] is False
        and config["compute"]["gpu"] is True
    )
