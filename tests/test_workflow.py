"""The real DAG on the tiny config: every rule runs, every output opens and holds what it should."""

import json
import re

import numpy as np
import pandas as pd
import yaml

from lio.methods import STATUS
from lio.analysis.results import open_dataset
from tests.workflow_helpers import ROOT, snakemake


def test_every_run_file_is_complete(finished):
    for method in ("bfgs", "reparameterized", "supervised", "neural_adjoint"):
        for n in (4, 8):
            run = open_dataset(finished / f"results/wavepacket/{method}/n{n}/seed0/result.nc")
            assert run.sizes["example"] == n
            for name in ("loss_unrefined", "loss_refined", "solution_refined", "status_refined", "curve"):
                assert name in run
            assert run.attrs["method"] == method and run.attrs["git_sha"]
            assert set(run["status_refined"].values) <= set(range(len(STATUS)))
            # Refinement starts from the unrefined estimate: it can only lower the loss.
            assert (run["loss_refined"] <= run["loss_unrefined"] + 1e-9).all()
            # every run reports its own training health, per example and per run
            for stage in ("unrefined", "refined"):
                assert set(run[f"pinned_{stage}"].values) <= {0, 1}
                assert 0 <= run.attrs[f"health_{stage}_pinned"] <= 1
                assert run.attrs[f"degenerate_{stage}"] in (0, 1)


def test_aggregate_has_solver_n_seed_example(finished):
    aggregate = open_dataset(finished / "results/wavepacket/aggregate.nc")
    assert aggregate["loss_refined"].dims == ("solver", "n", "seed", "example")
    assert list(aggregate["n"].values) == [4, 8]
    assert aggregate["loss_refined"].sel({"solver": "bfgs", "n": 4}).isnull().sum() == 4  # padding


def test_tables_and_figures_are_written(finished):
    table = pd.read_csv(finished / "results/table2.csv")
    assert set(table["stage"]) == {"refined", "unrefined"}
    assert set(table["method"]) == {
        "bfgs", "reparameterized", "supervised", "neural_adjoint", "learned_gradient", "diffusion",
        "random_start", "best_of_random_starts",
    }
    learned = table[table["method"] != "bfgs"]
    assert learned[["better", "equal"]].sum(axis=1).le(1 + 1e-12).all()
    assert learned[["better_exact", "equal_exact"]].sum(axis=1).le(1 + 1e-12).all()
    assert "training health and exact comparison" in (finished / "results/table2.md").read_text()
    experiments = yaml.safe_load((ROOT / "tests/data/tiny.yaml").read_text())["experiments"]
    for experiment in experiments:
        assert f"| {experiment} |" in (finished / "results/table2.md").read_text()
    assert "\\begin{tabular}" in (finished / "results/table2.tex").read_text()
    for experiment in experiments:
        for panel in "abcd":
            for ext in ("png", "pdf"):
                assert (finished / f"results/{experiment}/figures/{panel}.{ext}").stat().st_size > 1000


def test_logs_and_benchmarks_are_written(finished):
    log = (finished / "results/logs/wavepacket/reparameterized/n8/seed0.log").read_text()
    assert "step    10/10" in log and "L/n unrefined" in log
    assert "unrefined] health: pinned" in log
    assert (finished / "results/benchmarks/wavepacket/supervised/n8/seed0.tsv").exists()


def test_second_run_has_nothing_to_do(finished):
    result = snakemake(
        finished, "-n", "--cores", "1", "--configfile", str(ROOT / "tests/data/tiny.yaml"),
        str(ROOT / "tests/data/tiny_studies.yaml"),
    )
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def job_counts(output: str) -> dict[str, int]:
    """Snakemake's 'Job stats' table of a dry run, as {rule: count}."""
    table = output.split("Job stats:")[1].split("Reasons:")[0]
    return {m[0]: int(m[1]) for m in re.findall(r"^(\w+)\s+(\d+)$", table, flags=re.M)}


def test_hyperparameter_change_reruns_exactly_that_method(finished, tmp_path):
    tiny = yaml.safe_load((ROOT / "tests/data/tiny.yaml").read_text())
    tiny["experiments"]["wavepacket"]["methods"]["reparameterized"]["training"]["learning_rate"] = 5e-4
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(tiny))
    result = snakemake(finished, "-n", "--cores", "1", configfile=changed)
    counts = job_counts(result.stdout)
    assert counts["solve"] == 2  # reparameterized at n = 4 and 8; other methods untouched
    assert "sample_problems" not in counts


def test_figure_code_change_reruns_only_figures(finished):
    figures = finished / "src/lio/report/figures.py"
    original = figures.read_text()
    figures.write_text(original + "\n# restyled\n")
    try:
        result = snakemake(finished, "-n", "--cores", "1", configfile=ROOT / "tests/data/tiny.yaml")
    finally:
        figures.write_text(original)
    counts = job_counts(result.stdout)
    experiments = yaml.safe_load((ROOT / "tests/data/tiny.yaml").read_text())["experiments"]
    assert counts["figures"] == len(experiments)  # one job draws the 4 panels
    assert "solve" not in counts and "sample_problems" not in counts


def test_jobs_import_lio_from_the_checkout_they_run_in(finished):
    """Issue 22.1: the scratch copy is not installed, so a job whose lio lies in its src/ got it
    from the PYTHONPATH that common.smk sets, which --use-conda envs inherit as well."""
    logs = [path.read_text() for path in (finished / "results/logs").rglob("*.log")]
    sources = {match.group(1) for text in logs if (match := re.search(r"^lio job: .* lio=(\S+)$", text, re.M))}
    assert len([text for text in logs if text.startswith("lio job:")]) > 10
    assert sources == {str((finished / "src/lio").resolve())}


def test_the_imaging_experiment_carries_truth_metrics_through_to_the_report(finished):
    """CT's runs store PSNR / SSIM / relative error, the table compares them with BFGS's, and
    the report's imaging section lists them; the paper's experiments have none."""
    run = open_dataset(finished / "results/ct/reparameterized/n4/seed0/result.nc")
    for name in ("psnr", "ssim", "relative_error"):
        for stage in ("unrefined", "refined"):
            assert run[f"{name}_{stage}"].shape == (4,) and np.isfinite(run[f"{name}_{stage}"]).all()
    assert run["solution_refined"].shape == (4, 16 * 16)
    table = pd.read_csv(finished / "results/table2.csv")
    ct = table[table["experiment"] == "ct"]
    assert set(ct["method"]) == {"bfgs", "reparameterized", "supervised", "learned_gradient", "diffusion"}  # no neural adjoint
    assert ct["psnr"].notna().all() and ct[ct["method"] != "bfgs"]["better_psnr"].notna().all()
    assert table[table["experiment"] == "wavepacket"]["psnr"].isna().all()
    # BFGS refinement of a convex MAP objective: the refined images are BFGS's, to 0.1 dB.
    refined = ct[ct["stage"] == "refined"]
    assert (refined["psnr"] - refined[refined["method"] == "bfgs"]["psnr"].iloc[0]).abs().max() < 0.1
    assert (ct["psnr_low"] <= ct["psnr"] + 1e-9).all() and (ct["psnr"] <= ct["psnr_high"] + 1e-9).all()
    imaging = (finished / "results/paper/generated/imaging.tex").read_text()
    assert "\\lioCtTitle & BFGS & refined" in imaging and "Reparameterized & own" in imaging
    answers = (finished / "results/paper/generated/imaging_answers.tex").read_text()
    assert "\\lioCtTitle" in answers and "By mean PSNR to the hidden truth" in answers


def test_seismic_fwi_runs_every_method_including_the_neural_adjoint(finished):
    """FWI's operator is nonlinear and costly: the neural adjoint runs there (not on CT/MRI),
    its runs carry truth metrics in velocity units, and the report's imaging table lists it."""
    table = pd.read_csv(finished / "results/table2.csv")
    fwi = table[table["experiment"] == "fwi"]
    assert set(fwi["method"]) == {"bfgs", "reparameterized", "supervised", "neural_adjoint"}
    assert fwi["psnr"].notna().all() and fwi["relative_error"].between(0, 1).all()
    run = open_dataset(finished / "results/fwi/neural_adjoint/n4/seed0/result.nc")
    assert run["solution_refined"].shape == (4, 16 * 16)
    velocities = np.asarray(run["solution_unrefined"])
    assert np.isfinite(velocities).all() and velocities.min() >= 1.5 and velocities.max() <= 4.5
    imaging = (finished / "results/paper/generated/imaging.tex").read_text()
    assert "\\lioFwiTitle & BFGS & refined" in imaging and "Neural adjoint & own" in imaging


def test_the_observation_axis_runs_every_amount_and_tabulates_quality_against_it(finished):
    """Issue 20: tiny.yaml gives CT two amounts (8 and 4 angles); each runs as its own
    experiment whose paths carry the amount, and the axis's table, amount aggregate, figure and
    the summary come out of the default target."""
    for amount, weight in ((8, 1.0e-3), (4, 3.2e-3)):  # each amount with its own TV weight (reg_weights)
        run = open_dataset(finished / f"results/ct/amount{amount}/supervised/n4/seed0/result.nc")
        assert np.isfinite(run["psnr_refined"]).all()
        assert f'"num_angles": {amount}' in run.attrs["config"]
        assert json.loads(run.attrs["config"])["params"]["reg_weight"] == weight
    table = pd.read_csv(finished / "results/ct/observations/table.csv", dtype={"amount": str})
    assert set(table["amount"]) == {"8", "4"} and set(table["method"]) == {"bfgs", "supervised"}
    refined = table[table["stage"] == "refined"].set_index(["amount", "method"])
    for column in ("loss_mean", "psnr_mean", "psnr_low", "psnr_high", "ssim_mean", "relative_error_mean"):
        assert refined[column].notna().all(), column
    assert (refined["psnr_low"] <= refined["psnr_mean"]).all() and (refined["psnr_mean"] <= refined["psnr_high"]).all()
    # fewer angles, a worse image: BFGS's PSNR at 4 angles is below its PSNR at 8
    assert refined.loc[("4", "bfgs"), "psnr_mean"] < refined.loc[("8", "bfgs"), "psnr_mean"]
    amounts = open_dataset(finished / "results/ct/observations/amounts.nc")
    assert amounts["amount"].values.tolist() == [8.0, 4.0] and "loss_refined" in amounts
    winners = pd.read_csv(finished / "results/ct/observations/winners.csv", dtype={"amount": str})
    assert set(winners["quantity"]) == {"loss", "psnr", "ssim", "relative_error"}
    for path in ("results/ct/observations/figure.png", "results/observations/summary.png"):
        assert (finished / path).stat().st_size > 10_000, path
    assert "best method per amount" in (finished / "results/observations/summary.md").read_text()
    # the report's decreasing-observations section answers from this table (lio.report.paper.amounts)
    section = (finished / "results/paper/generated/amounts.tex").read_text()
    assert "\\lioCtTitle, projection angles from 8 (most observed) to 4 (fewest)" in section
    assert "includegraphics" in section and "tab:amounts-ct" in section
    assert table["git_sha"].notna().all()  # every row names its runs' commits, which publishing checks


def test_the_basins_check_runs_per_experiment_and_reaches_the_report(finished):
    import json

    record = json.loads((finished / "results/wavepacket/basins.json").read_text())
    assert record["starts"] == 2 and 0.0 <= record["stuck"] <= 1.0
    assert len(record["examples"]["stuck"]) == 4  # tiny's calibration set: n = 4, one seed
    assert record["git_sha"]  # provenance
    table = (finished / "results/paper/generated/basins.tex").read_text()
    for title in (r"\lioWavepacketTitle", r"\lioNavierStokesTitle"):
        assert title in table
    assert r"\lioCtTitle" not in table  # CT has no basins block
    assert "another start" in (finished / "results/paper/generated/observations.tex").read_text()
