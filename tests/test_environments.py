"""conda environment files stay in step with pyproject.toml (conda itself is not needed)."""

import re
import tomllib

import pytest
import yaml

from tests.workflow_helpers import ROOT

# conda-forge names that differ from PyPI's.
CONDA_NAME = {"matplotlib": "matplotlib-base"}


def requirement(spec: str) -> tuple[str, str]:
    name, bound = re.match(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*)", spec).groups()
    return CONDA_NAME.get(name.lower(), name.lower()), bound.replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    """The library's dependencies and those of the workflow and figures extras (the conda
    files are for running the workflow)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    specs = project["dependencies"] + extras["workflow"] + extras["figures"]
    return dict(requirement(s) for s in specs if requirement(s)[0] != project["name"])  # lio-inverse[...]


def conda_requirements(path) -> dict[str, str]:
    dependencies = yaml.safe_load((ROOT / path).read_text())["dependencies"]
    return dict(requirement(d) for d in dependencies if isinstance(d, str))


@pytest.mark.parametrize(
    "path",
    ["environment.yml", "environment-cuda.yml", "workflow/envs/lio.yaml", "workflow/envs/lio-cuda.yaml"],
)
def test_conda_env_pins_what_pyproject_pins(path):
    conda = conda_requirements(path)
    for name, bound in pyproject_requirements().items():
        if path.startswith("workflow") and name == "snakemake":
            continue  # the scheduler runs outside the rule environments
        assert name in conda, f"{path} lacks {name} (pyproject.toml asks for {name}{bound})"
        assert conda[name] == bound, f"{path}: {name}{conda[name]} but pyproject.toml says {name}{bound}"


@pytest.mark.parametrize("path", ["environment.yml", "environment-cuda.yml"])
def test_top_level_environment_installs_lio_itself(path):
    dependencies = yaml.safe_load((ROOT / path).read_text())["dependencies"]
    pip = next(d["pip"] for d in dependencies if isinstance(d, dict))
    assert "-e ." in pip


@pytest.mark.parametrize("path", ["environment-cuda.yml", "workflow/envs/lio-cuda.yaml"])
def test_gpu_variants_ask_for_a_cuda_jaxlib(path):
    dependencies = yaml.safe_load((ROOT / path).read_text())["dependencies"]
    assert "jaxlib=*=*cuda*" in dependencies
