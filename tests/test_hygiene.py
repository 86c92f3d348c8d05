"""Packaging and hygiene: the light core install, the licence, ruff and snakemake --lint."""

import shutil
import subprocess
import sys
import tomllib

import pytest

from tests.workflow_helpers import ROOT, scratch_copy, snakemake

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
HEAVY = ("matplotlib", "seaborn", "snakemake")

# lio.minimize on 4 two-parameter quadratics; prints which heavy modules got imported.
MINIMIZE_A_QUADRATIC = """
import sys
import jax.numpy as jnp
import lio

def forward(xi):
    return jnp.stack([xi[0], xi[1], xi[0] * xi[1]])

observed = jnp.stack([forward(jnp.array([0.1 * i, 0.2])) for i in range(1, 5)])
result = lio.minimize(forward, observed, bounds=[(0.0, 1.0), (0.0, 1.0)], steps=5)
assert result.x.shape == (4, 2), result.x.shape
print(sorted(name for name in sys.modules if name.split(".")[0] in {heavy}))
"""


def test_minimize_imports_no_workflow_or_plotting_package():
    code = MINIMIZE_A_QUADRATIC.format(heavy=set(HEAVY))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                            cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_workflow_and_figures_are_extras_the_test_extra_pulls_in():
    core = " ".join(PYPROJECT["dependencies"])
    assert not any(name in core for name in HEAVY), PYPROJECT["dependencies"]
    extras = PYPROJECT["optional-dependencies"]
    assert any(spec.startswith("snakemake") for spec in extras["workflow"])
    assert {spec.split(">")[0] for spec in extras["figures"]} == {"matplotlib", "seaborn"}
    # the README's `pip install -e ".[test]"`; the distribution is lio-inverse, the import name lio
    assert any(spec.startswith(f"{PYPROJECT['name']}[workflow,figures") for spec in extras["test"])


def test_license_file_matches_pyproject():
    assert PYPROJECT["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) 2026 The lio developers" in text


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is in the test extra")
def test_ruff_check_is_clean():
    result = subprocess.run(["ruff", "check", "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:]


def test_snakemake_lint_is_clean(tmp_path):
    result = snakemake(scratch_copy(tmp_path), "--lint", timeout=300)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "Congratulations" in result.stdout + result.stderr


def test_ci_runs_the_static_checks():
    script = (ROOT / ".ci/run").read_text().splitlines()
    assert "ruff check" in script and "snakemake --lint" in script
    # the README's test command (extra reporting flags such as --durations may follow it)
    tests = next(i for i, line in enumerate(script) if line.startswith('python -m pytest -m "not slow"'))
    assert script.index("snakemake --lint") < tests
