"""Job environment: thread limits, GPU slot claiming, no GPU memory pre-allocation."""

import os
import subprocess
import sys

import pytest

from lio.run import jobenv


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


CLAIM = "import sys; from lio.run.jobenv import claim_gpu; print(claim_gpu(2, sys.argv[1]))"


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


def test_gpu_locks_live_in_a_directory_of_this_users_own(tmp_path, clean_env):
    """Issue 22.5: /tmp/lio-gpu-<i>.lock of another user made every later user's GPU job fail."""
    clean_env.setattr(jobenv.tempfile, "tempdir", str(tmp_path))
    directory = jobenv.default_lock_dir()
    assert directory.parent == tmp_path and directory.name == f"lio-gpu-locks-{os.getuid()}"
    assert jobenv.claim_gpu(1) == 0
    assert (directory / "lio-gpu-0.lock").exists() and oct(directory.stat().st_mode & 0o777) == "0o700"


def test_an_unusable_lock_directory_leaves_the_gpu_to_cuda(tmp_path, clean_env, capsys):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    assert jobenv.claim_gpu(2, str(blocked)) is None
    # another user's lock that cannot be opened (here: a directory where the file should be)
    (tmp_path / "locks" / "lio-gpu-0.lock").mkdir(parents=True)
    assert jobenv.claim_gpu(2, str(tmp_path / "locks")) is None
    assert "CUDA_VISIBLE_DEVICES" not in os.environ
    assert capsys.readouterr().err.count("cannot lock a GPU slot") == 2


def test_checkout_goes_first_on_pythonpath_once(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(["/other", "/checkout/src", "", "/more"]))
    jobenv.put_first_on_pythonpath("/checkout/src")
    jobenv.put_first_on_pythonpath("/checkout/src")
    assert os.environ["PYTHONPATH"] == os.pathsep.join(["/checkout/src", "/other", "/more"])
