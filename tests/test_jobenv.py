"""Job environment: thread limits, GPU slot claiming, no GPU memory pre-allocation."""

import os
import subprocess
import sys

import pytest

from lio import jobenv


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("CUDA_VISIBLE_DEVICES", "XLA_FLAGS", "JAX_PLATFORMS", "XLA_PYTHON_CLIENT_PREALLOCATE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_cpu_job_gets_one_xla_thread_and_stays_off_the_gpu(clean_env):
    jobenv.prepare(threads=1, gpu=0)
    assert "intra_op_parallelism_threads=1" in os.environ["XLA_FLAGS"]
    assert os.environ["JAX_PLATFORMS"] == "cpu"
    assert os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"


def test_multithreaded_job_keeps_xla_threads(clean_env):
    jobenv.prepare(threads=4, gpu=0)
    assert "intra_op_parallelism_threads" not in os.environ.get("XLA_FLAGS", "")


CLAIM = "import sys; from lio.jobenv import claim_gpu; print(claim_gpu(2, sys.argv[1]))"


def test_concurrent_jobs_claim_distinct_gpus(tmp_path, clean_env):
    holder = subprocess.Popen(
        [sys.executable, "-c", CLAIM + "; sys.stdout.flush(); sys.stdin.read()", str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "0"  # first job takes GPU 0 and holds it
        second = subprocess.run([sys.executable, "-c", CLAIM, str(tmp_path)], capture_output=True, text=True)
        assert second.stdout.strip() == "1"
        third_env = dict(os.environ)
        holder_two = subprocess.Popen(
            [sys.executable, "-c", CLAIM + "; sys.stdout.flush(); sys.stdin.read()", str(tmp_path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=third_env,
        )
        assert holder_two.stdout.readline().strip() == "1"
        none_left = subprocess.run([sys.executable, "-c", CLAIM, str(tmp_path)], capture_output=True, text=True)
        assert none_left.stdout.strip() == "None"
        holder_two.communicate("")
    finally:
        holder.communicate("")
    # Both holders exited: their locks are released.
    again = subprocess.run([sys.executable, "-c", CLAIM, str(tmp_path)], capture_output=True, text=True)
    assert again.stdout.strip() == "0"


def test_scheduler_assignment_is_respected(tmp_path, clean_env):
    clean_env.setenv("CUDA_VISIBLE_DEVICES", "3")
    assert jobenv.claim_gpu(4, str(tmp_path)) is None
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "3"
