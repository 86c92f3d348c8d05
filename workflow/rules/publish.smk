# Only with `publish: true` (config.yaml, the full sweep): copies the small, committed record of
# the last full run into paper/data/ and paper/figures/, so that tables, figures and the paper
# can be checked and rebuilt without retraining. quick.yaml and test configs never overwrite it.
# With `paper_source: record` these rules are not defined: the record is then an input, and no
# stale results/ can make Snakemake "refresh" it by retraining.

if PUBLISH:

    localrules:
        publish_aggregate,
        publish_table,
        publish_benchmarks,
        publish_figure,

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

    rule publish_benchmarks:
        input:
            "results/benchmarks.csv",
        output:
            "paper/data/benchmarks.csv",
        log:
            "results/logs/publish_benchmarks.log",
        conda:
            "../envs/lio.yaml"
        shell:
            "cp {input} {output} 2> {log}"

    rule publish_figure:
        input:
            "results/{problem}/figures/{panel}.{format}",
        output:
            "paper/figures/{problem}/{panel}.{format}",
        log:
            "results/logs/{problem}/publish_figure_{panel}_{format}.log",
        wildcard_constraints:
            format="png|pdf",
        conda:
            "../envs/lio.yaml"
        shell:
            "cp {input} {output} 2> {log}"
