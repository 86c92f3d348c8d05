"""The committed record (``paper/data``, ``paper/figures``): what may enter it, and how.

``snakemake publish`` copies a finished sweep's aggregates, panels, calibration trials and job
times into the record; the record's tables are then computed from the record's aggregates, so
an experiment re-recorded on its own updates every table it appears in. A record is made from a
committed tree only: runs stamped ``-dirty`` (or without a SHA) are refused, since nobody could
check out the code that made them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lio.core.atomic import write_atomically
from lio.report.paper.readme import spliced, splice_readme


def uncommitted_runs(path: str | Path) -> list[str]:
    """The runs of an aggregate whose git SHA is ``-dirty`` or missing, as 'solver=.. n=.. seed=..'."""
    from lio.analysis.results import open_dataset

    dataset = open_dataset(path)
    shas = dataset["git_sha"]
    runs = []
    for index in np.ndindex(shas.shape):
        sha = str(shas.values[index])
        ran = np.isfinite(dataset["wall_time_unrefined_s"].values[index])
        if ran and (not sha or sha == "unknown" or sha.endswith("-dirty")):
            labels = [f"{dim}={shas[dim].values[i]}" for dim, i in zip(shas.dims, index)]
            runs.append(f"{' '.join(labels)} ({sha or 'no SHA'})")
    return runs


def publish_aggregate(source: str | Path, out: str | Path, allow_uncommitted: bool = False) -> None:
    """Copy one experiment's aggregate into the record, refusing runs of an uncommitted tree."""
    runs = uncommitted_runs(source)
    if runs and not allow_uncommitted:
        shown = "\n  ".join(runs[:5]) + (f"\n  ... and {len(runs) - 5} more" if len(runs) > 5 else "")
        raise ValueError(
            f"publish: {source} holds {len(runs)} run(s) made from an uncommitted tree:\n  {shown}\n"
            "A record must be reproducible from a commit: commit your changes, rerun those jobs "
            "(`snakemake --forcerun solve ...`), then publish. `publish_allow_uncommitted: true` "
            "overrides this, and the report then marks those SHAs as uncommitted."
        )
    copy_atomically(source, out)


def publish_table(source: str | Path, out: str | Path, allow_uncommitted: bool = False) -> None:
    """Copy a table of runs (a sensitivity study's, an observation axis's) into the record,
    refusing runs of an uncommitted tree (its ``git_sha`` column lists the commits of the runs
    behind each row)."""
    import pandas as pd

    table = pd.read_csv(source)
    if "git_sha" not in table.columns:
        raise ValueError(
            f"publish: {source} has no git_sha column (written by an older lio), so its runs' "
            "commits are unknown; rerun the rule that writes it (delete it and rerun its target)."
        )
    shas = sorted({sha for cell in table["git_sha"].dropna() for sha in str(cell).split()})
    dirty = [sha for sha in shas if sha.endswith("-dirty")]
    if dirty and not allow_uncommitted:
        raise ValueError(
            f"publish: {source} holds runs made from an uncommitted tree ({', '.join(dirty)}). "
            "A record must be reproducible from a commit: commit your changes, rerun those runs, "
            "then publish (`publish_allow_uncommitted: true` overrides this)."
        )
    copy_atomically(source, out)


def copy_atomically(source: str | Path, out: str | Path) -> None:
    """Copy ``source`` to ``out`` via a temporary file beside it: ``out`` is never half-written."""
    write_atomically(out, Path(source).read_bytes())


def sync_readme(block_path: str | Path, readme: str | Path = "README.md") -> bool:
    """Put the generated results block (``paper/generated/readme.md``) between the README's
    markers, atomically. Returns whether the README changed. The workflow never writes the
    README itself; this is the one command that does (``python -m lio.report.paper.record``)."""
    return splice_readme(readme, Path(block_path).read_text())


def readme_is_current(block_path: str | Path, readme: str | Path = "README.md") -> bool:
    text = Path(readme).read_text()
    return spliced(text, Path(block_path).read_text(), str(readme)) == text


def unpack_record(experiment: str, methods: Sequence[str] | None = None, results_dir: str = "results") -> int:
    """Write the record's runs of ``experiment`` back as the run files the workflow writes,
    so that ``snakemake`` can re-record one method (delete its files, rerun) and aggregate it
    with the others' recorded runs, which keep their own commits (``lio.analysis.results.unpack``)."""
    from lio.analysis.results import open_dataset, unpack, write_atomic

    source = Path(f"paper/data/{experiment}_aggregate.nc")
    if not source.exists():
        raise SystemExit(f"{source} does not exist: the record holds no experiment {experiment!r}.")
    runs = unpack(open_dataset(source), experiment)
    known = sorted({method for method, _, _ in runs})
    unknown = sorted(set(methods or []) - set(known))
    if unknown:
        raise SystemExit(f"--methods {unknown} are not in {source}; expected some of {known}.")
    written = 0
    for (method, n, seed), run in runs.items():
        if methods and method not in methods:
            continue
        write_atomic(run, Path(results_dir) / experiment / method / f"n{n}" / f"seed{seed}" / "result.nc")
        written += 1
    print(f"{source}: {written} runs written under {results_dir}/{experiment}/")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m lio.report.paper.record",
        description="Copy the record's generated results block into README.md (after `snakemake publish`).",
    )
    parser.add_argument("--block", default="paper/generated/readme.md")
    parser.add_argument("--readme", default="README.md")
    parser.add_argument("--check", action="store_true", help="only report whether README.md is current")
    parser.add_argument(
        "--unpack", metavar="EXPERIMENT",
        help="instead: write the recorded runs of paper/data/EXPERIMENT_aggregate.nc back as "
        "results/EXPERIMENT/<method>/n<n>/seed<seed>/result.nc (to re-record one method beside them)",
    )
    parser.add_argument("--methods", nargs="*", default=None, help="with --unpack: only these methods")
    args = parser.parse_args(argv)
    if args.unpack:
        return unpack_record(args.unpack, args.methods)
    if not Path(args.block).exists():
        parser.error(
            f"{args.block} does not exist: run `snakemake --cores all publish` (or "
            "`snakemake --cores 1 --config paper_source=record`) first."
        )
    if args.check:
        current = readme_is_current(args.block, args.readme)
        print(f"{args.readme} is {'current' if current else 'stale'} against {args.block}")
        return 0 if current else 1
    changed = sync_readme(args.block, args.readme)
    print(f"{args.readme}: {'updated' if changed else 'already current'} from {args.block}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
