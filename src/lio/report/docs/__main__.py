"""python -m lio.report.docs [--check] [--skip NAME ...]: regenerate (or check) every generated block."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lio.report.docs import GENERATORS, SLOW, update


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lio.report.docs",
        description="Rewrite the generated blocks of README.md and docs/*.md from the record, "
        "the benchmark results and the examples (see lio.report.docs).",
    )
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if a page is stale")
    parser.add_argument("--root", default=".", help="the repository (default: the working directory)")
    parser.add_argument(
        "--skip", nargs="*", default=[], metavar="NAME",
        help=f"generators to leave alone, e.g. the slow ones: {' '.join(SLOW)}",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.skip) - set(GENERATORS))
    if unknown:
        parser.error(f"--skip {unknown}: no such generator; expected some of {sorted(GENERATORS)}")
    stale = update(Path(args.root), GENERATORS, check=args.check, skip=args.skip)
    for page, labels in stale.items():
        verb = "differs from its generator" if args.check else "rewritten"
        for label in labels:
            print(f"{page}: block '{label}' {verb}")
    if args.check and stale:
        print("Run `python -m lio.report.docs` to regenerate them (never edit a generated block by hand).")
        return 1
    print("generated blocks: " + ("all current" if not stale else f"{sum(map(len, stale.values()))} rewritten"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
