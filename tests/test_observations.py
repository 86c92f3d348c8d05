"""The observation-amount axis (lio.run.observations): config, derived experiments, the wave packet's
knob, and the table of quality per amount."""

import jax
import numpy as np
import pytest

from lio.run import observations, studies
from lio.problems import WavePacket

METHODS = {"bfgs": {}, "reparameterized": {"training": {"steps": 10}}, "supervised": {}}


def config(experiment="ct", problem="ct", amounts=(30, 15), **options):
    return {
        "comparison": {"rtol": 1e-6, "atol": 1e-12, "bootstrap_resamples": 50, "confidence": 0.95},
        "experiments": {
            experiment: {
                "problem": problem, "params": {"size": 16, "num_angles": 30} if problem == "ct" else {},
                "ns": [4, 8], "seeds": [0, 1], "methods": METHODS,
                "figures": {"curves_n": 4},
                "observations": {"amounts": list(amounts), **options},
            }
        },
    }


def test_each_amount_is_an_experiment_whose_path_carries_it():
    blocks = observations.experiments(config(ns=[4], methods=["bfgs", "reparameterized"]))
    assert list(blocks) == ["ct/amount30", "ct/amount15"]
    block = blocks["ct/amount15"]
    assert block["params"] == {"size": 16, "num_angles": 15} and isinstance(block["params"]["num_angles"], int)
    assert block["ns"] == [4] and block["seeds"] == [0, 1]  # seeds default to the experiment's
    assert list(block["methods"]) == ["bfgs", "reparameterized"]
    assert "observations" not in block and "figures" not in block
    whole = config()
    assert studies.base_of({**whole, "experiments": whole["experiments"]}, "ct/amount15") == "ct"  # base's calibrated rate
    assert observations.inputs(whole, "ct") == ["results/ct/amount30/aggregate.nc", "results/ct/amount15/aggregate.nc"]


def test_the_regularisation_weight_is_chosen_again_at_each_amount():
    """reg_weights maps an amount to its weight; an amount without an entry (a later config that
    changes the amounts) keeps the experiment's own. On a problem without a weight it is named."""
    blocks = observations.experiments(config(reg_weights={30: 1e-3, 15: 3e-3}))
    assert blocks["ct/amount30"]["params"]["reg_weight"] == 1e-3
    assert blocks["ct/amount15"]["params"]["reg_weight"] == 3e-3
    assert "reg_weight" not in observations.experiments(config())["ct/amount15"]["params"]
    partial = observations.experiments(config(reg_weights={30: 1e-3, 90: 2e-3}))
    assert "reg_weight" not in partial["ct/amount15"]["params"]
    assert observations.problems_in(config(reg_weights={30: 1e-3, 90: 2e-3})) == []
    [message] = observations.problems_in(config("wavepacket", "wavepacket", amounts=[1.0, 0.5], reg_weights={1.0: 1}))
    assert "has no reg_weight" in message


def test_amount_labels_are_plain_numbers():
    assert [observations.amount_label(v) for v in (45, 45.0, 0.5, 0.125)] == ["45", "45", "0.5", "0.125"]
    assert observations.experiment_name("wavepacket", 0.25) == "wavepacket/amount0.25"


def test_a_problem_without_a_knob_and_bad_amounts_are_named():
    assert observations.problems_in(config()) == []
    [message] = observations.problems_in(config("billiards", "billiards", amounts=[2]))
    assert "no observation-amount knob" in message and "'ct'" in message and "wavepacket" in message
    [message] = observations.problems_in(config("wavepacket", "wavepacket", amounts=[1.0, 2.0]))
    assert "experiments.wavepacket.observations.amounts: 2.0" in message and "observed_fraction" in message
    [message] = observations.problems_in(config(methods=["reparameterized"]))
    assert "must include 'bfgs'" in message
    [message] = observations.problems_in(config(methods=["bfgs", "lgd"]))
    assert "['lgd'] are not methods of experiments.ct" in message


def test_the_wave_packet_observes_an_evenly_spaced_share_of_its_samples():
    full, half = WavePacket(), WavePacket(observed_fraction=0.5)
    assert half.times.shape == (128,) and float(half.times[0]) == 1.0 and float(half.times[-1]) == 256.0
    np.testing.assert_array_equal(np.asarray(WavePacket(observed_fraction=1.0).times), np.asarray(full.times))
    key = jax.random.PRNGKey(0)
    problems = half.sample(key, 3)
    assert problems.observed.shape == (3, 128)
    # the kept samples are the full signal's samples at those times (same truth, no noise)
    clean_full = full.forward(problems.solution[0], problems.condition[0])
    kept = np.asarray(half.times, int) - 1
    np.testing.assert_allclose(half.forward(problems.solution[0], problems.condition[0]), clean_full[kept], rtol=1e-12)
    with pytest.raises(ValueError, match="observed_fraction must be in"):
        WavePacket(observed_fraction=0.001)


def test_winners_share_a_tie_and_separate_only_disjoint_intervals():
    import pandas as pd

    rows = []
    for amount, values in (("8", {"bfgs": (1.0, 0.9, 1.1), "reparameterized": (1.0, 0.9, 1.1)}),
                           ("4", {"bfgs": (2.0, 1.9, 2.1), "reparameterized": (1.0, 0.9, 1.1)})):
        for method, (mean, low, high) in values.items():
            rows.append({"experiment": "ct", "stage": "refined", "amount_index": int(amount == "4"),
                         "amount": amount, "method": method, "loss_mean": mean, "loss_low": low, "loss_high": high})
    best = observations.winners(pd.DataFrame(rows))
    assert best["best"].tolist() == ["bfgs = reparameterized", "reparameterized"]
    assert best["separated"].tolist() == [False, True]


def test_an_empty_amount_list_turns_the_axis_off():
    off = config(amounts=[])
    assert observations.axes_in(off) == {} and observations.experiments(off) == {}
    assert observations.problems_in(off) == []


def axis_table(most="1", fewest="0.25", increases=True, config_order=True):
    """A two-amount axis table: BFGS best with the most observations, reparameterized (clear of
    the runner-up) with the fewest; supervised's better share falls faster."""
    import pandas as pd

    cells = {  # amount -> method -> (better, loss mean, error)
        most: {"bfgs": (np.nan, 1.0, 0.10), "reparameterized": (0.30, 1.5, 0.20), "supervised": (0.40, 1.2, 0.15)},
        fewest: {"bfgs": (np.nan, 4.0, 0.40), "reparameterized": (0.70, 2.0, 0.20), "supervised": (0.20, 4.5, 0.45)},
    }
    rows = []
    for index, (amount, methods) in enumerate(cells.items() if config_order else reversed(cells.items())):
        for method, (better, loss, error) in methods.items():
            for stage in ("refined", "unrefined"):
                rows.append({
                    "experiment": "wavepacket", "parameter": "observed_fraction", "label": "observed share",
                    "increases_observations": increases, "amount": amount, "amount_index": index,
                    "method": method, "stage": stage, "groups": 8, "better": better,
                    "better_low": better - 0.1, "better_high": better + 0.1, "error": error,
                    "loss_mean": loss, "loss_low": loss - 0.1, "loss_high": loss + 0.1, "degenerate": 0,
                })
    return pd.DataFrame(rows)


@pytest.mark.parametrize(("most", "fewest", "increases", "config_order"), [
    ("1", "0.25", True, True), ("1", "0.25", True, False), ("2", "8", False, True), ("2", "8", False, False)])
def test_the_report_finds_the_crossover_and_the_method_that_holds_up(most, fewest, increases, config_order):
    from lio.report.paper import amounts

    frame = axis_table(most, fewest, increases, config_order)
    found = amounts.findings(frame)
    assert found["order"] == [most, fewest]  # most observed first, whatever the config's order
    assert [(e["amount"], e["best"], e["separated"]) for e in found["per_amount"]] == [
        (most, "bfgs", False), (fewest, "reparameterized", True)]
    assert found["crossovers"] == [(most, fewest, "hand-crafted", "learned")]
    assert found["holds_up"] == "reparameterized"
    text = amounts.paragraph(frame, "Wave packet")
    assert f"from {most} (hand-crafted) to {fewest} (learned)" in text
    assert f"Reparameterized is better than BFGS on 30.0\\,\\% [20.0, 40.0] of the problems at {most} and 70.0" in text
    rows = [line for line in amounts.tabular(frame).splitlines() if line.endswith(r"\\") and "&" in line]
    assert len(rows) == 1 + 6  # header + amount x method
    assert rows[1].startswith(f"{most} & BFGS & -- & --")
    assert rows[-1].startswith(f"{fewest} & Supervised & 20.0 & 20.0 [10.0, 30.0]")


def test_the_report_flags_degenerate_learned_runs_and_never_names_them_the_method_that_holds_up():
    from lio.report.paper import amounts

    frame = axis_table()
    frame.loc[(frame["method"] == "reparameterized") & (frame["amount"] == "0.25"), "degenerate"] = 3
    frame.loc[frame["method"] == "bfgs", "degenerate"] = 8  # BFGS barely moving from its start: not training
    found = amounts.findings(frame)
    assert found["degenerate"] == {"reparameterized": {"0.25": (3, 8)}}
    assert found["holds_up"] == "supervised"  # the higher share at 0.25 belongs to a degenerate method
    text = amounts.paragraph(frame, "Wave packet")
    assert "\\textbf{Reparameterized's own runs are degenerate} at 0.25 (3 of 8)" in text
    assert "Reparameterized (its interval clear of the runner-up's; degenerate runs, see below) at 0.25" in text
    assert "BFGS's own runs" not in text
    assert amounts.tabular(frame).splitlines()[-4].endswith("& 3/8 \\\\")


def test_the_report_names_configured_axes_it_does_not_hold():
    from lio.report.paper import amounts

    assert amounts.section({}, {}, "paper", {}, ["ct"]).startswith("No observation-amount axis")
    text = amounts.section({"wavepacket": axis_table()}, {"wavepacket": "paper/figures/observations/wavepacket.pdf"},
                           "paper", {"ct": "CT"}, ["wavepacket", "ct"])
    assert "includegraphics[width=\\linewidth]{figures/observations/wavepacket.pdf}" in text
    assert "observation axis for CT that the results" in text


def test_navier_stokes_observes_the_top_share_of_its_rows():
    """Issue 20's fluid knob: the observed part of the domain. The paper's upper half is 0.5;
    at 0.75 the observation and the known initial velocity grow to 12 of 16 rows, the same
    rows of the simulated flow, and the force stays in the hidden part."""
    from lio.problems import NavierStokes

    half = NavierStokes(resolution=16, dt=4.0)
    more = NavierStokes(resolution=16, dt=4.0, observed_fraction=0.75)
    assert half.observation_shape == (8, 16, 4) and more.observation_shape == (12, 16, 4)
    assert half.hidden_height == 50.0 and more.hidden_height == 25.0
    problems = more.sample(jax.random.PRNGKey(0), 2)
    assert problems.observed.shape == (2, 12, 16, 4)
    # the top 8 observed rows are the paper's observation of the same problems
    same = half.sample(jax.random.PRNGKey(0), 2)
    np.testing.assert_allclose(problems.observed[:, 4:], same.observed, rtol=1e-12)
    prediction = more.forward(problems.solution[0], problems.condition[0])
    assert prediction.shape == (12, 16, 4) and np.isfinite(prediction).all()
    with pytest.raises(ValueError, match="observe whole rows"):
        NavierStokes(resolution=16, dt=4.0, observed_fraction=0.3)
    with pytest.raises(ValueError, match="hidden lower part"):
        NavierStokes(resolution=16, dt=4.0, observed_fraction=0.875)  # y >= 12.5: the force at 20 is seen


def test_the_axis_figure_shows_the_error_to_the_truth_where_there_is_no_psnr(tmp_path):
    """Losses of different amounts are not comparable, the error to the truth is: a problem
    without PSNR gets a third panel with it, on a log axis (a run far outside the box shows)."""
    import matplotlib.pyplot as plt

    from lio.report import run_figures

    created = []
    original = plt.subplots
    plt.subplots = lambda *a, **k: created.append(original(*a, **k)) or created[-1]
    try:
        run_figures.observations(axis_table(), str(tmp_path / "f.png"), str(tmp_path / "f.pdf"))
    finally:
        plt.subplots = original
    axes = [ax for ax in created[0][1].ravel() if ax.axison]
    assert [ax.get_title() for ax in axes][-1] == "median error (box widths)"
    assert axes[-1].get_yscale() == "log" and (tmp_path / "f.png").stat().st_size > 10_000


def test_the_section_says_how_the_baseline_weight_moves_along_the_axis():
    from lio.report.paper import amounts

    frame = axis_table("2", "8", False, True)
    text = amounts.section({"wavepacket": frame}, {}, ".", {"wavepacket": "Wave packet"},
                           weights={"wavepacket": {"8": 3.2e-3, "2": 1.0e-3}})
    assert "from the most observations to the fewest: 0.001 at 2, 0.0032 at 8" in text
    assert "chosen again at each amount" not in amounts.section({"wavepacket": frame}, {}, ".", {})


def test_an_image_axis_is_judged_on_the_own_estimates_because_the_refined_ones_tie():
    """On a convex imaging objective every refined start ends at one minimum: the axis names the
    best own estimate by PSNR (BFGS's own is its refined one), never a tie of refined rows."""
    from lio.report.paper import amounts

    frame = axis_table("90", "6", True, True)
    frame["experiment"] = "ct"
    for stage, method, amount, psnr in [("refined", m, a, 30.0) for m in ("bfgs", "reparameterized", "supervised")
                                        for a in ("90", "6")] + [
            ("unrefined", "bfgs", "90", 30.0), ("unrefined", "reparameterized", "90", 33.0),
            ("unrefined", "supervised", "90", 25.0), ("unrefined", "bfgs", "6", 30.0),
            ("unrefined", "reparameterized", "6", 20.0), ("unrefined", "supervised", "6", 26.0)]:
        at = (frame["stage"] == stage) & (frame["method"] == method) & (frame["amount"] == amount)
        frame.loc[at, ["psnr_mean", "psnr_low", "psnr_high"]] = [psnr, psnr - 0.5, psnr + 0.5]
    found = amounts.findings(frame)
    assert found["stage"] == "unrefined"
    assert [(e["amount"], e["best"], e["separated"]) for e in found["per_amount"]] == [
        ("90", "reparameterized", True), ("6", "bfgs", True)]
    assert found["holds_up"] == "supervised" and found["shares"] == {}
    text = amounts.paragraph(frame, "CT")
    assert "the best own-estimate mean PSNR is Reparameterized" in text and "refined rows tie" in text
    assert "own-estimate mean PSNR (dB)" in amounts.tabular(frame)
