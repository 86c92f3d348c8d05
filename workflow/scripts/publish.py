"""Copy one finished output into the committed record (lio.report.paper.record): atomically, and for an
aggregate only when every run in it was made from a committed tree."""

# lio is imported from this checkout: workflow/rules/common.smk puts its src/ on PYTHONPATH.
from lio.run.jobenv import start

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from lio.report.paper.record import copy_atomically, publish_aggregate, publish_table

    source, out = snakemake.input[0], snakemake.output[0]  # noqa: F821
    if out.endswith("_aggregate.nc"):
        publish_aggregate(source, out, snakemake.params.allow_uncommitted)  # noqa: F821
    elif out.startswith(("paper/data/studies/", "paper/data/observations/")) and out.endswith(".csv"):
        publish_table(source, out, snakemake.params.allow_uncommitted)  # noqa: F821
    else:
        copy_atomically(source, out)
    print(f"published {source} -> {out}")
