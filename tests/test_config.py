"""Bad configs stop the workflow before any job, with a message naming the key."""

import pytest

from tests.workflow_helpers import scratch_copy, snakemake

WP = "wavepacket"
BAD_CONFIGS = [
    ("misspelt method", {"experiments": {WP: {"methods": {"bfgss": {}}}}},
     "experiments.wavepacket.methods.bfgss: not a registered method; expected one of ['bfgs'"),
    ("negative n", {"experiments": {WP: {"ns": [-4, 8]}}}, "-4 is less than the minimum of 1"),
    ("unknown problem", {"experiments": {WP: {"problem": "wavepaket"}}},
     "experiments.wavepacket.problem: 'wavepaket' is not a registered problem"),
    ("misspelt top-level key", {"comparisson": {"rtol": 1e-6}},
     "Additional properties are not allowed ('comparisson' was unexpected)"),
    ("wrong type", {"experiments": {WP: {"seeds": "0,1"}}}, "'0,1' is not of type 'array'"),
    ("empty seeds", {"experiments": {WP: {"seeds": []}}}, "[] should be non-empty"),
    ("learning rate zero", {"experiments": {WP: {"methods": {"supervised": {"training": {"learning_rate": 0}}}}}},
     "0 is less than or equal to the minimum of 0"),
    ("bad problem parameter", {"experiments": {WP: {"params": {"t0_low": 300.0}}}},
     "experiments.wavepacket.params: wavepacket: t0_low=300.0 must be below t0_high=224.0"),
    ("unknown problem parameter", {"experiments": {WP: {"params": {"sigma": 3.0}}}},
     "unknown parameter(s) ['sigma']"),
    ("curves_n not swept", {"experiments": {WP: {"figures": {"curves_n": 5}}}},
     "experiments.wavepacket.figures.curves_n: 5 is not one of ns="),
    ("misspelt training key", {"experiments": {WP: {"methods": {"supervised": {"training": {"step": 10}}}}}},
     "Additional properties are not allowed ('step' was unexpected)"),
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return scratch_copy(tmp_path_factory.mktemp("config"))


@pytest.mark.parametrize("name, override, message", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_stops_before_any_job(workdir, name, override, message):
    result = snakemake(workdir, "-n", "--cores", "1", config=override)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert message in output, output
    assert "Traceback (most recent call last)" not in output
    assert "Job stats" not in output  # stopped while parsing: no job was scheduled
    assert not (workdir / "results").exists()


def test_good_config_dry_runs(workdir):
    result = snakemake(workdir, "-n", "--cores", "1")
    assert result.returncode == 0, result.stderr
    assert "solve" in result.stdout and "Job stats" in result.stdout
