rule figure:
    input:
        figure_inputs,
    output:
        png=report(
            "results/{problem}/figures/{panel}.png",
            caption="../report/figure.rst",
            category="Figures",
            subcategory="{problem}",
            labels={"experiment": "{problem}", "panel": "{panel}"},
        ),
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
