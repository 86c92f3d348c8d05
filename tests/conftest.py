"""Shared fixtures: float64 for the physics and BFGS checks, explicit PRNG keys everywhere."""

import jax
import pytest

jax.config.update("jax_enable_x64", True)

from lio.problems import PROBLEMS  # noqa: E402

ALL_PROBLEMS = sorted(PROBLEMS)


@pytest.fixture
def key():
    return jax.random.PRNGKey(1234)


@pytest.fixture(scope="session")
def finished(tmp_path_factory):
    """A scratch copy of the repository after a complete real run of tests/data/tiny.yaml,
    with the two tiny sensitivity studies of tests/data/tiny_studies.yaml."""
    from tests.workflow_helpers import ROOT, scratch_copy, snakemake

    workdir = scratch_copy(tmp_path_factory.mktemp("workflow"))
    result = snakemake(
        workdir, "--cores", "2", "--configfile", str(ROOT / "tests/data/tiny.yaml"),
        str(ROOT / "tests/data/tiny_studies.yaml"),
        timeout=1800,  # a hang guard: 413 s on a quiet 2-core CI machine, 730 s beside a 2-core job
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return workdir
