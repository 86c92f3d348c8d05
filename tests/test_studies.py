"""Sensitivity studies (lio.run.studies): the experiments a study makes, its config checks, and the
tables and figures of a real tiny run (the ``finished`` fixture runs tests/data/tiny_studies.yaml)."""

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from lio.run import config as lio_config
from lio.analysis import results
from lio.run import studies

ROOT = Path(__file__).resolve().parents[1]


def full_config(study_list):
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    config["studies"] = study_list
    return config


WIDTH = {"name": "width", "experiment": "wavepacket", "setting": "params.width", "values": [5.0, 20.0],
         "ns": [4], "seeds": [0], "methods": ["bfgs", "reparameterized"]}


def test_each_value_is_an_experiment_with_only_the_studied_setting_changed():
    config = full_config([WIDTH])
    before = copy.deepcopy(config["experiments"]["wavepacket"])
    blocks = studies.experiments(config)
    assert sorted(blocks) == ["studies/width/v0", "studies/width/v1"]
    for index, value in enumerate(WIDTH["values"]):
        block = blocks[f"studies/width/v{index}"]
        assert block["params"]["width"] == value
        assert {k: v for k, v in block["params"].items() if k != "width"} == {
            k: v for k, v in before["params"].items() if k != "width"}
        assert (block["ns"], block["seeds"], list(block["methods"])) == ([4], [0], ["bfgs", "reparameterized"])
        assert block["methods"]["reparameterized"] == before["methods"]["reparameterized"]
        assert "figures" not in block
        assert studies.base_of(config, f"studies/width/v{index}") == "wavepacket"
    assert config["experiments"]["wavepacket"] == before  # the record's block is untouched
    assert studies.block(config, "wavepacket") is config["experiments"]["wavepacket"]
    with pytest.raises(KeyError, match="studies/width/v0"):
        studies.block(config, "studies/width/v7")


def test_a_method_setting_and_the_learning_rate_that_calibration_would_set():
    rate = {**WIDTH, "name": "rate", "setting": "methods.reparameterized.training.learning_rate",
            "values": [1e-3, 1e-4]}
    config = full_config([rate, {**WIDTH, "name": "steps", "setting": "methods.reparameterized.training.steps",
                                 "values": [10, 20]}])
    blocks = studies.experiments(config)
    assert blocks["studies/rate/v1"]["methods"]["reparameterized"]["training"]["learning_rate"] == 1e-4
    assert blocks["studies/steps/v0"]["methods"]["reparameterized"]["training"]["steps"] == 10
    # A learning-rate study fixes the rate itself; any other trains at the base's calibrated rate.
    assert studies.varies_learning_rate(config, "studies/rate/v0", "reparameterized")
    assert not studies.varies_learning_rate(config, "studies/steps/v0", "reparameterized")
    assert studies.calibrated_method(config, studies.studies_in(config)["rate"]) == "reparameterized"
    assert studies.calibrated_method(config, studies.studies_in(config)["steps"]) is None


def test_a_comparison_study_makes_no_runs_and_reads_the_base_aggregate():
    tolerance = {"name": "tol", "experiment": "billiards", "setting": "comparison.atol", "values": [0.0, 1e-12]}
    config = full_config([tolerance])
    study = studies.studies_in(config)["tol"]
    assert study.compares_only and studies.experiments(config) == {}
    assert studies.inputs(config, study) == ["results/billiards/aggregate.nc"]
    assert studies.record_value(config, study) == config["comparison"]["atol"]
    assert studies.problems_in(config) == []


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"experiment": "wavepackt"}, "studies.width.experiment: 'wavepackt' is not an experiment"),
        ({"setting": "params.widht"}, "studies.width.setting: 'params.widht' is not set in experiments.wavepacket"),
        ({"methods": ["reparameterized"]}, "studies.width.methods: must include 'bfgs'"),
        ({"methods": ["bfgs", "lgd"]}, "studies.width.methods: ['lgd'] are not methods of experiments.wavepacket"),
        ({"setting": "comparison.confidence", "values": [0.9]}, "'comparison.confidence' is not a comparison setting"),
        ({"setting": "methods.supervised.training.steps"}, "changes a method the study does not run"),
    ],
)
def test_config_problems_name_the_study_key(change, expected):
    problems = studies.problems_in(full_config([{**WIDTH, **change}]))
    assert any(expected in p for p in problems), problems


def test_repeated_names_and_bad_values_are_reported_before_any_job():
    assert any("used more than once" in p for p in studies.problems_in(full_config([WIDTH, WIDTH])))
    # A value of the wrong type is caught by the problem's own parameter checks, as for the record.
    config = full_config([{**WIDTH, "values": ["five", 10.0]}])
    problems = lio_config.problems_in({**config, "experiments": studies.experiments(config)})
    assert any(p.startswith("experiments.studies/width/v0.params.width") for p in problems), problems


def test_the_full_config_studies_are_valid():
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    assert len(config["studies"]) >= 6
    assert studies.problems_in(config) == []
    assert lio_config.problems_in({**config, "experiments": studies.experiments(config)}) == []


def test_a_study_at_the_records_value_reproduces_the_records_runs(finished):
    """tiny_studies.yaml's width study includes tiny.yaml's own width (10): same data keys and
    seeds, so its runs are the base experiment's, bit for bit."""
    study = finished / "results/studies/wavepacket_width"
    for method in ("bfgs", "reparameterized"):
        mine = results.open_dataset(study / f"v1/{method}/n4/seed0/result.nc")
        record = results.open_dataset(finished / f"results/wavepacket/{method}/n4/seed0/result.nc")
        for name in ("solution_refined", "loss_refined", "solution_unrefined"):
            np.testing.assert_array_equal(mine[name].values, record[name].values)
        other = results.open_dataset(study / f"v0/{method}/n4/seed0/result.nc")
        assert not np.array_equal(other["loss_refined"].values, record["loss_refined"].values)


def test_study_tables_and_figures(finished):
    width = pd.read_csv(finished / "results/studies/wavepacket_width/table.csv", dtype={"value": str})
    assert sorted(width["value"].unique()) == ["10", "5"]
    assert width.loc[width["value"] == "10", "is_record"].all()
    assert not width.loc[width["value"] == "5", "is_record"].any()
    assert set(width["method"]) == {"bfgs", "reparameterized"}
    assert {"better", "better_low", "better_high", "equal", "pinned", "error"} <= set(width.columns)
    learned = width[width["method"] != "bfgs"]
    assert ((learned["better_low"] <= learned["better"]) & (learned["better"] <= learned["better_high"])).all()
    # A tolerance study at the record's tolerance gives Table 2's numbers for that experiment.
    tolerance = pd.read_csv(finished / "results/studies/wavepacket_tolerance/table.csv", dtype={"value": str})
    table2 = pd.read_csv(finished / "results/table2.csv")
    table2 = table2[(table2["experiment"] == "wavepacket") & (table2["method"] != "bfgs")]
    at_record = tolerance[tolerance["is_record"] & (tolerance["method"] != "bfgs")]
    merged = at_record.merge(table2, on=["method", "stage"], suffixes=("", "_table2"))
    assert len(merged) == 2 * table2["method"].nunique()  # every learned method, refined and unrefined
    np.testing.assert_allclose(merged["better"], merged["better_table2"], atol=1e-6)
    np.testing.assert_allclose(merged["equal"], merged["equal_table2"], atol=1e-6)
    exact = tolerance[(tolerance["value"] == "0") & (tolerance["method"] != "bfgs")]
    assert (exact["equal"] >= exact["equal_exact"] - 1e-9).all()  # rtol 1e-6 still counts near-ties
    for name in ("wavepacket_width", "wavepacket_tolerance"):
        assert (finished / f"results/studies/{name}/figure.png").stat().st_size > 10_000
        assert (finished / f"results/studies/{name}/figure.pdf").read_bytes().startswith(b"%PDF")
        assert "| value | method |" in (finished / f"results/studies/{name}/table.md").read_text()


def test_the_report_section_says_where_the_papers_value_is_within_reach():
    from lio.report.paper.sensitivity import findings, robustness_tabular, sensitivity_section

    rows = []
    for index, (value, better) in enumerate([("5", 0.80), ("10", 0.40), ("20", 0.20)]):
        for stage in ("refined", "unrefined"):
            rows.append({"study": "width", "experiment": "wavepacket", "setting": "params.width",
                         "value": value, "value_index": index, "is_record": value == "10",
                         "method": "reparameterized", "stage": stage, "groups": 8, "better": better,
                         "better_low": better - 0.1, "better_high": better + 0.1, "equal": 0.0,
                         "equal_low": 0.0, "equal_high": 0.0})
    frame = pd.DataFrame(rows)
    reference = {"wavepacket": {"table2": {"reparameterized": {"better": 86.0, "equal": 1.8}}}}
    (found,) = findings({"width": frame}, reference)
    assert found["record"][1] == pytest.approx(40.0)
    assert (found["low"][0], found["high"][0]) == ("20", "5")
    assert found["reach"] == "yes: 5"  # 86 lies in [70, 90]
    far = {"wavepacket": {"table2": {"reparameterized": {"better": 99.0}}}}
    assert findings({"width": frame}, far)[0]["reach"] == "no (80.0 at 5)"
    table = robustness_tabular([found], {"wavepacket": "Wave packet"})
    assert "\\multicolumn{6}{@{}l}{\\textit{Wave packet}}" in table  # the experiment heads its rows
    assert "\\texttt{params.width} & Reparameterized & 40.0 & 20.0 (20) -- 80.0 (5) & 86.0 & yes: 5" in table
    section = sensitivity_section({"width": frame}, {"width": "results/studies/width/figure.pdf"},
                                  "results/paper", reference, {"wavepacket": "Wave packet"})
    assert "\\includegraphics[width=\\linewidth]{../studies/width/figure.pdf}" in section
    assert "40.0\\,\\% at 10 (record)" in section and "8 $(n, \\text{seed})$ groups per value" in section
