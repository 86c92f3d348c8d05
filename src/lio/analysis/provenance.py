"""Where a result came from: lio version, git SHA, package versions, device, run config."""

from __future__ import annotations

import json
import os
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from lio.core.version import VERSION

PACKAGES = ("jax", "jaxlib", "flax", "optax", "optimistix", "numpy", "xarray", "snakemake")


# Tracked files the workflow itself writes (the record and the report built from it): a
# `snakemake publish` run rewrites them while its solve jobs still run, so a change there must
# not mark those jobs' commit as uncommitted ('-dirty'); a change anywhere else does.
RECORD_OUTPUTS = ("paper/data", "paper/figures", "paper/generated", "paper/main.pdf")


def git_sha(directory: str | Path | None = None) -> str:
    """HEAD of the repository holding ``directory`` (default: lio's source), or 'unknown';
    with '-dirty' when a tracked file outside ``RECORD_OUTPUTS`` has uncommitted changes.

    ``LIO_GIT_SHA`` overrides it, for copies of a checkout without ``.git`` (cluster staging).
    """
    if os.environ.get("LIO_GIT_SHA"):
        return os.environ["LIO_GIT_SHA"]
    directory = Path(directory or Path(__file__).resolve().parent)
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ":(top)",
             *(f":(top,exclude){path}" for path in RECORD_OUTPUTS)],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def device() -> str:
    import jax

    first = jax.devices()[0]
    return f"{first.platform}:{getattr(first, 'device_kind', 'unknown')} x{jax.device_count()}"


def provenance(config: dict[str, Any] | None = None) -> dict[str, str]:
    """Attributes stored on every results file (strings only, netCDF-safe)."""
    return {
        "lio_version": VERSION,
        "git_sha": git_sha(),
        "packages": json.dumps(package_versions(), sort_keys=True),
        "device": device(),
        "config": json.dumps(config or {}, sort_keys=True),
    }
