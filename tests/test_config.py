"""Bad configs stop the workflow before any job, with a message naming the key."""

import copy
import re

import pytest
import yaml
from snakemake.utils import update_config

from lio.run import observations
from lio.run.config import drop_null_experiments, schema_problems, workflow_problems
from tests.workflow_helpers import ROOT, scratch_copy, snakemake

WP = "wavepacket"
BAD_CONFIGS = [
    ("misspelt method", {"experiments": {WP: {"methods": {"bfgss": {}}}}},
     "experiments.wavepacket.methods.bfgss: not a registered method; expected one of ['"),
    ("misspelt method's suggestion", {"experiments": {WP: {"methods": {"bfgss": {}}}}}, "; did you mean 'bfgs'?"),
    ("negative n", {"experiments": {WP: {"ns": [-4, 8]}}}, "experiments.wavepacket.ns[0]: expected an integer >= 1, got -4; fix the value (ns: problem-set sizes n)"),
    ("unknown problem", {"experiments": {WP: {"problem": "wavepaket"}}},
     "experiments.wavepacket.problem: 'wavepaket' is not a registered problem; expected one of ['"),
    ("misspelt top-level key", {"comparisson": {"rtol": 1e-6}},
     "comparisson: not a top-level key; expected one of bfgs, calibration, comparison, compute, experiments, "
     "only_methods, paper_source, publish, publish_allow_uncommitted, studies, got 'comparisson' "
     "(did you mean comparison?); rename it or remove it"),
    ("wrong type", {"experiments": {WP: {"seeds": "0,1"}}}, "experiments.wavepacket.seeds: expected a non-empty list of distinct integers >= 0, got '0,1'"),
    ("empty seeds", {"experiments": {WP: {"seeds": []}}}, "experiments.wavepacket.seeds: expected a non-empty list of distinct integers >= 0, got []"),
    ("learning rate zero", {"experiments": {WP: {"methods": {"supervised": {"training": {"learning_rate": 0}}}}}},
     "experiments.wavepacket.methods.supervised.training.learning_rate: expected a number > 0, got 0; fix the value (learning_rate: Adam step size)"),
    ("bad problem parameter", {"experiments": {WP: {"params": {"t0_low": 300.0}}}},
     "experiments.wavepacket.params: wavepacket: t0_low=300.0 must be below t0_high=224.0"),
    ("unknown problem parameter", {"experiments": {WP: {"params": {"sigma": 3.0}}}},
     "unknown parameter(s) ['sigma']"),
    ("curves_n not swept", {"experiments": {WP: {"figures": {"curves_n": 5}}}},
     "experiments.wavepacket.figures.curves_n: 5 is not one of ns="),
    ("misspelt training key", {"experiments": {WP: {"methods": {"supervised": {"training": {"step": 10}}}}}},
     "experiments.wavepacket.methods.supervised.training.step: not a key of experiments.wavepacket.methods.supervised.training; "
     "expected one of batch_size, clip_norm, learning_rate, log_every, monitor_every, schedule, steps, got 'step' (did you mean steps?)"),
    ("misspelt experiment key", {"experiments": {WP: {"seed": [0]}}},
     "experiments.wavepacket.seed: not a key of experiments.wavepacket; expected one of basins, bfgs, calibration, "
     "figures, methods, ns, observations, params, problem, seeds, training_set_size, got 'seed' (did you mean seeds?); rename it or remove it"),
    ("zero n", {"experiments": {WP: {"ns": [0]}}}, "experiments.wavepacket.ns[0]: expected an integer >= 1, got 0"),
    ("only an unknown method", {"only_methods": ["reparametrized"]},
     "only_methods: ['reparametrized'] are not registered methods; expected some of ['"),
    ("duplicate n", {"experiments": {WP: {"ns": [4, 4]}}}, "experiments.wavepacket.ns: expected distinct values, got [4, 4] (4 more than once); list each value once"),
    ("negative seed", {"experiments": {WP: {"seeds": [-1]}}}, "experiments.wavepacket.seeds[0]: expected an integer >= 0, got -1"),
    ("n not an integer", {"experiments": {WP: {"ns": [4.5]}}}, "experiments.wavepacket.ns[0]: expected an integer >= 1, got 4.5"),
    ("negative learning rate", {"experiments": {WP: {"methods": {"reparameterized": {"training": {"learning_rate": -0.1}}}}}},
     "experiments.wavepacket.methods.reparameterized.training.learning_rate: expected a number > 0, got -0.1"),
    ("zero training steps", {"experiments": {WP: {"methods": {"reparameterized": {"training": {"steps": 0}}}}}},
     "experiments.wavepacket.methods.reparameterized.training.steps: expected an integer >= 1, got 0; fix the value (steps: Adam steps)"),
    ("unknown network kind", {"experiments": {WP: {"methods": {"reparameterized": {"network": {"kind": "transformer"}}}}}},
     "experiments.wavepacket.methods.reparameterized.network.kind: expected one of conv, mlp, unet, got 'transformer'; use one of these"),
    ("unknown activation", {"experiments": {WP: {"methods": {"neural_adjoint": {"surrogate": {"activation": "swish"}}}}}},
     "experiments.wavepacket.methods.neural_adjoint.surrogate.activation: expected one of relu, sigmoid, tanh, gelu, got 'swish'"),
    ("option of another method", {"experiments": {WP: {"methods": {"reparameterized": {"boundary_weight": 3.0}}}}},
     "experiments.wavepacket.methods.reparameterized: method 'reparameterized': unknown option(s) ['boundary_weight']"),
    ("confidence above one", {"comparison": {"confidence": 1.5}}, "comparison.confidence: expected a number > 0 and < 1, got 1.5; fix the value (confidence: interval level)"),
    ("too few bootstrap resamples", {"comparison": {"bootstrap_resamples": 3}}, "comparison.bootstrap_resamples: expected an integer >= 10, got 3"),
    ("zero BFGS iterations", {"bfgs": {"max_iterations": 0}}, "bfgs.max_iterations: expected an integer >= 1, got 0"),
    ("negative BFGS tolerance", {"bfgs": {"rtol": -1e-9}}, "bfgs.rtol: expected a number > 0, got -1e-09"),
    ("unknown BFGS solver", {"bfgs": {"solver": "newton"}}, "bfgs.solver: expected one of bfgs, lbfgs, got 'newton'; use one of these"),
    ("BFGS batch size for an unknown platform", {"bfgs": {"batch_size": {"tpu": 1}}},
     # oneOf [integer, mapping]: the mapping's own mistake, not "is not valid under any of the given schemas"
     "bfgs.batch_size.tpu: not a key of bfgs.batch_size; expected one of cpu, gpu, got 'tpu' (did you mean gpu?)"),
    ("experiment's L-BFGS memory zero", {"experiments": {WP: {"bfgs": {"solver": "lbfgs", "history_length": 0}}}},
     "experiments.wavepacket.bfgs.history_length: expected an integer >= 1, got 0"),
    ("bounds with min >= max", {"experiments": {WP: {"params": {"t0_low": 100.0, "t0_high": 100.0}}}},
     "t0_low=100.0 must be below t0_high=100.0"),
    ("figure example beyond n", {"experiments": {WP: {"figures": {"example": 999}}}},
     "experiments.wavepacket.figures.example: 999 must be below the largest n (256)"),
    ("gpu not a boolean", {"compute": {"gpu": "yes"}}, "compute.gpu: expected one of auto, true, false, got 'yes'; use one of these"),
    ("zero runs per job", {"compute": {"runs_per_job": 0}}, "compute.runs_per_job: expected an integer >= 1, got 0"),
    ("runs per job not an integer", {"compute": {"runs_per_job": 1.5}}, "compute.runs_per_job: expected an integer >= 1, got 1.5"),
    # JSON schema takes 1000.0 for an integer; a count must reach the code as an int
    ("training steps with a decimal point", {"experiments": {WP: {"methods": {"reparameterized": {"training": {"steps": 1000.0}}}}}},
     "experiments.wavepacket.methods.reparameterized.training.steps: expected an integer >= 1, got 1000.0; write 1000, without the decimal point"),
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
     "experiments.wavepacket.methods.learned_gradient.mode: expected one of joint, supervised, got 'unsupervised'"),
    ("learned gradient conv for a vector unknown", {"experiments": {"billiards": {"methods": {"learned_gradient": {"network": {"kind": "conv"}}}}}},
     "experiments.billiards.methods.learned_gradient: learned_gradient: network kind 'conv' does not fit an unknown of shape (2,); expected kind 'mlp'"),
    ("diffusion unet for a vector unknown", {"experiments": {"billiards": {"methods": {"diffusion": {"network": {"kind": "unet"}}}}}},
     "experiments.billiards.methods.diffusion: diffusion: network kind 'unet' does not fit an unknown of shape (2,); expected kind 'mlp'"),
    ("diffusion negative guidance ladder", {"calibration": {"guidance_scales": [1.0, -0.1]}},
     "calibration.guidance_scales[1]: expected a number >= 0, got -0.1"),
    ("invalid experiment name", {"experiments": {"Wave-Packet": {"problem": "wavepacket", "ns": [4], "seeds": [0], "methods": {"bfgs": {}}}}},
     "experiments: the name 'Wave-Packet' is not allowed; expected lower-case letters, digits and _, starting with a letter, got 'Wave-Packet'; rename it"),
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
    # MRI's mask was asked for in float64 with x64 off: a UserWarning on every Snakemake call
    assert "Warning" not in result.stderr, result.stderr[-3000:]


def test_an_experiment_may_choose_its_own_bfgs_solver(workdir):
    override = {"experiments": {WP: {"bfgs": {"solver": "lbfgs", "history_length": 5}}}}
    result = snakemake(workdir, "-n", "--cores", "1", config=override)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "solve" in result.stdout and "Job stats" in result.stdout


def test_only_methods_runs_just_those_methods_and_bfgs(workdir):
    """A machine that affords some methods records just those: their runs, BFGS's, and no other."""
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
    ("no experiments block", lambda c: c.pop("experiments"), "experiments: missing; expected one block per experiment"),
    ("no methods block", lambda c: c["experiments"]["wavepacket"].pop("methods"),
     "experiments.wavepacket.methods: missing; expected method name -> options (registry lio.methods.METHODS)"),
    ("no comparison block", lambda c: c.pop("comparison"),
     "comparison: missing; expected how better/equal than BFGS is decided and its confidence intervals, a mapping"),
    ("methods without bfgs", lambda c: c["experiments"]["wavepacket"]["methods"].pop("bfgs"),
     "experiments.wavepacket.methods: must include 'bfgs'"),
]


@pytest.mark.parametrize("name, remove, message", MISSING_BLOCKS, ids=[c[0] for c in MISSING_BLOCKS])
def test_missing_block_stops_before_any_job(tmp_path, name, remove, message):
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


# -- a first contact: each mistake in one line (key path, expected, got, what to do) -----------

SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"
NEW_EXPERIMENT = {"experiments": {"myexp": {"problem": "oscillator", "seeds": [0], "methods": {"bfgs": {}}}}}
NO_NS = (
    "experiments.myexp.ns: missing; expected problem-set sizes n, a non-empty list of distinct "
    "integers >= 1, got only methods, problem, seeds in experiments.myexp; add ns: to experiments.myexp"
)
MISSPELT = (
    "calibraton: not a top-level key; expected one of bfgs, calibration, comparison, compute, "
    "experiments, only_methods, paper_source, publish, publish_allow_uncommitted, studies, got "
    "'calibraton' (did you mean calibration?); rename it or remove it"
)
BAD_PARAM = "experiments.mri.params: mri: reg_weight must be >= 0, got -1.0."
CT_ANGLES = (
    "experiments.ct.observations.amounts: num_angles of 'ct' is a count (projection angles); "
    "expected whole numbers, got 45.5; give 45 or 46"
)


def merged(*overlays):
    """config/config.yaml with ``overlays`` merged over it, as Snakemake's --configfile does."""
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    for overlay in overlays:
        update_config(config, copy.deepcopy(overlay))
    return config


@pytest.mark.parametrize("overlay", [None, "quick.yaml", "oscillator.yaml"])
def test_the_shipped_configs_fit_the_schema(overlay):
    overlays = [yaml.safe_load((ROOT / "config" / overlay).read_text())] if overlay else []
    assert schema_problems(merged(*overlays), SCHEMA) == []


def test_new_experiment_without_ns_is_one_line():
    # was 381 lines of schema dump, the experiment's name on line 377
    assert schema_problems(merged(NEW_EXPERIMENT), SCHEMA) == [NO_NS]


def test_misspelt_top_level_key_is_one_line():
    # was 1734 lines
    assert schema_problems(merged({"calibraton": {"n": 32}}), SCHEMA) == [MISSPELT]


def test_each_schema_mistake_gets_its_own_line():
    config = merged({"experiments": {"wavepacket": {"ns": [4, 0], "seeds": [0.0]}}, "compute": {"gpu": "yes"}})
    assert schema_problems(config, SCHEMA) == [
        "compute.gpu: expected one of auto, true, false, got 'yes'; use one of these",
        "experiments.wavepacket.ns[1]: expected an integer >= 1, got 0; fix the value (ns: problem-set sizes n)",
        "experiments.wavepacket.seeds[0]: expected an integer >= 0, got 0.0; write 0, without the decimal point",
    ]


def test_a_bad_params_value_is_named_once():
    """Not again for each observation amount and each study value that copies the block."""
    assert workflow_problems(merged({"experiments": {"mri": {"params": {"reg_weight": -1.0}}}})) == [BAD_PARAM]
    # the wave packet has an observation axis and five studies
    config = merged({"experiments": {"wavepacket": {"params": {"t0_low": "abc"}}}})
    assert workflow_problems(config) == ["experiments.wavepacket.params.t0_low: expected a number, got 'abc'"]


def test_a_study_value_is_still_checked_when_its_experiment_is_sound():
    study = {"name": "narrow", "experiment": "wavepacket", "setting": "params.width", "values": [-1.0]}
    problems = workflow_problems(merged({"studies": [study]}))
    assert problems == ["studies: narrow/v0.params: wavepacket: width must be > 0, got -1.0."], problems


def test_null_drops_an_experiment_and_its_studies():
    config = merged({"experiments": {"wavepacket": None, "fwi": None}})
    assert drop_null_experiments(config) == ["wavepacket", "fwi"]
    assert "wavepacket" not in config["experiments"] and "fwi" not in config["experiments"]
    kept = {study["experiment"] for study in config["studies"]}
    assert "wavepacket" not in kept and {"billiards", "kuramoto_sivashinsky"} <= kept
    assert schema_problems(config, SCHEMA) == []


def test_without_null_nothing_is_dropped():
    config = merged()
    assert drop_null_experiments(config) == [] and config == merged()


def _axis_problems(experiment, amounts):
    config = merged({"experiments": {experiment: {"observations": {"amounts": amounts}}}})
    return observations.problems_in({**config, "experiments": {experiment: config["experiments"][experiment]}})


@pytest.mark.parametrize(
    "experiment, amount, message",
    [
        ("ct", 45.5, CT_ANGLES),
        ("mri", 2.5, "experiments.mri.observations.amounts: acceleration of 'mri' is a count (acceleration "
                     "(k-space rows / sampled rows)); expected whole numbers, got 2.5; give 2 or 3"),
        ("fwi", 0.5, "experiments.fwi.observations.amounts: num_receivers of 'fwi' is a count (receivers); "
                     "expected whole numbers, got 0.5; give 1"),
    ],
)
def test_a_fractional_amount_of_a_count_is_refused(experiment, amount, message):
    # CT's 45.5 ran 45 angles under results/ct/amount45.5/
    assert _axis_problems(experiment, [amount]) == [message]


def test_whole_amounts_and_fractions_of_a_fraction_knob_are_fine():
    assert _axis_problems("ct", [45.0, 22]) == []
    assert _axis_problems("wavepacket", [0.3]) == []


FIRST_CONTACT = [
    ("new experiment without ns", NEW_EXPERIMENT, NO_NS),
    ("misspelt top-level key", {"calibraton": {"n": 32}}, MISSPELT),
    ("one bad params value", {"experiments": {"mri": {"params": {"reg_weight": -1.0}}}}, BAD_PARAM),
    ("fractional CT angles", {"experiments": {"ct": {"observations": {"amounts": [45.5]}}}}, CT_ANGLES),
]


@pytest.mark.parametrize("name, override, message", FIRST_CONTACT, ids=[c[0] for c in FIRST_CONTACT])
def test_each_first_contact_mistake_prints_one_line(workdir, name, override, message):
    result = snakemake(workdir, "-n", "--cores", "1", config=override)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert [line for line in output.splitlines() if line.startswith("  - ")] == [f"  - {message}"], output
    assert len(output.splitlines()) <= 8, output
    assert "Failed validating" not in output and "Warning" not in output


def test_an_overlay_drops_an_experiment_with_null(workdir):
    result = snakemake(workdir, "-n", "--cores", "1", config={"experiments": {"fwi": None, "wavepacket": None}})
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert re.search(r"lio: experiments \['\w+', '\w+'\] are null in a config file", result.stdout + result.stderr)
    assert "results/fwi/" not in result.stdout and "results/wavepacket/" not in result.stdout
    assert "studies/wavepacket_" not in result.stdout  # its studies go with it
    assert "results/ct/" in result.stdout and "results/studies/billiards_" in result.stdout
