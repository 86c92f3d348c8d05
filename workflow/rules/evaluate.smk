rule aggregate:
    input:
        run_paths_of,
    output:
        "results/{problem}/aggregate.nc",
    log:
        "results/logs/{problem}/aggregate.log",
    params:
        code=TABLE_CODE,
    conda:
        "../envs/lio.yaml"
    script:
        "../scripts/aggregate.py"


rule tables:
    input:
        **aggregate_paths(),
    output:
        csv=report("results/table2.csv", caption="../report/table2.rst", category="Tables"),
        markdown="results/table2.md",
        latex="results/table2.tex",
    log:
        "results/logs/tables.log",
    params:
        comparison=canonical(config["comparison"]),
        code=TABLE_CODE,
    conda:
        "../envs/lio.yaml"
    script:
        "../scripts/tables.py"
