import hashlib
import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

# Every job imports lio from this checkout, not whatever lio is installed: the jobs' scripts (and
# --use-conda envs, which hold only lio's dependencies) inherit PYTHONPATH from this process, and
# cluster jobs re-read this file on their node.
CHECKOUT_SRC = str(Path(workflow.current_basedir).resolve().parents[1] / "src")
sys.path.insert(0, CHECKOUT_SRC)

from lio.run import calibration, observations, studies
from lio.run.config import (
    drop_null_experiments,
    load_schema,
    restore_booleans,
    restrict_methods,
    schema_problems,
    workflow_problems,
)
from lio.report.redraw import figure_options as lio_figure_options
from lio.run.jobenv import gpu_count, put_first_on_pythonpath

put_first_on_pythonpath(CHECKOUT_SRC)

INVALID = "config is invalid; nothing was run:"

# `experiments: {fwi: null}` in a --configfile drops fwi (and the studies of it): Snakemake
# merges the files key by key, so null is the only way a later file can remove a block.
_dropped = drop_null_experiments(config)
if _dropped and workflow.is_main_process:
    logger.info(f"lio: experiments {_dropped} are null in a config file: they and their studies do not run.")
# `--config publish=true` and profiles/slurm's compute.gpu arrive as strings: booleans again.
_SCHEMA = Path(workflow.current_basedir) / "../schemas/config.schema.yaml"
restore_booleans(config, load_schema(_SCHEMA))
# One line per schema mistake (key path, expected, got, what to do) instead of jsonschema's
# dump of the schema; then Snakemake's validate, which also fills in the schema's defaults.
_problems = schema_problems(config, _SCHEMA)
if _problems:
    raise WorkflowError("\n  - ".join([INVALID, *_problems]))
validate(config, "../schemas/config.schema.yaml")
_problems = restrict_methods(config) + workflow_problems(config)  # only_methods: the rest sees just those
if _problems:
    raise WorkflowError("\n  - ".join([INVALID, *_problems]))
STUDIES = studies.studies_in(config)
AXES = observations.axes_in(config)
# Every experiment a job can run: the config's, one per value of each sensitivity study
# (studies/<study>/v<i>, lio.run.studies) and one per amount of each observation axis
# (<experiment>/amount<value>, lio.run.observations), which the same rules sample, solve and aggregate.
STUDY_EXPERIMENTS = studies.derived_experiments(config)

EXPERIMENTS = config["experiments"]
BLOCKS = {**EXPERIMENTS, **STUDY_EXPERIMENTS}
# paper_source: record rebuilds the paper from the committed record (paper/data) and nothing else;
# the publish rules, which would write that record, are then not defined.
FROM_RECORD = config.get("paper_source", "results") == "record"
# The committed record (paper/data, paper/figures) is written only by the `publish` target, or
# by the default target of a config with `publish: true`: a plain run never rewrites tracked files.
PUBLISH = config.get("publish", False) and not FROM_RECORD
COMPUTE = config.get("compute", {})
GPUS = gpu_count()
# auto: a GPU per solve job when this machine has one. Clusters decide in their profile
# (profiles/slurm sets compute.gpu: true: the submit host usually has no GPU).
if COMPUTE.get("gpu", "auto") == "auto":
    USE_GPU = GPUS > 0
else:
    USE_GPU = bool(COMPUTE["gpu"])

# Local runs: at most one GPU job per GPU at a time (Snakemake only limits `gpu` when a global
# limit exists; `--resources gpu=N` on the command line still wins). Jobs claim distinct GPUs
# themselves (lio.run.jobenv.claim_gpu).
if USE_GPU and workflow.local_exec and "gpu" not in workflow.global_resources:
    workflow.register_resource("gpu", max(GPUS, 1) * COMPUTE.get("jobs_per_gpu", 1))


def refuse_profile_placeholders():
    """Stop before any job while a profile's resource still holds a `<PLACEHOLDER>`
    (profiles/slurm: account and partitions); sbatch's own error names neither the file nor the fix."""
    settings = workflow.resource_settings
    left = {}
    for resources in [settings.default_resources or {}, *settings.overwrite_resources.values()]:
        for name, value in resources.items():
            raw = str(getattr(value, "raw", value))
            if re.fullmatch(r"<[A-Z_]+>", raw):
                left.setdefault(raw, set()).add(name)
    if left:
        names = ", ".join(f"{p} ({'/'.join(sorted(r))})" for p, r in sorted(left.items()))
        raise WorkflowError(
            f"replace the placeholders {names} in profiles/slurm/config.yaml (or your copy of it) "
            "with your cluster's account and partitions (sacctmgr show associations user=$USER; sinfo -s); nothing was run"
        )


refuse_profile_placeholders()


localrules:
    aggregate,
    tables,
    calibration_table,
    figures,
    benchmarks_summary,
    paper_generated,
    paper_constants,
    paper_pdf,
    readme_results,

PANELS = ["a", "b", "c", "d"]


wildcard_constraints:
    problem="[a-z][a-z0-9_]*|studies/[a-z][a-z0-9_]*/v[0-9]+|[a-z][a-z0-9_]*/amount[0-9.e+-]+",
    axis="[a-z][a-z0-9_]*",
    study="[a-z][a-z0-9_]*",
    method="[a-z][a-z0-9_]*",
    n=r"\d+",
    seed=r"\d+",
    panel="[a-d]",
    ext="csv|md|tex",


def run_paths(problem):
    """Every run file of one experiment: method x n x seed."""
    block = BLOCKS[problem]
    return expand(
        "results/{problem}/{method}/n{n}/seed{seed}/result.nc",
        problem=problem,
        method=list(block["methods"]),
        n=block["ns"],
        seed=block["seeds"],
    )


def aggregate_paths(wildcards=None):
    return {p: f"results/{p}/aggregate.nc" for p in EXPERIMENTS}


def figure_data(wildcards):
    """The problem set that panels a (example) and b (landscape) draw: largest n, first seed."""
    block = BLOCKS[wildcards.problem]
    return f"results/{wildcards.problem}/data/n{max(block['ns'])}/seed{block['seeds'][0]}.nc"


def all_targets():
    if FROM_RECORD:
        return PAPER.targets()  # the paper from paper/data: nothing is trained (rules/paper.smk)
    targets = expand(
        "results/table2.{ext}", ext=["csv", "md", "tex"]
    )
    if calibration_files():
        targets += ["results/calibration.csv", "results/calibration.md"]
    for problem in EXPERIMENTS:
        targets += expand(
            "results/{problem}/figures/{panel}.{ext}",
            problem=problem,
            panel=PANELS,
            ext=["png", "pdf"],
        )
    targets += study_targets()
    targets += observation_targets()
    targets += [f"results/{e}/basins.json" for e in PAPER.basins_experiments]
    if PUBLISH:
        targets += record_targets()
    return targets + PAPER.targets()


def study_targets():
    return expand(
        "results/studies/{study}/{name}", study=list(STUDIES), name=["table.csv", "table.md", "figure.png", "figure.pdf"]
    )


def observation_targets():
    """Each observation axis's table and figure, and the summary across experiments."""
    if not AXES:
        return []
    targets = expand(
        "results/{axis}/observations/{name}",
        axis=list(AXES),
        name=["table.csv", "table.md", "winners.csv", "amounts.nc", "figure.png", "figure.pdf"],
    )
    return targets + expand("results/observations/summary.{ext}", ext=["png", "pdf", "md"])


def observation_inputs(wildcards):
    return observations.inputs(config, wildcards.axis)


def study_inputs(wildcards):
    return studies.inputs(config, STUDIES[wildcards.study])


def study_calibration(wildcards):
    study = STUDIES[wildcards.study]
    method = studies.calibrated_method(config, study)
    return [f"results/{study.experiment}/calibration/{method}.json"] if method else []


def record_targets():
    """What `snakemake publish` writes into the committed record."""
    targets = expand("paper/data/table2.{ext}", ext=["csv", "md", "tex"])
    targets.append("paper/data/benchmarks.csv")
    targets += RECORD.record_calibration_files
    targets += RECORD.record_study_files
    targets += RECORD.record_observation_files
    targets += RECORD.record_basins_files
    if RECORD.record_calibration_files:
        targets += ["paper/data/calibration.csv", "paper/data/calibration.md"]
    for problem in EXPERIMENTS:
        targets.append(f"paper/data/{problem}_aggregate.nc")
        targets += expand(
            "paper/figures/{problem}/{panel}.{ext}", problem=problem, panel=PANELS, ext=["png", "pdf"]
        )
    return targets


def calibration_input(wildcards):
    """The calibration file a solve job reads its learning rate (or its method's own calibrated
    setting, lio.run.calibration) from (none: the config's). A study value uses its base
    experiment's calibrated value, unless it varies that setting."""
    base = studies.base_of(config, wildcards.problem)
    setting = calibration.setting(config, base, wildcards.method)
    if setting is None or studies.varies_setting(
        config, wildcards.problem, wildcards.method, calibration.SETTING_PATHS[setting]
    ):
        return []
    return f"results/{base}/calibration/{wildcards.method}.json"


def calibration_data(wildcards):
    """The calibration problem sets of the calibrate rule: every calibrated size
    (calibration.sizes: the calibration n, and each smaller n of the list with per_n)."""
    options = calibration.settings(config, wildcards.problem)
    return expand(
        "results/{problem}/data/n{n}/seed{seed}.nc",
        problem=wildcards.problem,
        n=calibration.sizes(config, wildcards.problem, wildcards.method),
        seed=options["seeds"],
    )


def basins_data(wildcards):
    """The basins check's problem sets: the calibration n's only."""
    options = calibration.settings(config, wildcards.problem)
    return expand(
        "results/{problem}/data/n{n}/seed{seed}.nc",
        problem=wildcards.problem,
        n=options["n"],
        seed=options["seeds"],
    )


def calibration_params(wildcards):
    return canonical(calibration.settings(config, wildcards.problem))


def calibration_files(wildcards=None):
    """Every calibration file of the sweep (the calibration table's inputs): learning rates
    and methods' own settings (the diffusion prior's guidance)."""
    return [
        f"results/{problem}/calibration/{method}.json"
        for problem, block in EXPERIMENTS.items()
        for method in block["methods"]
        if calibration.setting(config, problem, method)
    ]


def calibration_mem_mb(wildcards):
    return solve_mem_mb({"n": calibration.settings(config, wildcards.problem)["n"]})


def calibration_runtime(wildcards):
    """A ladder trains several times: the solve estimate times the number of rates and seeds."""
    options = calibration.settings(config, wildcards.problem)
    setting = calibration.setting(config, wildcards.problem, wildcards.method) or "learning_rate"
    runs = len(options[calibration.LADDERS[setting]]) * len(options["seeds"])
    sizes = (
        calibration.sizes(config, wildcards.problem, wildcards.method)
        if setting == "learning_rate"
        else [options["n"]]
    )
    return runs * sum(solve_runtime({"n": n}) for n in sizes)


def canonical(value):
    """Dicts with sorted keys, recursively: Snakemake compares params by their printed form,
    so the key order of a config file must not count as a change."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    return value


def problem_params(wildcards):
    """What determines a problem set: changing it reruns sampling and everything after."""
    block = BLOCKS[wildcards.problem]
    return canonical({"problem": block["problem"], "params": block.get("params", {})})


def bfgs_params(wildcards):
    """The experiment's BFGS settings that determine a result (baseline, refinement, basins)."""
    return studies.bfgs_record(studies.bfgs_options(config, BLOCKS[wildcards.problem]))


def method_params(wildcards):
    """What determines one run: changing it reruns exactly the affected solve jobs."""
    return canonical(
        {
            "options": BLOCKS[wildcards.problem]["methods"][wildcards.method] or {},
            "bfgs": bfgs_params(wildcards),
        }
    )


def run_paths_of(wildcards):
    return run_paths(wildcards.problem)


def figure_options(wildcards):
    return canonical(lio_figure_options(BLOCKS[wildcards.problem]))


def seed_groups(seeds_of, runs_per_job):
    """{chunk of seeds: regex of the experiments that run it}: each experiment's seeds in the
    order listed, in chunks of ``runs_per_job`` (the last one may be shorter)."""
    groups = {}
    for problem, block in seeds_of.items():
        seeds = list(block["seeds"])
        for start in range(0, len(seeds), runs_per_job):
            groups.setdefault(tuple(seeds[start : start + runs_per_job]), []).append(problem)
    return {seeds: "|".join(re.escape(p) for p in problems) for seeds, problems in groups.items()}


def group_label(seeds):
    return "seeds" + "_".join(map(str, seeds))


def group_rule_name(seeds):
    return f"solve_group_{group_label(seeds)}"


RUNS_PER_JOB = COMPUTE.get("runs_per_job", 1)
SEED_GROUPS = seed_groups(BLOCKS, RUNS_PER_JOB) if RUNS_PER_JOB > 1 else {}


def take_solve_profile(name):
    """Give group rule ``name`` what a profile's ``set-resources`` gives rule solve
    (profiles/slurm: the GPU partition): profiles name rules, and a group rule's name holds its
    seeds. Snakemake applies a rule's own entry the same way, when the rule is defined."""
    overrides = workflow.resource_settings._parsed_overwrite_resources.get("solve", {})
    getattr(rules, name).rule.resources.update(overrides)


# A profile's `groups: {solve: ...}` (profiles/slurm: several solve jobs per SLURM job) holds
# for the group rules too.
SOLVE_GROUP = workflow.group_settings.overwrite_groups.get("solve") if RUNS_PER_JOB > 1 else None


def group_mem_mb(runs):
    """A group job's memory: its runs' problems are batched (BFGS holds all of them at once)."""

    def mem_mb(wildcards):
        return solve_mem_mb({"n": runs * _n(wildcards)})

    return mem_mb


def group_runtime(runs):
    """A group job's minutes: its runs' estimates added (networks train one seed after another)."""

    def runtime(wildcards):
        return runs * solve_runtime(wildcards)

    return runtime


def solve_gpu(wildcards):
    return 1 if USE_GPU else 0


def _n(wildcards):
    return int(wildcards["n"] if isinstance(wildcards, dict) else wildcards.n)


def solve_mem_mb(wildcards):
    """Estimated from measured peak RSS (results/benchmarks/*): ~0.5-1.1 GB up to n = 256."""
    return COMPUTE.get("mem_mb_base", 2000) + COMPUTE.get("mem_mb_per_problem", 8) * _n(wildcards)


def solve_runtime(wildcards):
    """Minutes: a CPU estimate, generous for a cluster's queue (GPUs are faster)."""
    return COMPUTE.get("runtime_base", 10) + COMPUTE.get("runtime_per_problem", 0.1) * _n(wildcards)


def _source_digest(*relative):
    """Hash of lio source files: a code change becomes a params change and reruns the jobs."""
    digest = hashlib.sha256()
    source = Path(workflow.basedir) / "src" / "lio"
    for pattern in relative:
        paths = sorted(source.glob(pattern))
        if not paths:  # a moved module must not silently drop out of the digest
            raise WorkflowError(f"_source_digest: src/lio/{pattern} matches no file; update the pattern")
        for path in paths:
            digest.update(path.relative_to(source).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


# Code each stage depends on (figure code is kept apart so restyling never reruns training).
COMPUTE_CODE = _source_digest(
    "problems/**/*.py", "methods/*.py", "core/nets.py", "analysis/results.py", "run/experiment.py", "run/spec.py"
)
FIGURE_CODE = _source_digest("report/figures.py", "report/panels.py", "analysis/results.py")
TABLE_CODE = _source_digest("analysis/metrics.py", "analysis/results.py", "report/tables.py")
OBSERVATIONS_CODE = _source_digest("run/observations.py")
PAPER_CODE = _source_digest("report/paper/*.py", "analysis/metrics.py", "analysis/results.py")


def solve_env(wildcards):
    """conda env of solve jobs (--use-conda): the CUDA variant when they train on GPUs."""
    return "../envs/lio-cuda.yaml" if USE_GPU else "../envs/lio.yaml"
