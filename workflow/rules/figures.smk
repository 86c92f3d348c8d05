# One job per experiment draws all four panels: the panels share one process's imports and
# compiled simulator, which on CPU costs more than drawing them (seconds per process).
rule figures:
    input:
        data=figure_data,
        aggregate="results/{problem}/aggregate.nc",
    output:
        **{
            f"png_{panel}": report(
                f"results/{{problem}}/figures/{panel}.png",
                caption="../report/figure.rst",
                category="Figures",
                subcategory="{problem}",
                labels={"experiment": "{problem}", "panel": panel},
            )
            for panel in PANELS
        },
        **{f"pdf_{panel}": f"results/{{problem}}/figures/{panel}.pdf" for panel in PANELS},
    log:
        "results/logs/{problem}/figures.log",
    params:
        panels=PANELS,
        problem=problem_params,
        figures=figure_options,
        code=FIGURE_CODE,
    conda:
        "../envs/lio.yaml"
    script:
        "../scripts/figure.py"
