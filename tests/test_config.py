"""Bad configs stop the workflow before any job, with a message naming the key."""

import re

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
    ("misspelt experiment key", {"experiments": {WP: {"seed": [0]}}},
     "Additional properties are not allowed ('seed' was unexpected)"),
    ("zero n", {"experiments": {WP: {"ns": [0]}}}, "0 is less than the minimum of 1"),
    ("only an unknown method", {"only_methods": ["reparametrized"]},
     "only_methods: ['reparametrized'] are not registered methods; expected some of ['bfgs'"),
    ("duplicate n", {"experiments": {WP: {"ns": [4, 4]}}}, "has non-unique elements"),
    ("negative seed", {"experiments": {WP: {"seeds": [-1]}}}, "-1 is less than the minimum of 0"),
    ("n not an integer", {"experiments": {WP: {"ns": [4.5]}}}, "4.5 is not of type 'integer'"),
    ("negative learning rate", {"experiments": {WP: {"methods": {"reparameterized": {"training": {"learning_rate": -0.1}}}}}},
     "-0.1 is less than or equal to the minimum of 0"),
    ("zero training steps", {"experiments": {WP: {"methods": {"reparameterized": {"training": {"steps": 0}}}}}},
     "0 is less than the minimum of 1"),
    ("unknown network kind", {"experiments": {WP: {"methods": {"reparameterized": {"network": {"kind": "transformer"}}}}}},
     "'transformer' is not one of ['conv', 'mlp', 'unet']"),
    ("unknown activation", {"experiments": {WP: {"methods": {"neural_adjoint": {"surrogate": {"activation": "swish"}}}}}},
     "'swish' is not one of ['relu', 'sigmoid', 'tanh', 'gelu']"),
    ("option of another method", {"experiments": {WP: {"methods": {"reparameterized": {"boundary_weight": 3.0}}}}},
     "experiments.wavepacket.methods.reparameterized: method 'reparameterized': unknown option(s) ['boundary_weight']"),
    ("confidence above one", {"comparison": {"confidence": 1.5}}, "1.5 is greater than or equal to the maximum of 1"),
    ("too few bootstrap resamples", {"comparison": {"bootstrap_resamples": 3}}, "3 is less than the minimum of 10"),
    ("zero BFGS iterations", {"bfgs": {"max_iterations": 0}}, "0 is less than the minimum of 1"),
    ("negative BFGS tolerance", {"bfgs": {"rtol": -1e-9}}, "-1e-09 is less than or equal to the minimum of 0"),
    ("unknown BFGS solver", {"bfgs": {"solver": "newton"}}, "'newton' is not one of ['bfgs', 'lbfgs']"),
    ("BFGS batch size for an unknown platform", {"bfgs": {"batch_size": {"tpu": 1}}},
     "number per platform: {cpu: 1, gpu: 0}"),
    ("experiment's L-BFGS memory zero", {"experiments": {WP: {"bfgs": {"solver": "lbfgs", "history_length": 0}}}},
     "0 is less than the minimum of 1"),
    ("bounds with min >= max", {"experiments": {WP: {"params": {"t0_low": 100.0, "t0_high": 100.0}}}},
     "t0_low=100.0 must be below t0_high=100.0"),
    ("figure example beyond n", {"experiments": {WP: {"figures": {"example": 999}}}},
     "experiments.wavepacket.figures.example: 999 must be below the largest n (256)"),
    ("gpu not a boolean", {"compute": {"gpu": "yes"}}, "'yes' is not one of ['auto', True, False]"),
    # the schema's description says what runs_per_job takes and what to set
    ("zero runs per job", {"compute": {"runs_per_job": 0}}, "0 is less than the minimum of 1"),
    ("runs per job not an integer", {"compute": {"runs_per_job": 1.5}}, "Set compute.runs_per_job to 1, 2, 4, ..."),
    # Problem params are checked against the problem class's fields (lio.problems.schema).
    ("problem parameter not a number", {"experiments": {WP: {"params": {"amplitude": "one"}}}},
     "experiments.wavepacket.params.amplitude: expected a number, got 'one'"),
    ("problem parameter float for int", {"experiments": {WP: {"params": {"num_samples": 256.5}}}},
     "experiments.wavepacket.params.num_samples: expected an integer, got 256.5"),
    ("problem parameter list too short", {"experiments": {"billiards": {"params": {"cue_centre": [0.5]}}}},
     "experiments.billiards.params.cue_centre: expected a list of 2 numbers, got [0.5]"),
    ("landscape parameter beyond the problem's", {"experiments": {WP: {"figures": {"landscape_parameter": 5}}}},
     "experiments.wavepacket.figures.landscape_parameter: 5 is not a parameter of wavepacket; expected an index below 1"),
    ("learned gradient mode", {"experiments": {WP: {"methods": {"learned_gradient": {"mode": "unsupervised"}}}}},
     "'unsupervised' is not one of ['joint', 'supervised']"),
    ("learned gradient conv for a vector unknown", {"experiments": {"billiards": {"methods": {"learned_gradient": {"network": {"kind": "conv"}}}}}},
     "experiments.billiards.methods.learned_gradient: learned_gradient: network kind 'conv' does not fit an unknown of shape (2,); expected kind 'mlp'"),
    ("diffusion unet for a vector unknown", {"experiments": {"billiards": {"methods": {"diffusion": {"network": {"kind": "unet"}}}}}},
     "experiments.billiards.methods.diffusion: diffusion: network kind 'unet' does not fit an unknown of shape (2,); expected kind 'mlp'"),
    ("diffusion negative guidance ladder", {"calibration": {"guidance_scales": [1.0, -0.1]}},
     "-0.1 is less than the minimum of 0"),
    ("invalid experiment name", {"experiments": {"Wave-Packet": {"problem": "wavepacket", "ns": [4], "seeds": [0], "methods": {"bfgs": {}}}}},
     "'Wave-Packet' does not match"),
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


def test_an_experiment_may_choose_its_own_bfgs_solver(workdir):
    override = {"experiments": {WP: {"bfgs": {"solver": "lbfgs", "history_length": 5}}}}
    result = snakemake(workdir, "-n", "--cores", "1", config=override)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "solve" in result.stdout and "Job stats" in result.stdout


def test_only_methods_runs_just_those_methods_and_bfgs(workdir):
    """A machine that affords some methods records just those: their runs, BFGS's, and no other."""
    from tests.workflow_helpers import ROOT

    result = snakemake(
        workdir, "-n", "--cores", "1", "--config", "only_methods=[diffusion]",
        configfile=ROOT / "tests/data/tiny.yaml",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    solved = set(re.findall(r"wildcards: problem=(\w+), method=(\w+)", result.stdout))
    assert {method for _, method in solved} == {"bfgs", "diffusion"}, solved
    # Every experiment keeps its BFGS reference; billiards, which has no prior, keeps only that.
    assert ("billiards", "bfgs") in solved and ("billiards", "diffusion") not in solved
    assert ("wavepacket", "diffusion") in solved


MISSING_BLOCKS = [
    ("no experiments block", lambda c: c.pop("experiments"), "'experiments' is a required property"),
    ("no methods block", lambda c: c["experiments"]["wavepacket"].pop("methods"), "'methods' is a required property"),
    ("no comparison block", lambda c: c.pop("comparison"), "'comparison' is a required property"),
    ("methods without bfgs", lambda c: c["experiments"]["wavepacket"]["methods"].pop("bfgs"),
     "experiments.wavepacket.methods: must include 'bfgs'"),
]


@pytest.mark.parametrize("name, remove, message", MISSING_BLOCKS, ids=[c[0] for c in MISSING_BLOCKS])
def test_missing_block_stops_before_any_job(tmp_path, name, remove, message):
    import yaml

    workdir = scratch_copy(tmp_path)
    config_path = workdir / "config/config.yaml"
    config = yaml.safe_load(config_path.read_text())
    remove(config)
    config_path.write_text(yaml.safe_dump(config))
    result = snakemake(workdir, "-n", "--cores", "1")
    output = result.stdout + result.stderr
    assert result.returncode != 0 and message in output, output
    assert "Traceback (most recent call last)" not in output


def test_at_least_twenty_malformed_configs_are_covered():
    assert len(BAD_CONFIGS) + len(MISSING_BLOCKS) >= 20
