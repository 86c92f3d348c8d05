"""One experiment's observation-amount axis: table, best methods, amount aggregate, figure."""

# lio is imported from this checkout: workflow/rules/common.smk puts its src/ on PYTHONPATH.
from lio.run.jobenv import start

with start(snakemake):  # noqa: F821 (snakemake is injected)
    import pandas as pd

    from lio.report import run_figures

    from lio.run import observations

    out = snakemake.output  # noqa: F821
    aggregates = snakemake.input.aggregates  # noqa: F821
    aggregates = [aggregates] if isinstance(aggregates, str) else list(aggregates)
    observations.write(
        snakemake.config, snakemake.wildcards.axis, aggregates,  # noqa: F821
        {"csv": out.csv, "markdown": out.markdown, "winners": out.winners, "aggregate": out.aggregate},
    )
    run_figures.observations(pd.read_csv(out.csv, dtype={"amount": str}), out.png, out.pdf)
    print(open(out.markdown).read())
