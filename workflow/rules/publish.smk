# The committed record of the full sweep: paper/data/ and paper/figures/, from which the paper and
# the README's results are built (`--config paper_source=record`). Only the `publish` target writes
# it (`snakemake --cores all publish`, or the default target of a config with `publish: true`);
# a plain run, and quick or test configs, never touch tracked files. The record's tables come
# from the record's aggregates (record_tables), so an experiment re-recorded on its own updates
# every table it is in. With `paper_source: record` only those tables are defined: nothing that
# trains can refresh the record.

if not FROM_RECORD:

    localrules:
        publish,
        publish_aggregate,
        publish_calibration,
        publish_basins,
        publish_benchmarks,
        publish_figure,
        publish_study_table,
        publish_study_figure,
        publish_observation_table,
        publish_observation_figure,

    rule publish:
        input:
            record_targets(),
            PAPER.targets(),

    rule publish_aggregate:
        input:
            "results/{problem}/aggregate.nc",
        output:
            "paper/data/{problem}_aggregate.nc",
        log:
            "results/logs/{problem}/publish_aggregate.log",
        params:
            allow_uncommitted=config.get("publish_allow_uncommitted", False),
        conda:
            "../envs/lio.yaml"
        script:
            "../scripts/publish.py"

    rule publish_calibration:
        input:
            "results/{problem}/calibration/{method}.json",
        output:
            "paper/data/calibration/{problem}/{method}.json",
        log:
            "results/logs/{problem}/publish_calibration_{method}.log",
        conda:
            "../envs/lio.yaml"
        script:
            "../scripts/publish.py"

    rule publish_basins:
        input:
            "results/{problem}/basins.json",
        output:
            "paper/data/basins/{problem}.json",
        log:
            "results/logs/{problem}/publish_basins.log",
        conda:
            "../envs/lio.yaml"
        script:
            "../scripts/publish.py"

    rule publish_benchmarks:
        input:
            "results/benchmarks.csv",
        output:
            "paper/data/benchmarks.csv",
        log:
            "results/logs/publish_benchmarks.log",
        conda:
            "../envs/lio.yaml"
        script:
            "../scripts/publish.py"

    rule publish_study_table:
        input:
            "results/studies/{study}/table.{format}",
        output:
            "paper/data/studies/{study}.{format}",
        log:
            "results/logs/studies/publish_{study}_{format}.log",
        params:
            allow_uncommitted=config.get("publish_allow_uncommitted", False),
        wildcard_constraints:
            format="csv|md",
        conda:
            "../envs/lio.yaml"
        script:
            "../scripts/publish.py"

    rule publish_study_figure:
        input:
            "results/studies/{study}/figure.{format}",
        output:
            "paper/figures/studies/{study}.{format}",
        log:
            "results/logs/studies/publish_{study}_figure_{format}.log",
        wildcard_constraints:
            format="png|pdf",
        conda:
            "../envs/lio.yaml"
        script:
            "../scripts/publish.py"

    rule publish_observation_table:
        input:
            "results/{axis}/observations/table.{format}",
        output:
            "paper/data/observations/{axis}.{format}",
        log:
            "results/logs/{axis}/publish_observations_{format}.log",
        params:
            allow_uncommitted=config.get("publish_allow_uncommitted", False),
        wildcard_constraints:
            format="csv|md",
        conda:
            "../envs/lio.yaml"
        script:
            "../scripts/publish.py"

    rule publish_observation_figure:
        input:
            "results/{axis}/observations/figure.{format}",
        output:
            "paper/figures/observations/{axis}.{format}",
        log:
            "results/logs/{axis}/publish_observations_figure_{format}.log",
        wildcard_constraints:
            format="png|pdf",
        conda:
            "../envs/lio.yaml"
        script:
            "../scripts/publish.py"

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
        script:
            "../scripts/publish.py"


# Both ways: publishing writes the record, and paper_source: record reads it.
localrules:
    record_tables,

rule record_tables:
    input:
        **{e: f"paper/data/{e}_aggregate.nc" for e in RECORD.experiments},
    output:
        csv="paper/data/table2.csv",
        markdown="paper/data/table2.md",
        latex="paper/data/table2.tex",
    log:
        "results/logs/record_tables.log",
    params:
        comparison=canonical(config["comparison"]),
        code=TABLE_CODE,
    conda:
        "../envs/lio.yaml"
    script:
        "../scripts/tables.py"

if RECORD.record_calibration_files:

    localrules:
        record_calibration_table,

    rule record_calibration_table:
        input:
            RECORD.record_calibration_files,
        output:
            csv="paper/data/calibration.csv",
            markdown="paper/data/calibration.md",
        log:
            "results/logs/record_calibration_table.log",
        conda:
            "../envs/lio.yaml"
        script:
            "../scripts/calibration_table.py"
