# The reproduction report (paper/main.tex, see lio.report.paper): every number and table in it is a
# file generated here. `snakemake publish` and `paper_source: record` (no training) read the
# record in paper/data + paper/figures and write paper/generated (with the README's results block,
# which `python -m lio.report.paper.record` copies into README.md) and paper/main.pdf; any other run
# reads results/ and writes results/paper/ only.
from lio.report import paper as lio_paper

PAPER = lio_paper.layout(config)
# The record as `snakemake publish` writes it (paper_source: record reads it as it is).
RECORD = PAPER if FROM_RECORD else lio_paper.layout(config, publishing=True)
PAPER_CONFIGFILES = lio_paper.merge_order(workflow.configfiles, workflow.overwrite_configfiles)
if not PAPER.tex and workflow.is_main_process:
    logger.warning(lio_paper.NO_TEX_MESSAGE)


report: "../report/workflow.rst"


rule benchmarks_summary:
    input:
        PAPER.benchmark_files,
    output:
        "results/benchmarks.csv",
    log:
        "results/logs/paper/benchmarks_summary.log",
    conda:
        "../envs/lio.yaml"
    script:
        "../scripts/paper_benchmarks.py"


# BFGS raw against BFGS through the networks' tanh (benchmarks/bfgs_parameterization.py), where present.
BOUNDS_BENCHMARK = [p for p in ["benchmarks/results/bfgs_parameterization.json"] if Path(p).exists()]


rule paper_generated:
    input:
        table=PAPER.table,
        aggregates=PAPER.aggregates,
        benchmarks=PAPER.benchmarks,
        calibration=PAPER.calibration,
        studies=PAPER.study_tables,
        observations=PAPER.observation_tables,
        basins=PAPER.basins,
        reference="paper/reference.yaml",
        bounds=BOUNDS_BENCHMARK,  # optional: the asymmetric-bounds paragraph says when it is missing
    output:
        numbers=PAPER.generated("numbers.tex"),
        table2_refined=PAPER.generated("table2_refined.tex"),
        table2_unrefined=PAPER.generated("table2_unrefined.tex"),
        cost=PAPER.generated("cost.tex"),
        health=PAPER.generated("health.tex"),
        calibration=PAPER.generated("calibration.tex"),
        guidance=PAPER.generated("guidance.tex"),
        observations=PAPER.generated("observations.tex"),
        deviations=PAPER.generated("deviations.tex"),
        cost_csv=report(PAPER.generated("cost.csv"), caption="../report/cost.rst", category="Tables"),
        experiments=PAPER.generated("experiments.tex"),
        summary=PAPER.generated("summary.tex"),
        sensitivity=PAPER.generated("sensitivity.tex"),
        pinning=PAPER.generated("pinning.tex"),
        imaging=PAPER.generated("imaging.tex"),
        imaging_answers=PAPER.generated("imaging_answers.tex"),
        amounts=PAPER.generated("amounts.tex"),
        basins=PAPER.generated("basins.tex"),
        verdict=PAPER.generated("verdict.tex"),
        conclusion=PAPER.generated("conclusion.tex"),
        provenance=PAPER.generated("provenance.tex"),
        bounds=PAPER.generated("bounds.tex"),
    log:
        "results/logs/paper/generated.log",
    params:
        figures=PAPER.figures + PAPER.study_figures + PAPER.observation_figures,  # the figures the sections include: a change reruns this rule
        code=PAPER_CODE,
    conda:
        "../envs/lio.yaml"
    script:
        "../scripts/paper_generated.py"


rule paper_constants:
    input:
        configfiles=PAPER_CONFIGFILES,
        reference="paper/reference.yaml",
    output:
        tex=PAPER.generated("constants.tex"),
        csv=report(PAPER.generated("constants.csv"), caption="../report/constants.rst", category="Tables"),
    log:
        "results/logs/paper/constants.log",
    params:
        config=canonical(config),
        code=PAPER_CODE,
    conda:
        "../envs/lio.yaml"
    script:
        "../scripts/paper_constants.py"


rule paper_pdf:
    input:
        main="paper/main.tex",
        bibliography="paper/refs.bib",
        sections=PAPER.sections,
        generated=PAPER.tex_inputs,
        figures=PAPER.figures + PAPER.study_figures + PAPER.observation_figures,
    output:
        report(PAPER.pdf, caption="../report/paper.rst", category="Paper"),
    log:
        "results/logs/paper/pdf.log",
    conda:
        "../envs/lio.yaml"
    script:
        "../scripts/paper_pdf.py"


rule readme_results:
    input:
        table=PAPER.table,
        aggregates=PAPER.aggregates,
        benchmarks=PAPER.benchmarks,
        reference="paper/reference.yaml",
    output:
        PAPER.generated("readme.md"),
    log:
        "results/logs/paper/readme.log",
    conda:
        "../envs/lio.yaml"
    script:
        "../scripts/paper_readme.py"


onsuccess:
    if not PAPER.tex:
        logger.warning(lio_paper.NO_TEX_MESSAGE)
