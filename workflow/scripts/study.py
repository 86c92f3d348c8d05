"""One sensitivity study's table (CSV, Markdown) and figure (lio.run.studies, lio.report.run_figures.study)."""

# lio is imported from this checkout: workflow/rules/common.smk puts its src/ on PYTHONPATH.
from lio.run.jobenv import start

with start(snakemake):  # noqa: F821 (snakemake is injected)
    import pandas as pd
    import yaml

    from lio.report import run_figures

    from lio.run import studies

    name = snakemake.wildcards.study  # noqa: F821
    out = snakemake.output  # noqa: F821
    config = snakemake.config  # noqa: F821
    calibration = snakemake.input.get("calibration")  # noqa: F821
    calibration = calibration if isinstance(calibration, str) else next(iter(calibration or []), None)
    aggregates = snakemake.input.aggregates  # noqa: F821
    aggregates = [aggregates] if isinstance(aggregates, str) else list(aggregates)
    studies.write(config, name, aggregates, out.csv, out.markdown, calibration)
    experiment = studies.studies_in(config)[name].experiment
    with open(snakemake.input.reference) as stream:  # noqa: F821
        reference = yaml.safe_load(stream)["experiments"].get(experiment, {}).get("table2")
    run_figures.study(pd.read_csv(out.csv, dtype={"value": str}), reference, out.png, out.pdf)
    print(open(out.markdown).read())
