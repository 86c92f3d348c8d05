"""The paper side: generators on a synthetic aggregate, and the real DAG's paper, record and report."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from lio.report import paper
from lio.report.paper import files
from lio.report.paper.constants import format_value
from lio.report.paper.comparison import comparison_tabular, summary
from lio.report.paper.costs import COST_N, cost_tabular
from lio.report.paper.reference import load_reference
from tests.test_workflow import job_counts
from tests.workflow_helpers import ROOT, scratch_copy, snakemake

TINY = ROOT / "tests/data/tiny.yaml"
REFERENCE = load_reference(ROOT / "paper/reference.yaml")


def read_macros(path: Path) -> dict[str, str]:
    return dict(re.findall(r"\\newcommand\{(\\\w+)\}\{(.*)\}", path.read_text()))


# --- LaTeX text ------------------------------------------------------------------------------


def test_macro_names_hold_letters_only():
    assert paper.macro("wavepacket", "neural_adjoint", "refined", "better", "Low") == (
        "\\lioWavepacketNeuralAdjointRefinedBetterLow"
    )
    assert paper.macro("ks2", "Title") == "\\lioKsTwoTitle"


def test_latex_escape_maps_specials_and_unicode():
    escaped = paper.latex_escape("σ=10, ±3 x_1 50% #2 {a} -> ≥ Α é ∇ 日")
    assert escaped == (
        "$\\sigma$=10, $\\pm$3 x\\_1 50\\% \\#2 \\{a\\} $\\to$ $\\geq$ A é $\\nabla$ "
        "[cjk unified ideograph-65e5]"
    )


def test_format_value_writes_config_values_plainly():
    assert [format_value(v) for v in (1e-6, 0.95, 1000.0, [16, 32], True, None)] == [
        "1e-6",
        "0.95",
        "1000",
        "[16, 32]",
        "true",
        "null",
    ]


# --- constants we chose ------------------------------------------------------------------------

CONFIG_TEXT = """\
# A block comment with ours: in it is not a constant.
publish: false                # ours: never listed (does not change results)
bfgs:
  max_iterations: 1000        # paper: "max 1000 iterations"
  rtol: 1.0e-10               # ours: stop criterion
experiments:
  toy:                        # ours: comments on mapping keys describe blocks
    params:
      t0_low: 32.0            # ours: t0 prior U(32, 224)
      t0_high: 224.0
      width: 10.0
      label: "a # b"          # ours (notes.md): hash inside quotes
    methods:
      reparameterized:
        training:
          steps: 1000         # ours: twice the settling time
          log_every: 100      # ours: never listed (logging)

          learning_rate: 1.0e-3
"""


def test_commented_constants_reads_ours_comments_and_their_family():
    constants = paper.commented_constants(CONFIG_TEXT)
    assert [(c.keys, c.comment) for c in constants] == [
        ([("publish",)], "never listed (does not change results)"),
        ([("bfgs", "rtol")], "stop criterion"),
        (
            [("experiments", "toy", "params", "t0_low"), ("experiments", "toy", "params", "t0_high")],
            "t0 prior U(32, 224)",
        ),
        ([("experiments", "toy", "params", "label")], "hash inside quotes"),
        (
            [("experiments", "toy", "methods", "reparameterized", "training", "steps")],
            "twice the settling time",
        ),
        (
            [("experiments", "toy", "methods", "reparameterized", "training", "log_every")],
            "never listed (logging)",
        ),
    ]


def test_constants_table_shows_merged_values_and_later_comments(tmp_path):
    base = tmp_path / "config.yaml"
    base.write_text(CONFIG_TEXT)
    override = tmp_path / "override.yaml"
    override.write_text("bfgs:\n  rtol: 1.0e-8   # ours: looser for the test\n")
    config = yaml.safe_load(CONFIG_TEXT)
    config["bfgs"]["rtol"] = 1e-8
    table = paper.constants_table(config, [str(base), str(override)], ["toy"])
    assert table.to_dict("records") == [
        {"group": "bfgs", "parent": "", "key": "rtol", "value": "1e-8", "why": "looser for the test"},
        {
            "group": "toy",
            "parent": "params",
            "key": "t0_low, t0_high",
            "value": "32, 224",
            "why": "t0 prior U(32, 224)",
        },
        {
            "group": "toy",
            "parent": "params",
            "key": "label",
            "value": "a # b",
            "why": "hash inside quotes",
        },
        {
            "group": "toy",
            "parent": "methods.reparameterized.training",
            "key": "steps",
            "value": "1000",
            "why": "twice the settling time",
        },
    ]
    assert paper.constants_table(config, [str(base)], ["other"])["group"].tolist() == ["bfgs"]


def test_every_choice_in_the_real_config_is_listed_and_renders():
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    table = paper.constants_table(
        config, [str(ROOT / "config/config.yaml")], list(config["experiments"])
    )
    listed = {(row.group, row.parent, key) for row in table.itertuples() for key in row.key.split(", ")}
    assert ("wavepacket", "params", "width") in listed
    assert ("comparison", "", "rtol") in listed
    assert not any(group == "compute" for group, _, _ in listed)
    for why in table["why"]:  # every character maps to LaTeX (no "[unicode name]" fallback)
        assert paper.latex_escape(why).count("[") == why.count("["), why


# --- generated numbers and tables on a synthetic sweep ----------------------------------------------

METHODS = ["bfgs", "reparameterized", "supervised", "neural_adjoint"]


def synthetic_aggregate() -> xr.Dataset:
    """Wall times only where the generators read them: solver x n x seed, with provenance."""
    shape = (len(METHODS), 2, 2)
    solve = np.ones(shape) * np.array([1.0, 4.0, 3.0, 2.0])[:, None, None]
    refine = np.ones(shape) * np.array([1.0, 0.5, 0.5, 0.5])[:, None, None]  # bfgs: = solve
    dims = ("solver", "n", "seed")
    return xr.Dataset(
        {
            "wall_time_unrefined_s": (dims, solve),
            "wall_time_refine_s": (dims, refine),
            "git_sha": (dims, np.full(shape, "0123456789abcdef")),
            "lio_version": (dims, np.full(shape, "0.1.0")),
            "device": (dims, np.full(shape, "cpu:cpu x1")),
        },
        coords={"solver": METHODS, "n": [4, 8], "seed": [0, 1]},
    )


def synthetic_table() -> pd.DataFrame:
    rows = []
    for stage, shift in (("refined", 0.0), ("unrefined", -0.2)):
        for method, better, low, high in (
            ("reparameterized", 0.86, 0.80, 0.90),  # the paper's 86.0 inside
            ("supervised", 0.30, 0.25, 0.35),  # the paper's 65.1 above
            ("neural_adjoint", 0.60, 0.55, 0.65),  # the paper's 40.2 below
        ):
            rows.append(
                {
                    "experiment": "wavepacket",
                    "method": method,
                    "stage": stage,
                    "groups": 4,
                    "better": better + shift,
                    "better_low": low + shift,
                    "better_high": high + shift,
                    "equal": 0.05,
                    "equal_low": 0.0,
                    "equal_high": 0.1,
                }
            )
    return pd.DataFrame(rows)


def synthetic_jobs() -> pd.DataFrame:
    seconds = {"bfgs": 10.0, "reparameterized": 30.0, "supervised": 20.0, "neural_adjoint": 15.0}
    return pd.DataFrame(
        [
            {"experiment": "wavepacket", "method": m, "n": n, "seed": s, "job_s": seconds[m] / 4}
            for m in METHODS
            for n in (4, 8)
            for s in (0, 1)
        ]
    )


def test_cost_table_is_wall_time_relative_to_bfgs():
    costs = paper.cost_table({"wavepacket": synthetic_aggregate()}, synthetic_jobs()).set_index("method")
    assert costs.loc["bfgs", ["solve", "total", "job", "solve_s"]].tolist() == [1.0, 1.0, 1.0, 4.0]
    assert costs.loc["reparameterized", ["solve", "total", "job"]].tolist() == [4.0, 4.5, 3.0]
    assert np.isnan(paper.cost_table({"wavepacket": synthetic_aggregate()}, None)["job"]).all()
    assert np.isnan(costs["total_at_n"]).all()  # the synthetic sweep has no n = 64
    at_64 = synthetic_aggregate().assign_coords(n=[8, COST_N])
    at_64["wall_time_unrefined_s"].loc[{"n": 64, "solver": "supervised"}] = [6.0, np.nan]  # one seed ran
    costs = paper.cost_table({"wavepacket": at_64}, None).set_index("method")
    assert costs.loc["reparameterized", "total_at_n"] == 4.5 and costs.loc["supervised", "total_at_n"] == 6.5
    tex = cost_tabular(costs.reset_index(), ["wavepacket"])
    assert "$n = 64$" in tex and "4.5$\\times$" in tex


def test_numbers_are_the_results_and_the_papers():
    aggregates = {"wavepacket": synthetic_aggregate()}
    costs = paper.cost_table(aggregates, synthetic_jobs())
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    numbers = paper.numbers(config, synthetic_table(), aggregates, costs, REFERENCE, "a test")
    assert numbers["\\lioWavepacketReparameterizedRefinedBetter"] == "86.0"
    assert numbers["\\lioWavepacketReparameterizedRefinedBetterLow"] == "80.0"
    assert numbers["\\lioWavepacketSupervisedUnrefinedBetter"] == "10.0"
    assert numbers["\\lioWavepacketReparameterizedPaperBetter"] == "86.0"  # paper/reference.yaml
    assert numbers["\\lioWavepacketNeuralAdjointPaperEqual"] == "47.4"
    assert numbers["\\lioWavepacketReparameterizedCostSolve"] == "4.0"
    assert numbers["\\lioWavepacketBfgsCostJobSeconds"] == "10.0"
    assert numbers["\\lioWavepacketProblems"] == "24"  # (4 + 8) x 2 seeds
    assert numbers["\\lioRtol"] == "10^{-6}" and numbers["\\lioConfidence"] == "95"
    assert numbers["\\lioReparameterizedPaperBetterMean"] == "68.5"  # the paper's "69%", 4 experiments
    assert numbers["\\lioReparameterizedPaperBetterMeanShared"] == "86.0"
    assert numbers["\\lioGitSha"] == "\\item \\texttt{\\detokenize{0123456789abcdef}}"  # full SHAs (issue 22.7)
    sha = aggregates["wavepacket"]["git_sha"]
    aggregates["wavepacket"]["git_sha"] = (sha.dims, np.full(sha.shape, "0123456789abcdef-dirty", object))
    dirty = paper.numbers(config, synthetic_table(), aggregates, costs, REFERENCE, "a test")
    assert dirty["\\lioGitSha"].endswith("(\\textbf{uncommitted tree})")
    # the config asks for the full sweep; the synthetic runs are n = 4, 8 with 2 seeds
    assert "not the sweep the configuration asks for" in numbers["\\lioWavepacketSweepNote"]
    assert "Kuramoto--Sivashinsky" in numbers["\\lioPaperTrainingCost"]


def test_tables_and_summary_name_every_method_and_the_papers_values():
    table = synthetic_table()
    refined = comparison_tabular(table, "refined", ["wavepacket"], REFERENCE)
    for method in ("Reparameterized", "Supervised", "Neural adjoint"):
        assert f"& {method} &" in refined
    assert "\\lioWavepacketSupervisedPaperBetter" in refined
    assert "Paper" not in comparison_tabular(table, "unrefined", ["wavepacket"], None)
    text = summary(table, ["wavepacket"], REFERENCE)
    assert "Of the 3 refined" in text and "1 lies inside" in text
    assert "below our interval for 1: \\lioWavepacketTitle{} / neural adjoint" in text
    assert "above our interval for 1: \\lioWavepacketTitle{} / supervised" in text


def test_job_seconds_reads_snakemake_benchmark_files(tmp_path):
    path = tmp_path / "results/benchmarks/wavepacket/bfgs/n16/seed3.tsv"
    path.parent.mkdir(parents=True)
    path.write_text(
        "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
        "6.27\t0:00:06\t336.66\t1556.98\t239.20\t271.63\t0.00\t0.08\t87.53\t5.98\n"
    )
    jobs = paper.job_seconds([path])
    assert jobs.to_dict("records") == [
        {
            "experiment": "wavepacket",
            "method": "bfgs",
            "n": 16,
            "seed": 3,
            "job_s": 6.27,
            "max_rss_mb": 336.66,
            "cpu_time_s": 5.98,
        }
    ]


def test_readme_block_replaces_only_the_marked_region(tmp_path):
    block = paper.readme_block(
        synthetic_table(),
        {"wavepacket": synthetic_aggregate()},
        synthetic_jobs(),
        REFERENCE,
        {"wavepacket": [f"paper/figures/wavepacket/{p}.png" for p in paper.PANELS]},
    )
    assert "| Wave packet localization | 86.0 / 5.0 (paper 86.0 / 1.8) |" in block
    assert "| cpu:cpu x1 | 1 min 15 s in 16 jobs |" in block
    assert '<img src="paper/figures/wavepacket/d.png"' in block
    readme = tmp_path / "README.md"
    readme.write_text("# lio\n\n<!-- results:start -->\nold\n<!-- results:end -->\n\n## Next\n")
    paper.splice_readme(readme, block)
    text = readme.read_text()
    assert text.startswith("# lio\n\n<!-- results:start -->") and text.endswith(
        "<!-- results:end -->\n\n## Next\n"
    )
    assert "old" not in text and text.count("results:start") == 1
    readme.write_text("# lio without markers\n")
    with pytest.raises(ValueError, match="has no '<!-- results:start -->'"):
        paper.splice_readme(readme, block)


def test_record_layout_reads_paper_data_and_leaves_out_missing_experiments(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "paper/data").mkdir(parents=True)
    (tmp_path / "paper/data/wavepacket_aggregate.nc").touch()
    (tmp_path / "paper/figures/wavepacket").mkdir(parents=True)
    (tmp_path / "paper/figures/wavepacket/a.pdf").touch()
    block = {"methods": {"bfgs": {}}, "ns": [4], "seeds": [0]}
    config = {"paper_source": "record", "experiments": {"wavepacket": block, "billiards": block}}
    layout = paper.layout(config)
    assert (
        layout.experiments == ("wavepacket",)
        and "no results for ['billiards']" in capsys.readouterr().out
    )
    assert layout.directory == "paper" and layout.record and layout.from_record
    assert layout.aggregates == ["paper/data/wavepacket_aggregate.nc"] and layout.benchmarks == []
    assert layout.figures[:2] == ["paper/figures/wavepacket/a.pdf", "paper/figures/wavepacket/b.png"]
    quick = paper.layout({"experiments": {"wavepacket": block}, "publish": False})
    assert (
        quick.directory == "results/paper"
        and not quick.record
        and quick.benchmarks == ["results/benchmarks.csv"]
    )
    full = paper.layout({"experiments": {"wavepacket": block, "billiards": block}, "publish": True})
    assert full.directory == "paper" and full.publishing and not full.from_record
    assert full.benchmarks == ["paper/data/benchmarks.csv"]  # written by this run's publish rules
    assert full.figures[4] == "paper/figures/billiards/a.pdf"
    with pytest.raises(ValueError, match="paper/data holds no <experiment>_aggregate.nc"):
        paper.layout({"paper_source": "record", "experiments": {"billiards": block}})


@pytest.mark.parametrize("latexmk", [True, False], ids=["latexmk", "pdflatex+bibtex"])
def test_build_pdf_compiles_sources_found_beside_main_tex(tmp_path, monkeypatch, latexmk):
    if shutil.which("pdflatex") is None:
        pytest.skip(
            "no pdflatex: the no-TeX path is tested in test_without_tex_the_dag_stops_with_a_message"
        )
    if latexmk and shutil.which("latexmk") is None:
        pytest.skip("no latexmk; the pdflatex + bibtex path is tested")
    source, work = tmp_path / "paper", tmp_path / "results/paper"
    (source).mkdir(parents=True)
    (work / "generated").mkdir(parents=True)
    (source / "main.tex").write_text(
        "\\documentclass{article}\\usepackage{natbib}\\begin{document}\\input{generated/numbers}"
        "Value \\lioValue{} \\cite{key}.\\bibliographystyle{plainnat}\\bibliography{refs}\\end{document}\n"
    )
    (source / "refs.bib").write_text("@misc{key, author={A. Author}, title={T}, year={2020}}\n")
    (source / "generated").mkdir()  # a committed paper/generated must not shadow results/paper's
    (source / "generated/numbers.tex").write_text("\\newcommand{\\lioValue}{stale}\n")
    (work / "generated/numbers.tex").write_text("\\newcommand{\\lioValue}{fresh}\n")
    if not latexmk:
        which = shutil.which
        monkeypatch.setattr(
            files.shutil, "which", lambda name: None if name == "latexmk" else which(name)
        )
    paper.build_pdf(str(source / "main.tex"), str(work / "main.pdf"))
    assert (work / "main.pdf").read_bytes().startswith(b"%PDF")
    log = (work / "build/main.log").read_text()
    assert "(./generated/numbers.tex)" in log and "undefined" not in log.lower()
    assert "\\bibitem[Author(2020)]{key}" in (work / "build/main.bbl").read_text()


# --- the real DAG on the tiny config (fixture `finished`) -----------------------------------------------


def test_generated_numbers_match_the_results(finished):
    generated = finished / "results/paper/generated"
    for name in (
        "numbers",
        "table2_refined",
        "table2_unrefined",
        "cost",
        "health",
        "experiments",
        "summary",
        "constants",
    ):
        assert (generated / f"{name}.tex").stat().st_size > 100, name
    assert not (finished / "paper/generated").exists()  # a test run never writes the committed paper
    macros = read_macros(generated / "numbers.tex")
    table = pd.read_csv(finished / "results/table2.csv")
    # every method, BFGS included, reports its training health; BFGS has no better/equal
    assert set(table["method"]) == {
        "bfgs", "reparameterized", "supervised", "neural_adjoint", "learned_gradient", "diffusion",
        "random_start", "best_of_random_starts",
    }
    assert table["pinned"].between(0, 1).all() and table["in_basin"].between(0, 1).all()
    assert table[table["method"] == "bfgs"]["better"].isna().all()
    assert "pinned" in (generated / "health.tex").read_text()
    table = table[table["method"] != "bfgs"]
    for row in table.itertuples():
        name = paper.macro(row.experiment, row.method, row.stage)
        assert macros[name + "Better"] == f"{100 * row.better:.1f}"
        assert macros[name + "EqualHigh"] == f"{100 * row.equal_high:.1f}"
    costs = pd.read_csv(generated / "cost.csv")
    assert set(costs["experiment"]) == set(table["experiment"]) and (costs["job"] > 0).all()
    row = costs[(costs["experiment"] == "billiards") & (costs["method"] == "supervised")].iloc[0]
    assert macros["\\lioBilliardsSupervisedCostTotal"] == f"{row.total:.1f}"
    assert macros["\\lioWavepacketNList"] == "4, 8" and macros["\\lioWavepacketSeeds"] == "1"
    assert (
        "\\includegraphics[width=0.49\\linewidth]{../wavepacket/figures/c.pdf}"
        in (generated / "experiments.tex").read_text()
    )
    constants = pd.read_csv(generated / "constants.csv")
    width = constants[(constants["group"] == "wavepacket") & (constants["key"] == "width")]
    assert width["value"].tolist() == ["10"]
    steps = constants[(constants["group"] == "wavepacket") & (constants["key"] == "steps")
                      & (constants["parent"] == "methods.reparameterized.training")]
    assert steps["value"].tolist() == ["10"]  # the value tiny.yaml ran, with config.yaml's reason


def test_benchmarks_summary_has_one_row_per_solve_job(finished):
    jobs = pd.read_csv(finished / "results/benchmarks.csv")
    runs = list(finished.glob("results/*/*/n*/seed*/result.nc"))
    assert len(jobs) == len(runs) > 0 and (jobs["job_s"] > 0).all()


def test_paper_pdf_is_built_or_the_dag_says_how(finished):
    """With a TeX on PATH the default target builds the PDF; without, it says how to get one."""
    if shutil.which("pdflatex"):
        pdf = finished / "results/paper/main.pdf"
        assert pdf.read_bytes().startswith(b"%PDF")
        assert "paper: 0 overfull boxes" in (finished / "results/logs/paper/pdf.log").read_text()
        # The last pass's log: every reference and citation resolved.
        assert "undefined" not in (finished / "results/paper/build/main.log").read_text().lower()
    else:
        result = snakemake(finished, "-n", "--cores", "1", configfile=TINY)
        assert paper.NO_TEX_MESSAGE in result.stdout + result.stderr
        assert not (finished / "results/paper/main.pdf").exists()


def path_without_tex(shadow: Path) -> str:
    """$PATH with every TeX program hidden: folders holding pdflatex are replaced by a copy
    of links to everything else in them (other tools, e.g. `which`, stay reachable)."""
    folders = []
    for index, folder in enumerate(os.environ["PATH"].split(os.pathsep)):
        if not (Path(folder) / "pdflatex").exists():
            folders.append(folder)
            continue
        copy = shadow / str(index)
        copy.mkdir(parents=True)
        for program in Path(folder).iterdir():
            if program.name not in {"pdflatex", "latexmk", "latex", "pdftex", "bibtex"}:
                (copy / program.name).symlink_to(program)
        folders.append(str(copy))
    return os.pathsep.join(folders)


def test_without_tex_the_dag_stops_with_a_message(finished, tmp_path):
    bare = {**os.environ, "PATH": path_without_tex(tmp_path)}
    command = [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--forcerun", "paper_generated"]
    result = subprocess.run(
        [*command, "--configfile", str(TINY)], cwd=finished, env=bare, capture_output=True, text=True
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-2000:]
    assert paper.NO_TEX_MESSAGE in output
    assert "paper_generated" in job_counts(result.stdout) and "paper_pdf" not in job_counts(
        result.stdout
    )


def test_html_report_holds_every_figure_and_table(finished):
    result = snakemake(finished, "--report", "results/report.html", configfile=TINY)
    assert result.returncode == 0, result.stderr[-2000:]
    html = (finished / "results/report.html").read_text()
    for name in ("table2.csv", "cost.csv", "constants.csv", "c.png"):
        assert name in html, name


# --- the committed record ----------------------------------------------------------------------------------


def test_record_rebuilds_paper_and_readme_without_training(tmp_path):
    """`--config paper_source=record` reads paper/data only: no sampling, no solving."""
    workdir = scratch_copy(tmp_path)
    shutil.copy(ROOT / "README.md", workdir / "README.md")
    dry = snakemake(workdir, "-n", "--cores", "1", "--config", "paper_source=record")
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert set(job_counts(dry.stdout)) - {"total"} <= {
        "record_tables",
        "record_calibration_table",
        "paper_generated",
        "paper_constants",
        "paper_pdf",
        "readme_results",
        "all",
    }
    result = snakemake(workdir, "--cores", "2", "--config", "paper_source=record")
    assert result.returncode == 0, result.stderr[-3000:]
    macros = read_macros(workdir / "paper/generated/numbers.tex")
    record = pd.read_csv(ROOT / "paper/data/table2.csv")
    row = record[(record["stage"] == "refined") & (record["method"] == "reparameterized")].iloc[0]
    assert (
        macros[paper.macro(row.experiment, "reparameterized", "refined", "better")]
        == f"{100 * row.better:.1f}"
    )
    # The workflow writes the README's block beside the paper; only lio.report.paper.record touches README.md.
    assert (workdir / "README.md").read_text() == (ROOT / "README.md").read_text()
    block = (workdir / "paper/generated/readme.md").read_text()
    assert block.count("<!-- results:start -->") == 1 and "(paper 86.0 / 1.8)" in block
    sync = [sys.executable, "-m", "lio.report.paper.record"]
    assert subprocess.run(sync, cwd=workdir, capture_output=True).returncode == 0
    assert block.rstrip("\n") in (workdir / "README.md").read_text()
    assert subprocess.run([*sync, "--check"], cwd=workdir, capture_output=True).returncode == 0
    assert (workdir / "paper/main.pdf").exists() == bool(shutil.which("pdflatex"))
    assert not (workdir / "results/table2.csv").exists()
    if shutil.which("pdflatex"):  # issue 40: no overfull box, every table printed at >= 8 pt
        log = (workdir / "paper/build/main.log").read_text(errors="replace")
        assert "Overfull" not in log
        scales = re.findall(r"lio table scale: (\d+) percent of ([\d.]+) pt", log)
        small = [(p, size) for p, size in scales if int(p) / 100 * float(size) < 8.0]
        assert not small, f"tables scaled below 8 pt (percent, pt): {small}"


def test_the_readme_shows_the_committed_record(tmp_path):
    """README.md's results block is what the record gives now (sync: python -m lio.report.paper.record)."""
    from lio.report.paper.files import layout
    from lio.report.paper.readme import README_END, README_START, write_readme

    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        record = layout({**config, "paper_source": "record"})
        write_readme(
            record, record.table, record.aggregates, (record.benchmarks or [None])[0],
            "paper/reference.yaml", str(tmp_path / "readme.md"),
        )
    finally:
        os.chdir(cwd)
    readme = (ROOT / "README.md").read_text()
    current = readme[readme.index(README_START) : readme.index(README_END) + len(README_END)]
    assert current == (tmp_path / "readme.md").read_text().rstrip("\n"), (
        "README.md's results are stale: run `snakemake --cores 1 --config paper_source=record` "
        "and `python -m lio.report.paper.record`"
    )


def test_a_plain_run_writes_no_tracked_file_and_publish_writes_only_the_record(tmp_path):
    """Issue 22.6: the user's first command (the full config) must not touch paper/ or README.md."""
    workdir = scratch_copy(tmp_path)
    def outputs(*args):
        dry = snakemake(workdir, "-n", "--cores", "1", *args)
        assert dry.returncode == 0, dry.stderr[-2000:]
        return {path for line in dry.stdout.splitlines() if line.strip().startswith("output:")
                for path in line.split(":", 1)[1].replace(",", " ").split()}
    plain, published = outputs(), outputs("publish")
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert not plain & set(tracked) and not any(p.startswith("paper/") and "generated" not in p for p in plain)
    written = published - plain
    assert "paper/data/wavepacket_aggregate.nc" in written and "paper/data/table2.csv" in written
    assert "paper/data/calibration/wavepacket/reparameterized.json" in written
    assert all(p.startswith(("paper/data/", "paper/figures/")) for p in written), written - plain
    assert "README.md" not in published


def test_publish_refuses_runs_of_an_uncommitted_tree(tmp_path):
    from lio.report.paper.record import publish_aggregate, uncommitted_runs
    from lio.analysis.results import open_dataset

    dataset = open_dataset(ROOT / "paper/data/billiards_aggregate.nc").load()
    ran = np.isfinite(dataset["wall_time_unrefined_s"].values)
    shas = np.where(ran, "0123456789abcdef0123456789abcdef01234567", "").astype(object)
    dataset["git_sha"] = (dataset["git_sha"].dims, shas)
    clean = tmp_path / "clean.nc"
    dataset.to_netcdf(clean)
    assert uncommitted_runs(clean) == []
    publish_aggregate(clean, tmp_path / "record/clean.nc")
    assert (tmp_path / "record/clean.nc").read_bytes() == clean.read_bytes()
    first = tuple(int(i[0]) for i in np.nonzero(ran))
    shas[first] = "0123456789abcdef0123456789abcdef01234567-dirty"
    dataset["git_sha"] = (dataset["git_sha"].dims, shas)
    dirty = tmp_path / "dirty.nc"
    dataset.to_netcdf(dirty)
    assert len(uncommitted_runs(dirty)) == 1 and "-dirty" in uncommitted_runs(dirty)[0]
    with pytest.raises(ValueError, match="1 run\\(s\\) made from an uncommitted tree"):
        publish_aggregate(dirty, tmp_path / "record/dirty.nc")
    assert not (tmp_path / "record/dirty.nc").exists()
    publish_aggregate(dirty, tmp_path / "record/dirty.nc", allow_uncommitted=True)
    assert (tmp_path / "record/dirty.nc").exists()


def test_deviations_list_each_cell_beyond_15_points_with_its_diagnostics():
    """Issue 17: a Table 2 cell more than 15 points from the paper's comes with what was measured."""
    from lio.report.paper.deviations import deviations_tabular

    table = pd.DataFrame(
        [
            {"experiment": "wavepacket", "method": m, "stage": stage, "better": better, "groups": 8,
             "pinned": 0.05, "spread": 1.0, "error": err, "in_basin": 0.02, "degenerate": 1, "better_exact": better}
            for m, better, err in (("bfgs", np.nan, 0.25), ("reparameterized", 0.40, 0.45), ("supervised", 0.70, 0.1))
            for stage in ("unrefined", "refined")
        ]
    )
    trials = pd.DataFrame([{"experiment": "wavepacket", "method": "reparameterized", "learning_rate": 3e-4, "chosen": True}])
    text = deviations_tabular(table, ["wavepacket"], REFERENCE, trials)
    # paper: reparameterized 86.0 (46 points off: listed), supervised 65.1 (4.9 off: not listed)
    assert "Reparameterized & 40.0 & 86.0 & -46.0 & 5 & 0.450 / 0.250 & 2 / 2 & 1/8 & 0.0003" in text
    assert "Supervised" not in text
    close = table.assign(better=table["better"].where(table["method"] != "reparameterized", 0.80))
    assert "within 15 points" in deviations_tabular(close, ["wavepacket"], REFERENCE, None)


def test_page_one_states_the_compute_per_device():
    """Issue 40: the summary says what the record cost, on which device."""
    import xarray as xr

    from lio.report.paper.costs import compute_sentence

    aggregate = xr.Dataset({"device": (("solver", "n", "seed"), np.array([[["cpu:cpu x1", "gpu:H100 x1"]]]))},
                           coords={"solver": ["bfgs"], "n": [4], "seed": [0, 1]})
    jobs = pd.DataFrame({"experiment": ["wavepacket"] * 2, "method": ["bfgs"] * 2, "n": [4, 4], "seed": [0, 1],
                         "job_s": [7200.0, 600.0]})
    text = compute_sentence({"wavepacket": aggregate}, jobs)
    assert "2.2\\,h of job time" in text and "2.0\\,h on cpu:cpu x1" in text and "10\\,min on gpu:H100 x1" in text
    assert "no GPU" not in text
    assert "no GPU was used" in compute_sentence({"wavepacket": aggregate.isel(seed=[0])}, jobs.iloc[:1])


def test_bounds_paragraph_says_which_way_the_asymmetry_cuts(tmp_path):
    """Issue 40: the tanh-bounded networks against raw BFGS, with the measured effect of running
    BFGS through the same tanh, per experiment and with its direction."""
    import json

    from lio.report.paper.bounds import paragraph

    def run(loss, basin, outside=0.0):
        return {"loss_per_problem": loss, "in_basin": basin, "outside_box": outside}

    path = tmp_path / "bounds.json"
    path.write_text(json.dumps({"n": 64, "seeds": [100, 101], "experiments": {
        "kuramoto_sivashinsky": {"raw": run(261.0, 0.66, 0.3), "tanh": run(452.0, 0.39)},
        "wavepacket": {"raw": run(13.0, 0.04), "tanh": run(11.4, 0.09)},
        "billiards": {"raw": run(0.0785, 0.53), "tanh": run(0.0786, 0.53)},
    }}))
    text = paragraph(path, ["wavepacket", "billiards", "kuramoto_sivashinsky"])
    assert "$L/n$ 261 raw against 452 through the tanh, 30\\,\\% of its raw estimates outside the box" in text
    assert "ends higher on \\lioKuramotoSivashinskyTitle{}" in text and "against the learned methods" in text
    assert "ends lower on \\lioWavepacketTitle{}" in text and "from the bounds" in text
    assert "On \\lioBilliardsTitle{} the tanh changes" in text
    assert "not measured" in paragraph(tmp_path / "missing.json", ["wavepacket"])
