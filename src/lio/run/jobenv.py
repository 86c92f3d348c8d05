"""Per-job process set-up for workflow jobs; must run BEFORE jax is imported.

- CPU: XLA's thread pool is limited to the job's Snakemake ``threads`` so that
  ``--cores N`` running several jobs at once does not oversubscribe the cores.
- GPU: JAX must not pre-allocate 75% of a GPU per process (several jobs may share one), and on
  a machine with several GPUs each concurrent job takes its own: Snakemake limits how many GPU
  jobs run (``gpu`` resource) but never sets ``CUDA_VISIBLE_DEVICES``, so a job claims the first
  free GPU slot with an exclusive file lock held for the life of the process.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path

_held_locks: list = []  # keeps claimed GPU slots locked until the process exits


def gpu_count() -> int:
    """Number of NVIDIA GPUs that ``nvidia-smi -L`` lists (0 without a driver)."""
    if shutil.which("nvidia-smi") is None:
        return 0
    try:
        listing = subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in listing.splitlines() if line.startswith("GPU "))


def claim_gpu(count: int, lock_dir: str | None = None) -> int | None:
    """Lock the first free GPU slot of ``count`` and expose only that GPU to this process.

    The locks live in ``lock_dir``, by default a directory of this user's own under the temp
    directory (a shared ``/tmp/lio-gpu-0.lock`` of one user stopped every other user's jobs).
    Returns the claimed index, or None when the scheduler already chose (CUDA_VISIBLE_DEVICES
    set, e.g. by SLURM), no slot is free, or no lock can be taken there (with a warning).
    """
    if os.environ.get("CUDA_VISIBLE_DEVICES") or count <= 0:
        return None
    directory = Path(lock_dir) if lock_dir else default_lock_dir()
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        _warn_no_lock(directory, error)
        return None
    for index in range(count):
        try:
            handle = open(directory / f"lio-gpu-{index}.lock", "w")
        except OSError as error:  # e.g. another user's lock file in a shared directory
            _warn_no_lock(directory, error)
            return None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        _held_locks.append(handle)
        os.environ["CUDA_VISIBLE_DEVICES"] = str(index)
        return index
    return None


def default_lock_dir() -> Path:
    """This user's directory of GPU slot locks (one per user: /tmp is shared, its files are not)."""
    return Path(tempfile.gettempdir()) / f"lio-gpu-locks-{os.getuid()}"


def _warn_no_lock(directory: Path, error: OSError) -> None:
    print(
        f"lio: cannot lock a GPU slot in {directory} ({error}); this job leaves the choice of GPU "
        "to CUDA (set CUDA_VISIBLE_DEVICES, or make the directory writable, to pick one)",
        file=sys.stderr,
        flush=True,
    )


def put_first_on_pythonpath(directory: str) -> None:
    """Make ``directory`` the first entry of ``PYTHONPATH`` (once), keeping the others in order.

    The workflow puts its checkout's ``src`` there, so that every job, including those in
    --use-conda envs and on cluster nodes, imports that lio and not an installed one.
    """
    others = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != directory]
    os.environ["PYTHONPATH"] = os.pathsep.join([directory, *others])


def limit_xla_cpu_threads(threads: int) -> None:
    """With ``threads == 1``, run XLA's CPU work on one thread (call before importing jax)."""
    flags = os.environ.get("XLA_FLAGS", "")
    if threads == 1 and "xla_cpu_multi_thread_eigen" not in flags:
        flags += " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    os.environ["XLA_FLAGS"] = flags.strip()


def prepare(threads: int, gpu: int) -> None:
    """Set the environment of one workflow job (call before importing jax).

    Args:
        threads: CPU threads the job may use (Snakemake's ``threads``).
        gpu: GPUs requested by the job (its ``gpu`` resource, 0 or 1).
    """
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    limit_xla_cpu_threads(threads)
    if gpu:
        claim_gpu(gpu_count())
    else:
        # A CPU job must not touch (or initialise) a GPU another job is using.
        os.environ.setdefault("JAX_PLATFORMS", "cpu")


@contextlib.contextmanager
def start(snakemake) -> Iterator[None]:
    """Run a workflow script's body with its output in the job's log and the job's
    environment prepared (threads, GPU) before jax is imported inside the block."""
    resources = getattr(snakemake, "resources", {})
    gpu = int(resources.get("gpu", 0)) if hasattr(resources, "get") else 0
    prepare(int(getattr(snakemake, "threads", 1)), gpu)
    with open(snakemake.log[0], "w") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        print(
            f"lio job: threads={snakemake.threads} gpu={gpu} "
            f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '')} "
            f"JAX_PLATFORMS={os.environ.get('JAX_PLATFORMS', '')} "
            f"lio={Path(__file__).resolve().parents[1]}",
            flush=True,
        )
        try:
            yield
        except BaseException:
            traceback.print_exc()  # into the job's log, where Snakemake's message points
            raise
