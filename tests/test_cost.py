"""The cost model (issue 37): the workflow's plan, priced from job times measured with the same
settings, and what nothing measured said as such."""

import copy
import json
from pathlib import Path

import pandas as pd
import pytest

from lio.run import cost
from lio.run.config import load_config

ROOT = Path(__file__).resolve().parents[1]
PLAN = """
[Mon Dec  7 20:56:16 2026]
rule solve:
    input: results/billiards/data/n16/seed0.nc
    output: results/billiards/bfgs/n16/seed0/result.nc
    jobid: 12
    wildcards: problem=billiards, method=bfgs, n=16, seed=0
    resources: tmpdir=/tmp, gpu=0
[Mon Dec  7 20:56:16 2026]
rule solve_group_seeds0_1:
    wildcards: problem=studies/billiards_ball_jitter/v1, method=bfgs, n=16
[Mon Dec  7 20:56:16 2026]
rule solve:
    wildcards: problem=mri, method=supervised, n=16, seed=0
[Mon Dec  7 20:56:16 2026]
localrule all:
    input: results/table2.csv
    jobid: 0
"""


@pytest.fixture(scope="module")
def config():
    return load_config([], base=str(ROOT / "config/config.yaml"))


def test_the_plan_is_read_job_by_job_with_its_wildcards():
    jobs = cost.parse_plan(PLAN)
    assert [job.rule for job in jobs] == [
        "solve",
        "solve_group_seeds0_1",
        "solve",
        "all",
    ]
    assert jobs[0].wildcards == {
        "problem": "billiards",
        "method": "bfgs",
        "n": "16",
        "seed": "0",
    }
    assert cost.runs_in(jobs[1]) == 2 and cost.runs_in(jobs[0]) == 1


def test_a_job_is_priced_from_the_record_and_an_unmeasured_one_is_said_so(config):
    result = cost.estimate(config, cost.parse_plan(PLAN), root=ROOT, cores=2)
    rows = {(row["experiment"], row["method"]): row for row in result["rows"]}
    recorded = pd.read_csv(ROOT / "paper/data/benchmarks.csv")
    one = recorded.query("experiment == 'billiards' and method == 'bfgs' and n == 16")["job_s"].mean()
    # The study's chunk of two seeds is priced as two of its base experiment's runs.
    assert rows["billiards", "bfgs"]["seconds"] == pytest.approx(3 * one)
    assert rows["billiards", "bfgs"]["source"] == "the record"
    assert rows["mri", "supervised"]["priced"] == 0 and result["unpriced_jobs"] == 1
    assert result["counted_not_priced"] == {"all": 1}
    assert "not measured" in cost.markdown(result) and "1 solve and calibration jobs" in cost.summary(result)


def test_a_measurement_prices_only_a_config_with_the_same_cost_relevant_settings(
    config,
):
    assert ("billiards", "reparameterized") in cost.measurements(config, ROOT)
    rate = copy.deepcopy(config)
    rate["experiments"]["billiards"]["methods"]["reparameterized"]["training"]["learning_rate"] = 0.123
    assert ("billiards", "reparameterized") in cost.measurements(rate, ROOT)  # calibrated anyway
    steps = copy.deepcopy(config)
    steps["experiments"]["billiards"]["methods"]["reparameterized"]["training"]["steps"] += 1
    assert ("billiards", "reparameterized") not in cost.measurements(steps, ROOT)


def test_short_runs_price_what_the_record_lacks(config, tmp_path):
    fingerprint = cost.configured_fingerprint(config, "ct", "supervised")
    rows = [
        {
            "experiment": "ct",
            "method": "supervised",
            "n": 4,
            "estimated_job_s": 100.0,
            "fingerprint": fingerprint,
        },
        {
            "experiment": "ct",
            "method": "supervised",
            "n": 64,
            "estimated_job_s": 160.0,
            "fingerprint": fingerprint,
        },
        {
            "experiment": "ct",
            "method": "bfgs",
            "n": 4,
            "estimated_job_s": 5.0,
            "fingerprint": "other settings",
        },
    ]
    (tmp_path / "benchmarks/results").mkdir(parents=True)
    (tmp_path / "benchmarks/results/sweep_estimate-cpu-ct.json").write_text(json.dumps({"jobs": rows}))
    measured = cost.measurements(config, tmp_path)
    assert measured["ct", "supervised"] == ("short runs", {4: 100.0, 64: 160.0})
    assert ("ct", "bfgs") not in measured
    assert cost.interpolate(measured["ct", "supervised"][1], 16) == pytest.approx(112.0)


def test_a_missing_config_file_is_one_line():
    with pytest.raises(SystemExit) as stop:
        cost.main(["--configfile", "config/no_such.yaml"])
    assert "does not exist" in str(stop.value) and "\n" not in str(stop.value)


def test_the_estimate_ranks_where_the_time_goes(config):
    jobs = [
        cost.Job("solve", {"problem": "billiards", "method": "bfgs", "n": "256", "seed": "0"}),
        cost.Job(
            "solve",
            {
                "problem": "studies/billiards_ball_jitter/v1",
                "method": "bfgs",
                "n": "16",
                "seed": "0",
            },
        ),
        cost.Job("calibrate", {"problem": "billiards", "method": "reparameterized"}),
    ]
    assert [cost.part_of(job) for job in jobs] == ["runs", "studies", "calibration"]
    ranked = cost.estimate(config, jobs, root=ROOT)["where_the_time_goes"]
    assert set(ranked) == {
        "billiards runs",
        "billiards studies",
        "billiards calibration",
    }
    assert list(ranked.values()) == sorted(ranked.values(), reverse=True)


def test_a_run_under_way_gets_its_time_left_and_a_start_line(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    progress = tmp_path / "progress.md"
    cost.main(
        [
            "--configfile",
            "tests/data/tiny.yaml",
            "--left",
            "--cores",
            "2",
            "--out",
            str(progress),
        ]
    )
    text = progress.read_text()
    assert text.startswith("# Time left") and "| experiment |" in text and "All:" in text
    assert "--configfile tests/data/tiny.yaml" in cost.startup_line(["tests/data/tiny.yaml"])
    assert "prices this run at" in cost.startup_line([])  # the committed estimate of the default run
