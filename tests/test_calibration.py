"""The paper's tuning policy (lio.run.calibration): ladder, stability criterion, chosen rate."""

import json

import numpy as np
import pandas as pd
import yaml

from lio.run import calibration
from lio.run.experiment import sample_data
from lio.run.ladder import calibrate
from tests.workflow_helpers import ROOT


def test_settled_allows_a_falling_loss_and_rejects_a_rising_or_nonfinite_one():
    assert calibration.settled(np.linspace(10.0, 1.0, 101), 0.1, 0.05)
    assert calibration.settled(np.r_[np.linspace(10.0, 1.0, 95), np.full(6, 1.04)], 0.1, 0.05)
    assert not calibration.settled(np.r_[np.linspace(10.0, 1.0, 95), np.full(6, 1.2)], 0.1, 0.05)
    oscillating = 1.0 + 0.2 * (np.arange(101) % 2)
    assert not calibration.settled(oscillating, 0.1, 0.05)
    # Training stopped on a non-finite loss: the curve ends in NaN.
    assert not calibration.settled(np.array([3.0, 1.0, np.nan]), 0.1, 0.05)


def test_settled_judges_a_curve_monitored_every_kth_step_by_its_monitored_values():
    every_tenth = np.full(1001, np.nan)
    every_tenth[::10] = np.linspace(10.0, 1.0, 101)
    assert calibration.settled(every_tenth, 0.1, 0.05)
    every_tenth[-1] = 1.2  # the final value rises above the window's minimum
    assert not calibration.settled(every_tenth, 0.1, 0.05)


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
    assert "n 8 lr 30 seed 1000: unstable" in capsys.readouterr().out
    frame = calibration.table([out])
    assert list(frame["chosen"]) == [False, True]
    assert "| wavepacket | reparameterized | 8 | 0.0001 | 1000 |" in calibration.markdown(frame)


def test_choose_lowest_takes_the_finite_value_of_lowest_median_loss():
    trials = [
        {"guidance": 1.0, "seed": 0, "finite": False, "median_loss": 0.1, "median_loss_unrefined": 0.1},
        {"guidance": 0.1, "seed": 0, "finite": True, "median_loss": 2.0, "median_loss_unrefined": 5.0},
        {"guidance": 0.01, "seed": 0, "finite": True, "median_loss": 3.0, "median_loss_unrefined": 4.0},
    ]
    assert calibration.choose_lowest(trials, "guidance", [1.0, 0.1, 0.01]) == (0.1, True)
    assert calibration.choose_lowest(trials[:1], "guidance", [1.0, 0.1]) == (0.1, False)  # none: the smallest
    # equal refined losses (a convex loss): the lower own loss decides
    trials[2]["median_loss"] = 2.0 * (1 + 1e-9)
    assert calibration.choose_lowest(trials, "guidance", [1.0, 0.1, 0.01]) == (0.01, True)


def test_the_diffusion_prior_calibrates_its_guidance_not_its_learning_rate(tmp_path, capsys):
    """Its ladder is calibration.guidance_scales; the file names the setting, solve reads it."""
    config = tiny_config()
    config["experiments"]["wavepacket"]["methods"]["diffusion"] = {
        "network": {"kind": "mlp", "hidden": [8]}, "diffusion_steps": 20, "sampling_steps": 3,
        "training": {"learning_rate": 1e-3, "steps": 5, "log_every": 0},
    }
    config["calibration"]["guidance_scales"] = [0.1, 0.0]
    assert calibration.setting(config, "wavepacket", "diffusion") == "guidance"
    assert calibration.setting(config, "wavepacket", "reparameterized") == "learning_rate"
    assert calibration.setting(config, "wavepacket", "bfgs") is None
    assert not calibration.is_learned(config, "wavepacket", "diffusion")  # not in the rate table
    data = tmp_path / "data.nc"
    sample_data(config, "wavepacket", 8, 1000, str(data))
    out = tmp_path / "diffusion.json"
    calibrate(config, "wavepacket", "diffusion", [str(data)], str(out))
    record = json.loads(out.read_text())
    assert record["setting"] == "guidance" and [t["guidance"] for t in record["trials"]] == [0.1, 0.0]
    best = min(record["trials"], key=lambda t: t["median_loss"])
    assert record["chosen_guidance"] == best["guidance"] and record["found"]
    assert calibration.read_chosen(out) == ("guidance", best["guidance"])
    assert "[calibrate wavepacket/diffusion] guidance 0.1 seed 1000: median L" in capsys.readouterr().out
    from lio.run.experiment import solve
    from lio.analysis.results import open_dataset

    run = tmp_path / "run.nc"
    solve(config, "wavepacket", "diffusion", 8, 1000, str(data), str(run), str(out))
    assert f"calibrated guidance {best['guidance']:g}" in capsys.readouterr().out
    assert open_dataset(run).sizes["example"] == 8


def test_rates_and_guidance_share_one_table_and_the_report_splits_them(tmp_path):
    """calibration.table reads both kinds of file; the CSV round trip keeps each kind's rows
    apart: the learning-rate table shows rates only, the guidance table zeta with its losses."""
    from lio.report.paper.tuning import calibration_tabular, guidance_tabular

    rate = {
        "experiment": "wavepacket", "method": "reparameterized", "chosen_learning_rate": 1e-3,
        "stable_rate_found": True,
        "trials": [{"seed": 1000, "n": 8, "learning_rate": lr, "diverged": False, "degenerate": lr > 1e-3,
                    "settled": True, "stable": lr <= 1e-3, "pinned": 0.5 if lr > 1e-3 else 0.0,
                    "spread": 0.9, "final_loss": 1.0} for lr in (1e-2, 1e-3)],
    }
    guidance = {
        "experiment": "wavepacket", "method": "diffusion", "setting": "guidance", "chosen_guidance": 0.0,
        "found": True,
        "trials": [{"seed": 1000, "n": 8, "guidance": g, "finite": True, "median_loss": 2.0 - g,
                    "median_loss_unrefined": 5.0} for g in (1.0, 0.0)]
        + [{"seed": 1000, "n": 8, "guidance": 10.0, "finite": False, "median_loss": float("nan"),
            "median_loss_unrefined": float("nan")}],
    }
    paths = []
    for name, record in (("rate", rate), ("guidance", guidance)):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(record))
    csv, md = tmp_path / "calibration.csv", tmp_path / "calibration.md"
    calibration.write_table(paths, csv, md)
    assert "**Learning-rate calibration**" in md.read_text() and "**Guidance calibration**" in md.read_text()
    assert "| wavepacket | diffusion | 0 | 1000 | 5 | 2 | yes | **chosen** |" in md.read_text()
    frame = pd.read_csv(csv)
    rates = calibration.rows_of(frame, "learning_rate")
    assert rates["method"].unique().tolist() == ["reparameterized"]
    rate_tex = calibration_tabular(rates, ["wavepacket"])
    assert "$10^{-2}$: degenerate (50, 0.90); $10^{-3}$: stable (0, 0.90) & $10^{-3}$" in rate_tex
    assert "diffusion" not in rate_tex.lower()
    tex = guidance_tabular(calibration.rows_of(frame, "guidance"), ["wavepacket"])
    assert "1: 5 / 1; 0: 5 / 2; 10: non-finite & 0 \\\\" in tex
    # A table written before guidance existed: rates only, no guidance rows.
    old = frame[frame["setting"] == "learning_rate"].drop(columns="setting")
    assert calibration.rows_of(old, "learning_rate") is old and calibration.rows_of(old, "guidance") is None
    assert "No guidance step was calibrated" in guidance_tabular(None, ["wavepacket"])


def test_each_size_below_the_calibration_n_gets_its_own_rate():
    """calibration.per_n: sizes below n are calibrated each; a solve takes the largest
    calibrated size not above its n (the smallest below all), or the file's single rate."""
    config = tiny_config()
    config["calibration"]["per_n"] = True
    config["experiments"]["wavepacket"]["ns"] = [2, 4, 8, 16]
    assert calibration.sizes(config, "wavepacket") == [2, 4, 8]
    config["calibration"]["per_n"] = False
    assert calibration.sizes(config, "wavepacket") == [8]
    record = {"chosen_learning_rate": 1e-3, "chosen_by_n": {"2": 1e-5, "4": 1e-4, "8": 1e-3}}
    assert [calibration.chosen_for(record, n) for n in (1, 2, 3, 4, 8, 256)] == [1e-5, 1e-5, 1e-5, 1e-4, 1e-3, 1e-3]
    assert calibration.chosen_for({"chosen_learning_rate": 3e-4}, 2) == 3e-4  # a file of one size


def test_a_smaller_size_starts_its_ladder_at_the_larger_sizes_choice():
    rates = [1e-2, 1e-3, 1e-4, 1e-5]
    assert calibration.ladder_from(rates, {}, {}) == rates
    assert calibration.ladder_from(rates, {64: 1e-3}, {64: True}) == [1e-3, 1e-4, 1e-5]
    assert calibration.ladder_from(rates, {64: 1e-3, 8: 1e-4}, {64: True, 8: True}) == [1e-4, 1e-5]
    assert calibration.ladder_from(rates, {64: 1e-5}, {64: False}) == rates  # none stable: the whole ladder


def test_calibration_per_size_walks_largest_first_and_each_size_chooses_its_rate(tmp_path, capsys):
    """Two sizes (8 and 4): the larger walks the whole ladder, the smaller starts at its choice."""
    config = tiny_config()
    paths = []
    for n in (8, 4):
        data = tmp_path / f"data{n}.nc"
        sample_data(config, "wavepacket", n, 1000, str(data))
        paths.append(str(data))
    out = tmp_path / "calibration.json"
    calibrate(config, "wavepacket", "reparameterized", paths, str(out))
    record = json.loads(out.read_text())
    assert record["ladder_by_n"] == {"4": [1e-4], "8": [30.0, 1e-4]}
    assert record["chosen_by_n"] == {"4": 1e-4, "8": 1e-4} and record["chosen_learning_rate"] == 1e-4
    assert [(t["n"], t["learning_rate"]) for t in record["trials"]] == [(8, 30.0), (8, 1e-4), (4, 1e-4)]
    assert calibration.read_chosen(out, 4) == ("learning_rate", 1e-4)
