rule figure:
    input:
        figure_inputs,
    output:
        png="results/{problem}/figures/{panel}.png",
        pdf="results/{problem}/figures/{panel}.pdf",
    log:
        "results/logs/{problem}/figures/{panel}.log",
    params:
        problem=problem_params,
        figures=figure_options,
        code=FIGURE_CODE,
    conda:
        "../envs/lio.yaml"
    script:
        "../scripts/figure.py"
