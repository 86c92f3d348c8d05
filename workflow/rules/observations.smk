# The observation-amount axis (lio.run.observations, an experiment's `observations:` block): every
# method x n x seed runs again at each amount of the problem's own knob, as experiments named
# <experiment>/amount<value> that the ordinary sample/solve/aggregate rules make. These rules turn
# them into quality-against-amount tables and figures, per experiment and across experiments.


localrules:
    observations,
    observations_summary,


rule observations:
    input:
        aggregates=observation_inputs,
    output:
        csv=report("results/{axis}/observations/table.csv", caption="../report/observations.rst", category="Observations"),
        markdown="results/{axis}/observations/table.md",
        winners="results/{axis}/observations/winners.csv",
        aggregate="results/{axis}/observations/amounts.nc",
        png=report("results/{axis}/observations/figure.png", caption="../report/observations.rst", category="Observations"),
        pdf="results/{axis}/observations/figure.pdf",
    log:
        "results/logs/{axis}/observations.log",
    params:
        axis=lambda wildcards: canonical(AXES[wildcards.axis].__dict__),
        comparison=canonical(config["comparison"]),
        code=TABLE_CODE + FIGURE_CODE + OBSERVATIONS_CODE,
    conda:
        "../envs/lio.yaml"
    script:
        "../scripts/observations.py"


rule observations_summary:
    input:
        tables=expand("results/{axis}/observations/table.csv", axis=list(AXES)),
    output:
        png=report("results/observations/summary.png", caption="../report/observations.rst", category="Observations"),
        pdf="results/observations/summary.pdf",
        markdown="results/observations/summary.md",
    log:
        "results/logs/observations_summary.log",
    params:
        code=TABLE_CODE + FIGURE_CODE + OBSERVATIONS_CODE,
    conda:
        "../envs/lio.yaml"
    script:
        "../scripts/observations_summary.py"
