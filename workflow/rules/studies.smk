# Sensitivity studies (lio.run.studies, config `studies:`): one unstated constant of one experiment
# swept at a time. Each value's runs are experiments named studies/<study>/v<i>, made by the
# ordinary sample/solve/aggregate rules; this rule turns them into a table and a figure.
# `snakemake --cores all studies` runs only these.


localrules:
    study,
    studies,


rule studies:
    input:
        study_targets(),


rule study:
    input:
        aggregates=study_inputs,
        calibration=study_calibration,  # a learning-rate study marks the record's calibrated rate
        reference="paper/reference.yaml",
    output:
        csv=report("results/studies/{study}/table.csv", caption="../report/study.rst", category="Studies"),
        markdown="results/studies/{study}/table.md",
        png=report("results/studies/{study}/figure.png", caption="../report/study.rst", category="Studies"),
        pdf="results/studies/{study}/figure.pdf",
    log:
        "results/logs/studies/{study}.log",
    params:
        study=lambda wildcards: canonical(STUDIES[wildcards.study].__dict__),
        comparison=canonical(config["comparison"]),
        code=TABLE_CODE + FIGURE_CODE,
    conda:
        "../envs/lio.yaml"
    script:
        "../scripts/study.py"
