"""Compile paper/main.tex with the generated inputs into the paper's PDF."""

# lio is imported from this checkout: workflow/rules/common.smk puts its src/ on PYTHONPATH.
from lio.run.jobenv import start

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from lio.report.paper import build_pdf

    build_pdf(snakemake.input.main, snakemake.output[0])  # noqa: F821
