"""The paper's tuning policy (lio.calibration): ladder, stability criterion, chosen rate."""

import json

import numpy as np
import yaml

from lio import calibration
from lio.experiment import calibrate, sample_data
from tests.workflow_helpers import ROOT


def test_settled_allows_a_falling_loss_and_rejects_a_rising_or_nonfinite_one():
    assert calibration.settled(np.linspace(10.0, 1.0, 101), 0.1, 0.05)
    assert calibration.settled(np.r_[np.linspace(10.0, 1.0, 95), np.full(6, 1.04)], 0.1, 0.05)
    assert not calibration.settled(np.r_[np.linspace(10.0, 1.0, 95), np.full(6, 1.2)], 0.1, 0.05)
    oscillating = 1.0 + 0.2 * (np.arange(101) % 2)
    assert not calibration.settled(oscillating, 0.1, 0.05)
    assert not calibration.settled(np.array([3.0, np.nan, 1.0]), 0.1, 0.05)


def test_choose_takes_the_largest_rate_stable_on_every_seed():
    trials = [
        {"learning_rate": 1e-2, "seed": 0, "stable": True},
        {"learning_rate": 1e-2, "seed": 1, "stable": False},
        {"learning_rate": 1e-3, "seed": 0, "stable": True},
        {"learning_rate": 1e-3, "seed": 1, "stable": True},
    ]
    assert calibration.choose(trials, [1e-2, 1e-3, 1e-4]) == (1e-3, True)
    assert calibration.choose(trials[:2], [1e-2, 1e-3]) == (1e-3, False)  # none: the smallest


def tiny_config():
    base = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    block = base["experiments"]["wavepacket"]
    block["methods"]["reparameterized"] = {
        "network": {**block["methods"]["reparameterized"]["network"], "features": [4, 4, 8, 8, 8], "dense": 16},
        "training": {"learning_rate": 1e-3, "steps": 20, "log_every": 0},
    }
    base["experiments"] = {"wavepacket": block}
    base["calibration"] = {**base["calibration"], "learning_rates": [30.0, 1e-4], "seeds": [1000], "n": 8}
    return base


def test_calibration_seeds_must_not_be_evaluation_seeds_and_the_ladder_must_decrease():
    config = tiny_config()
    config["calibration"]["seeds"] = [1000, 2]
    config["calibration"]["learning_rates"] = [1e-4, 1e-3]
    problems = calibration.problems_in(config)
    assert any("calibration seeds [2] are also evaluation seeds" in p for p in problems)
    assert any("must be strictly decreasing" in p for p in problems)
    assert calibration.problems_in(tiny_config()) == []


def test_a_saturating_rate_is_rejected_and_the_next_rung_chosen(tmp_path, capsys):
    """lr 30 throws every estimate onto the box's edge (tanh saturated): unstable."""
    config = tiny_config()
    data = tmp_path / "data.nc"
    sample_data(config, "wavepacket", 8, 1000, str(data))
    out = tmp_path / "calibration.json"
    calibrate(config, "wavepacket", "reparameterized", [str(data)], str(out))
    record = json.loads(out.read_text())
    first, second = record["trials"]
    assert first["learning_rate"] == 30.0 and not first["stable"] and first["pinned"] > 0.1
    assert second["learning_rate"] == 1e-4 and second["stable"]
    assert record["chosen_learning_rate"] == 1e-4 and record["stable_rate_found"]
    assert calibration.read_learning_rate(out) == 1e-4
    assert "lr 30 seed 1000: unstable" in capsys.readouterr().out
    frame = calibration.table([out])
    assert list(frame["chosen"]) == [False, True]
    assert "| wavepacket | reparameterized | 0.0001 | 1000 |" in calibration.markdown(frame)
