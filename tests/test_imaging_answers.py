"""The report's imaging answers: the winner by PSNR with its interval, never by the loss."""

import numpy as np
import pandas as pd

from lio.report.paper.imaging import answers, configured_imaging


def _row(method, stage, psnr, low, high, loss):
    return {"experiment": "ct", "method": method, "stage": stage, "psnr": psnr, "psnr_low": low,
            "psnr_high": high, "ssim": 0.9, "relative_error": 0.1, "better": np.nan, "equal": np.nan,
            "loss": loss}


def test_the_winner_is_the_highest_psnr_and_the_sentence_says_whether_its_interval_clears():
    table = pd.DataFrame([
        _row("bfgs", "refined", 35.0, 34.0, 36.0, 1.0),
        _row("supervised", "unrefined", 33.0, 32.5, 33.5, 0.5),   # lowest loss, not the winner
        _row("learned_gradient", "unrefined", 37.0, 36.5, 37.5, 2.0),
        _row("supervised", "refined", 35.0, 34.0, 36.0, 1.0),
        _row("learned_gradient", "refined", 35.1, 34.1, 36.1, 1.0),
    ])
    text = answers(table, ["ct"], {"ct": "CT"}, ["MRI"])
    assert text.startswith("\\textbf{CT.} By mean PSNR")
    own = text.split("Against")[0]
    assert "37.00 [36.50, 37.50]" in own and "clears the runner-up's" in own
    assert "clearly above it: " in text and "clearly below it: " in text
    above = text.split("clearly above it: ")[1].split(";")[0]
    below = text.split("clearly below it: ")[1].split(".")[0]
    assert "upervised" in below and "upervised" not in above
    refined = text.split("after BFGS refinement")[1]
    assert "overlaps" in refined
    assert text.rstrip().endswith("Configured but not in this record: MRI.")


def test_without_imaging_runs_only_the_missing_experiments_are_named():
    table = pd.DataFrame([{"experiment": "wavepacket", "method": "bfgs", "stage": "refined", "psnr": np.nan}])
    assert answers(table, ["wavepacket"], {}, []) == ""
    assert "CT" in answers(table, ["wavepacket"], {}, ["CT"])


def test_the_configured_imaging_experiments_are_those_with_truth_metrics():
    config = {"experiments": {"wavepacket": {"problem": "wavepacket"}, "ct": {"problem": "ct"},
                              "fwi": {"problem": "fwi"}}}
    assert configured_imaging(config) == ["ct", "fwi"]


def test_page_one_names_the_best_reconstruction_and_how_it_stands_against_the_baseline():
    from lio.report.paper.imaging import headline

    table = pd.DataFrame([
        _row("bfgs", "refined", 35.0, 34.0, 36.0, 1.0),
        _row("learned_gradient", "unrefined", 37.0, 36.5, 37.5, 2.0),
    ])
    text = headline(table, ["ct"], {"ct": "CT"})
    assert text.startswith("Beyond the paper, on images") and "37.00 [36.50, 37.50]" in text
    assert "clear of the classical baseline's 35.00 [34.00, 36.00]" in text
    table.loc[1, "psnr_low"] = 35.9  # overlaps the baseline's [34, 36]
    assert "within the interval of" in headline(table, ["ct"], {"ct": "CT"})
    assert headline(table, ["wavepacket"], {}) == ""
