"""The reference-numbers benchmark (issue 19) runs end to end at its quick setting."""

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
import lgd_reference  # noqa: E402


def test_quick_run_writes_every_row_with_finite_metrics(tmp_path):
    out = tmp_path / "lgd_reference.json"
    lgd_reference.main(["--quick", "--out", str(out)])
    numbers = json.loads(out.read_text())
    methods = [row["method"] for row in numbers["rows"]]
    assert methods == ["fbp (ramp)", "fbp (shepp-logan)", "fbp (hann)", "tv (L-BFGS)",
                       "learned gradient", "learned gradient + L-BFGS"]
    assert all(np.isfinite(row["psnr"]) and np.isfinite(row["ssim"]) for row in numbers["rows"])
    # 30 angles nearly sample a 32 x 32 image: FBP gave 24-27 dB at 5 % noise (ramp 26.6,
    # Hann 23.9 when written); 15-35 dB catches a wrong scale or orientation (< 10 dB).
    assert all(15 < row["psnr"] < 35 for row in numbers["rows"][:3])
    assert numbers["reg_weight"] in numbers["settings"]["weights"]
    assert numbers["provenance"]["git_sha"]


def test_imaging_reference_quick_run_gives_every_row_an_interval(tmp_path):
    import imaging_reference

    out = tmp_path / "ct_imaging_reference.json"
    numbers = imaging_reference.main(["--quick", "--out", str(out)])
    assert json.loads(out.read_text())["methods"].keys() == numbers["methods"].keys()
    assert list(numbers["methods"]) == ["classical", "tv", "supervised", "learned_gradient"]
    for name, row in numbers["methods"].items():
        stages = ["own"] if name == "classical" else ["own", "refined"]
        for stage in stages:
            psnr = row[stage]["psnr"]
            assert psnr["low"] <= psnr["mean"] <= psnr["high"] and np.isfinite(psnr["mean"])
    # TV in the box beats the clipped FBP on ellipses (a wrong scale or sign would not).
    assert numbers["methods"]["tv"]["own"]["psnr"]["mean"] > numbers["methods"]["classical"]["own"]["psnr"]["mean"]
    assert numbers["train_sizes"]["4"]["train_images"] == 4


def test_amount_weights_walks_the_grid_until_the_best_weight_is_interior(tmp_path):
    """benchmarks/amount_weights.py at test size: a weight per amount, each the best of its
    trials with a worse trial on either side, and the list the config's reg_weights takes."""
    import amount_weights
    import yaml

    overlay = tmp_path / "small.yaml"
    overlay.write_text(yaml.safe_dump({"experiments": {"ct": {
        "params": {"size": 16, "num_angles": 8}, "observations": {"amounts": [12, 4]}}}}))
    record = amount_weights.main(["--configfile", str(overlay), "--n", "4", "--out", str(tmp_path / "w.json")])
    assert list(record["amounts"]) == ["8", "12", "4"] and len(record["reg_weights"]) == 2
    for found in record["amounts"].values():
        trials = sorted(found["trials"], key=lambda t: t["reg_weight"])
        best = [t["reg_weight"] for t in trials].index(found["chosen"])
        assert 0 < best < len(trials) - 1 and found["psnr"] == max(t["psnr"] for t in trials)
    assert json.loads((tmp_path / "w.json").read_text())["reg_weights"] == record["reg_weights"]
