"""Where the paper's inputs come from and where its outputs go; the PDF build."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lio.run import calibration
from lio.core.atomic import write_atomically

PANELS = ("a", "b", "c", "d")
NO_TEX_MESSAGE = (
    "lio paper: no TeX engine (pdflatex) on PATH, so the DAG stops at the generated LaTeX inputs "
    "and paper/main.pdf is not built. To build it, install a TeX and rerun the same command: "
    "Debian/Ubuntu: `apt-get install --no-install-recommends texlive-latex-base "
    "texlive-latex-recommended texlive-fonts-recommended latexmk`; conda: `conda install -c "
    "conda-forge texlive-core` (pdflatex and bibtex, untested here)."
)


@dataclass(frozen=True)
class Layout:
    """Where the report's inputs come from and where its outputs go.

    ``record``: the paper reads the record of the last full sweep (``paper/data``,
    ``paper/figures``) and is written to ``paper/`` (with the README's results table). That is
    ``snakemake publish`` (whose publish rules write the record first) and
    ``paper_source: record`` (which trains nothing and reads the committed record as it is).
    Otherwise it reads ``results/`` and is written to ``results/paper``, so a quick or test run
    never overwrites the committed paper.
    """

    experiments: tuple[str, ...]
    runs: tuple[tuple[str, str, int, int], ...]  # (experiment, method, n, seed) of every solve job
    record: bool
    publishing: bool  # this run writes the record (publish rules); else a committed one is read
    tex: bool
    calibrated_pairs: tuple[tuple[str, str], ...] = ()  # (experiment, method) at a calibrated rate or own setting (guidance)
    studies: tuple[str, ...] = ()  # sensitivity studies (lio.run.studies) the report shows
    axes: tuple[str, ...] = ()  # observation-amount axes (lio.run.observations) the report shows
    configured_axes: tuple[str, ...] = ()  # the config's axes, shown or not (the report names those missing)
    basins_experiments: tuple[str, ...] = ()  # experiments with a basins check (lio.run.basins) the report shows

    @property
    def calibrated(self) -> bool:
        """Some method runs at a calibrated learning rate or setting (lio.run.calibration)."""
        return bool(self.calibrated_pairs)

    @property
    def directory(self) -> str:
        return "paper" if self.record else "results/paper"

    @property
    def from_record(self) -> bool:
        """Nothing is trained: the committed record is read as it is."""
        return self.record and not self.publishing

    @property
    def table(self) -> str:
        return "paper/data/table2.csv" if self.record else "results/table2.csv"

    @property
    def aggregates(self) -> list[str]:
        if self.record:
            return [f"paper/data/{e}_aggregate.nc" for e in self.experiments]
        return [f"results/{e}/aggregate.nc" for e in self.experiments]

    @property
    def benchmarks(self) -> list[str]:
        """The job-time summary; a committed record written before it existed has none."""
        if not self.record:
            return ["results/benchmarks.csv"]
        path = "paper/data/benchmarks.csv"
        return [path] if self.publishing or Path(path).exists() else []

    @property
    def calibration(self) -> list[str]:
        """The calibration table, rates and own settings (none when no method was calibrated,
        or in a record written before calibration existed)."""
        if not self.calibrated:
            return []
        if not self.record:
            return ["results/calibration.csv"]
        return ["paper/data/calibration.csv"] if self.record_calibration_files else []

    @property
    def record_calibration_files(self) -> list[str]:
        """The calibration trials in the record (publishing: all of this sweep's; else those
        the committed record holds; a record written before calibration existed has none)."""
        paths = [f"paper/data/calibration/{e}/{m}.json" for e, m in self.calibrated_pairs]
        return paths if self.publishing else [p for p in paths if Path(p).exists()]

    @property
    def benchmark_files(self) -> list[str]:
        return [f"results/benchmarks/{e}/{m}/n{n}/seed{s}.tsv" for e, m, n, s in self.runs]

    @property
    def figures(self) -> list[str]:
        """Panel files the PDF includes: PDFs; PNGs from a committed record without PDFs."""
        paths = []
        for experiment in self.experiments:
            for panel in PANELS:
                if not self.record:
                    paths.append(f"results/{experiment}/figures/{panel}.pdf")
                    continue
                paths.append(self._record_figure(f"paper/figures/{experiment}/{panel}.pdf"))
        return paths

    @property
    def study_tables(self) -> list[str]:
        if self.record:
            return [f"paper/data/studies/{s}.csv" for s in self.studies]
        return [f"results/studies/{s}/table.csv" for s in self.studies]

    @property
    def record_study_files(self) -> list[str]:
        """What `snakemake publish` writes of the studies: tables and figures."""
        return [
            path
            for s in self.studies
            for path in (f"paper/data/studies/{s}.csv", f"paper/data/studies/{s}.md",
                         f"paper/figures/studies/{s}.png", f"paper/figures/studies/{s}.pdf")
        ]

    @property
    def study_figures(self) -> list[str]:
        """One figure per study, in the order of ``studies`` (PDF; PNG in a record without it)."""
        if not self.record:
            return [f"results/studies/{s}/figure.pdf" for s in self.studies]
        return [self._record_figure(f"paper/figures/studies/{s}.pdf") for s in self.studies]

    def _record_figure(self, pdf: str) -> str:
        """A figure of the record: its PDF, or the PNG where a committed record has no PDF."""
        return pdf if self.publishing or Path(pdf).exists() else pdf[:-3] + "png"

    @property
    def observation_tables(self) -> list[str]:
        if self.record:
            return [f"paper/data/observations/{a}.csv" for a in self.axes]
        return [f"results/{a}/observations/table.csv" for a in self.axes]

    @property
    def observation_figures(self) -> list[str]:
        """One figure per axis, in the order of ``axes`` (PDF; PNG in a record without it)."""
        if not self.record:
            return [f"results/{a}/observations/figure.pdf" for a in self.axes]
        return [self._record_figure(f"paper/figures/observations/{a}.pdf") for a in self.axes]

    @property
    def record_observation_files(self) -> list[str]:
        """What `snakemake publish` writes of the observation axes: tables and figures."""
        return [
            path
            for a in self.axes
            for path in (f"paper/data/observations/{a}.csv", f"paper/data/observations/{a}.md",
                         f"paper/figures/observations/{a}.png", f"paper/figures/observations/{a}.pdf")
        ]

    @property
    def basins(self) -> list[str]:
        """The basins checks (lio.run.basins) the report reads."""
        if self.record:
            return [f"paper/data/basins/{e}.json" for e in self.basins_experiments]
        return [f"results/{e}/basins.json" for e in self.basins_experiments]

    @property
    def record_basins_files(self) -> list[str]:
        """What `snakemake publish` writes of the basins checks."""
        return [f"paper/data/basins/{e}.json" for e in self.basins_experiments]

    @property
    def sections(self) -> list[str]:
        """Hand-written descriptions paper/experiments/{experiment}.tex (optional)."""
        return [
            f"paper/experiments/{e}.tex"
            for e in self.experiments
            if Path(f"paper/experiments/{e}.tex").exists()
        ]

    def generated(self, name: str) -> str:
        return f"{self.directory}/generated/{name}"

    @property
    def tex_inputs(self) -> list[str]:
        names = [
            "numbers",
            "table2_refined",
            "table2_unrefined",
            "cost",
            "health",
            "calibration",
            "guidance",
            "observations",
            "deviations",
            "experiments",
            "summary",
            "constants",
            "sensitivity",
            "pinning",
            "imaging",
            "imaging_answers",
            "amounts",
            "basins",
            "verdict",
            "conclusion",
            "provenance",
            "bounds",
        ]
        return [self.generated(f"{name}.tex") for name in names]

    @property
    def pdf(self) -> str:
        return f"{self.directory}/main.pdf"

    def targets(self) -> list[str]:
        targets = [*self.tex_inputs, self.generated("cost.csv"), self.generated("constants.csv")]
        if self.tex:
            targets.append(self.pdf)
        if self.record:
            targets.append(self.generated("readme.md"))
        return targets


def write_text(path: str, text: str) -> None:
    """Write a generated file, making its folder first."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, text)


def merge_order(configfiles: Sequence[Any], overrides: Sequence[Any]) -> list[str]:
    """Config files in the order Snakemake merges them: the Snakefile's, then --configfile's."""
    overrides = [str(path) for path in overrides]
    return [str(path) for path in configfiles if str(path) not in overrides] + overrides


def layout(config: dict[str, Any], publishing: bool | None = None) -> Layout:
    """The report's layout for a config (paths relative to the working directory).

    ``publishing``: this run writes the record (``snakemake publish``); by default the config's
    ``publish`` key decides (false unless set)."""
    from_record = config.get("paper_source", "results") == "record"
    experiments = list(config["experiments"])
    if from_record:
        missing = [e for e in experiments if not Path(f"paper/data/{e}_aggregate.nc").exists()]
        experiments = [e for e in experiments if e not in missing]
        if not experiments:
            raise ValueError(
                "paper_source: record, but paper/data holds no <experiment>_aggregate.nc for "
                f"any configured experiment ({', '.join(config['experiments'])}); run the full "
                "sweep with `publish: true` first, or use paper_source: results."
            )
        if missing:
            print(f"lio paper: paper/data has no results for {missing}; the paper leaves them out.")
    runs = tuple(
        (e, m, int(n), int(s))
        for e in experiments
        for m in config["experiments"][e]["methods"]
        for n in config["experiments"][e]["ns"]
        for s in config["experiments"][e]["seeds"]
    )
    if publishing is None:
        publishing = bool(config.get("publish", False))
    publishing = publishing and not from_record
    studies = [block.get("name") for block in config.get("studies") or []]
    if from_record:  # the studies the committed record holds (one written before them has none)
        studies = [s for s in studies if Path(f"paper/data/studies/{s}.csv").exists()]
    from lio.run import observations

    configured_axes = [a for a in observations.axes_in(config) if a in experiments]
    axes = configured_axes
    if from_record:  # the axes the committed record holds (one written before them has none)
        axes = [a for a in axes if Path(f"paper/data/observations/{a}.csv").exists()]
    from lio.run.basins import starts_of

    basins = [e for e in experiments if starts_of(config["experiments"][e]) > 0]
    if from_record:  # the checks the committed record holds (one written before them has none)
        basins = [e for e in basins if Path(f"paper/data/basins/{e}.json").exists()]
    return Layout(
        experiments=tuple(experiments),
        runs=runs,
        record=from_record or publishing,
        publishing=publishing,
        tex=shutil.which("pdflatex") is not None,
        calibrated_pairs=tuple(
            (e, m)
            for e in experiments
            for m in config["experiments"][e]["methods"]
            if calibration.setting(config, e, m)
        ),
        studies=tuple(studies),
        axes=tuple(axes),
        configured_axes=tuple(configured_axes),
        basins_experiments=tuple(basins),
    )


def build_pdf(main_tex: str, pdf: str) -> None:
    """Compile ``main_tex`` with latexmk (or pdflatex + bibtex) in the folder of ``pdf``.

    The sources (main.tex, refs.bib, experiments/) are found through TEXINPUTS/BIBINPUTS, the
    generated inputs relative to that folder first, so a quick run's ``results/paper`` never
    picks up the committed ``paper/generated``. Auxiliary files go to its ``build/``.
    """
    work = Path(pdf).parent.resolve()
    source = Path(main_tex).resolve().parent
    main = os.path.relpath(Path(main_tex).resolve(), work)
    env = {
        **os.environ,
        "TEXINPUTS": f".{os.pathsep}{source}{os.pathsep}",
        "BIBINPUTS": f".{os.pathsep}{source}{os.pathsep}",
    }
    flags = ["-interaction=nonstopmode", "-halt-on-error", "-file-line-error"]
    if shutil.which("latexmk"):
        commands = [["latexmk", "-pdf", *flags, "-outdir=build", main]]
    elif shutil.which("pdflatex"):
        pdflatex = ["pdflatex", *flags, "-output-directory=build", main]
        commands = [pdflatex, ["bibtex", "build/main"], pdflatex, pdflatex]
    else:
        raise RuntimeError(NO_TEX_MESSAGE)
    (work / "build").mkdir(parents=True, exist_ok=True)
    for command in commands:
        print("$", " ".join(command), flush=True)
        result = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
        print(result.stdout[-20000:], result.stderr[-5000:], sep="\n", flush=True)
        if result.returncode:
            # -file-line-error writes TeX errors as "file:line: message"; others start with "!".
            errors = [line for line in result.stdout.splitlines() if re.match(r"^(!|\S+:\d+: )", line)]
            raise RuntimeError(
                f"paper: {command[0]} failed (exit {result.returncode}) in {work}; first errors "
                f"(the whole log is {work / 'build/main.log'}):\n" + "\n".join(errors[:10])
            )
    overfull = [
        line
        for line in (work / "build/main.log").read_text(errors="replace").splitlines()
        if line.startswith("Overfull")
    ]
    print(f"paper: {len(overfull)} overfull boxes", *overfull, sep="\n")
    write_atomically(pdf, (work / "build/main.pdf").read_bytes())

