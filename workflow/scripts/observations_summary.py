"""Every experiment's observation-amount axis in one figure, and their tables in one file."""

# lio is imported from this checkout: workflow/rules/common.smk puts its src/ on PYTHONPATH.
from lio.run.jobenv import start

with start(snakemake):  # noqa: F821 (snakemake is injected)
    from pathlib import Path

    import pandas as pd

    from lio.report import run_figures
    from lio.core.atomic import write_atomically

    tables = snakemake.input.tables  # noqa: F821
    tables = [tables] if isinstance(tables, str) else list(tables)
    frames = [pd.read_csv(path, dtype={"amount": str}) for path in tables]
    run_figures.observations_summary(frames, snakemake.output.png, snakemake.output.pdf)  # noqa: F821
    text = "\n".join(Path(path).with_name("table.md").read_text() for path in tables)
    write_atomically(snakemake.output.markdown, text)  # noqa: F821
    print(text)
