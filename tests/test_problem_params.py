"""Problem params are validated against the problem class's own fields, before any job.

The snakemake dry runs of the issue's four cases are in tests/test_config.py (BAD_CONFIGS);
these call the same checks directly, so they run in well under a second each.
"""

import copy
import dataclasses
from typing import Literal

import jsonschema
import pytest
import yaml
from snakemake.utils import update_config, validate

from lio.run.config import problems_in
from lio.problems import PROBLEMS, make_problem, params_schema
from lio.problems.schema import field_schema, parameter_errors
from tests.conftest import ALL_PROBLEMS
from tests.workflow_helpers import ROOT


def config_of(*files: str) -> dict:
    """config/config.yaml with each file merged over it, as ``snakemake --configfile`` does."""
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    for path in files:
        update_config(config, yaml.safe_load((ROOT / path).read_text()))
    return config


@pytest.mark.parametrize("cls_name", ALL_PROBLEMS)
def test_every_problem_has_a_schema_its_defaults_satisfy(cls_name):
    cls = PROBLEMS[cls_name]
    schema = params_schema(cls)
    jsonschema.Draft202012Validator.check_schema(schema)
    # Every static field is a parameter; pytree-leaf fields are derived arrays (CT's operator).
    assert set(schema["properties"]) == {
        f.name for f in dataclasses.fields(cls) if f.metadata.get("pytree_node") is not True
    }
    defaults = {name: prop["default"] for name, prop in schema["properties"].items() if "default" in prop}
    assert parameter_errors(cls, defaults) == []


def test_schema_follows_the_annotations():
    billiards = params_schema(PROBLEMS["billiards"])["properties"]
    assert billiards["cue_centre"]["minItems"] == billiards["cue_centre"]["maxItems"] == 2
    assert billiards["radius"]["type"] == "number"
    fluid = params_schema(PROBLEMS["navier_stokes"])["properties"]
    assert fluid["resolution"]["type"] == "integer" and fluid["periodic"]["type"] == "boolean"
    assert fluid["boxes"]["items"]["maxItems"] == 4 and "maxItems" not in fluid["boxes"]
    assert field_schema(Literal["cg", "dense"], "X.solver") == {"enum": ["cg", "dense"]}


def test_an_annotation_without_json_counterpart_is_named():
    @dataclasses.dataclass
    class Odd:
        table: dict[str, float]

    with pytest.raises(TypeError, match=r"Odd.table: the annotation dict\[str, float\] has no JSON-schema"):
        params_schema(Odd)


@pytest.mark.parametrize(
    "problem, params, message",
    [
        # The cases: a word for a number, a float for an int, a list of the wrong length.
        ("oscillator", {"amplitude": "one"}, "params.amplitude: expected a number, got 'one'"),
        ("wavepacket", {"num_samples": 256.5}, "params.num_samples: expected an integer, got 256.5"),
        ("billiards", {"cue_centre": [0.5]}, "params.cue_centre: expected a list of 2 numbers, got [0.5]"),
        # A whole float is still not an int: shape-setting fields must get a Python int.
        ("kuramoto_sivashinsky", {"resolution": 32.0}, "params.resolution: expected an integer, got 32.0"),
        ("navier_stokes", {"periodic": "no"}, "params.periodic: expected true or false, got 'no'"),
        ("navier_stokes", {"checkpoint": 1}, "params.checkpoint: expected true or false, got 1"),
        ("oscillator", {"num_samples": True}, "params.num_samples: expected an integer, got True"),
        ("navier_stokes", {"boxes": [[15.0, 38.0, 35.0]]},
         "params.boxes[0]: expected a list of 4 numbers, got [15.0, 38.0, 35.0]"),
        ("navier_stokes", {"boxes": 3}, "params.boxes: expected a list of lists of 4 numbers, got 3"),
        ("billiards", {"target": ["top", 0.9]}, "params.target[0]: expected a number, got 'top'"),
        ("navier_stokes", {"advection": 1}, "params.advection: expected a string, got 1"),
    ],
)
def test_mistyped_params_are_named_by_key(problem, params, message):
    config = config_of("config/oscillator.yaml")
    update_config(config["experiments"][problem], {"params": params})
    errors = problems_in(config)
    assert f"experiments.{problem}.{message}" in errors, errors
    with pytest.raises(ValueError, match=f"problem '{problem}': "):
        make_problem(problem, params)


def test_every_mistyped_key_is_reported_at_once():
    config = config_of()
    config["experiments"]["wavepacket"]["params"].update(amplitude="one", num_samples=256.5)
    errors = problems_in(config)
    assert "experiments.wavepacket.params.amplitude: expected a number, got 'one'" in errors
    assert "experiments.wavepacket.params.num_samples: expected an integer, got 256.5" in errors


@pytest.mark.parametrize(
    "problem, parameter, expected",
    [("wavepacket", 5, "expected an index below 1 (0 = t0)"),
     ("billiards", 2, "expected an index below 2 (0 = vx, 1 = vy)")],
)
def test_landscape_parameter_beyond_the_problem_is_named(problem, parameter, expected):
    config = config_of()
    config["experiments"][problem]["figures"]["landscape_parameter"] = parameter
    errors = problems_in(config)
    key = f"experiments.{problem}.figures.landscape_parameter: {parameter} is not a parameter of {problem}"
    assert any(e.startswith(key) and expected in e for e in errors), errors


def test_nested_lists_become_hashable_tuples():
    # YAML gives [[...]]; a static field must be hashable all the way down for jit's cache.
    problem = make_problem("navier_stokes", {"boxes": [[15.0, 38.0, 35.0, 46.0]], "circles": []})
    assert problem.boxes == ((15.0, 38.0, 35.0, 46.0),)
    hash(problem.boxes)


@pytest.mark.parametrize(
    "files",
    [(), ("config/quick.yaml",), ("config/oscillator.yaml",),
     ("config/quick.yaml", "config/oscillator.yaml"), ("tests/data/tiny.yaml",)],
    ids=["default", "quick", "oscillator", "quick+oscillator", "tiny"],
)
def test_shipped_configs_validate(files):
    config = config_of(*files)
    validate(copy.deepcopy(config), str(ROOT / "workflow/schemas/config.schema.yaml"))
    assert problems_in(config) == []
