"""Every calibration trial and chosen rate as one CSV and Markdown table (lio.run.calibration.table)."""

# lio is imported from this checkout: workflow/rules/common.smk puts its src/ on PYTHONPATH.
from lio.run.jobenv import start

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from lio.run.calibration import write_table

    out = snakemake.output  # noqa: F821
    write_table(list(snakemake.input), out.csv, out.markdown)  # noqa: F821
