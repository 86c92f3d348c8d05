# Only with `publish: true` (config.yaml, the full sweep): copies the small, committed record of
# the last full run into paper/data/ and paper/figures/, so that tables and figures can be
# checked without retraining. quick.yaml and test configs never overwrite it.


rule publish_aggregate:
    input:
        "results/{problem}/aggregate.nc",
    output:
        "paper/data/{problem}_aggregate.nc",
    log:
        "results/logs/{problem}/publish_aggregate.log",
    conda:
        "../envs/lio.yaml"
    shell:
        "cp {input} {output} 2> {log}"


rule publish_table:
    input:
        "results/table2.{ext}",
    output:
        "paper/data/table2.{ext}",
    log:
        "results/logs/publish_table_{ext}.log",
    conda:
        "../envs/lio.yaml"
    shell:
        "cp {input} {output} 2> {log}"


rule publish_figure:
    input:
        "results/{problem}/figures/{panel}.png",
    output:
        "paper/figures/{problem}/{panel}.png",
    log:
        "results/logs/{problem}/publish_figure_{panel}.log",
    conda:
        "../envs/lio.yaml"
    shell:
        "cp {input} {output} 2> {log}"
