"""Run the real Snakemake workflow in a scratch copy of the repository."""

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def scratch_copy(directory: Path) -> Path:
    # paper/: the LaTeX sources and the committed record, not the generated paper of the last run.
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "generated", "build", "main.pdf")
    for name in ("Snakefile", "workflow", "config", "profiles", "src", "paper"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, directory / name, ignore=ignore)
        else:
            shutil.copy(source, directory / name)
    return directory


def snakemake(directory: Path, *args: str, config: dict | None = None, configfile: Path | None = None, timeout: int = 900):
    command = [sys.executable, "-m", "snakemake", *args]
    if config is not None:
        path = directory / "override.yaml"
        path.write_text(yaml.safe_dump(config))
        command += ["--configfile", str(path)]
    if configfile is not None:
        command += ["--configfile", str(configfile)]
    return subprocess.run(command, cwd=directory, capture_output=True, text=True, timeout=timeout)
