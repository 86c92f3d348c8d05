from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from lio.config import problems_in

validate(config, "../schemas/config.schema.yaml")
_config_problems = problems_in(config)
if _config_problems:
    raise WorkflowError(
        "config is invalid; nothing was run:\n  - " + "\n  - ".join(_config_problems)
    )

EXPERIMENTS = config["experiments"]
PANELS = ["a", "b", "c", "d"]


wildcard_constraints:
    problem="[a-z][a-z0-9_]*",
    method="[a-z][a-z0-9_]*",
    n=r"\d+",
    seed=r"\d+",
    panel="[a-d]",
    ext="csv|md|tex",


def run_paths(problem):
    """Every run file of one experiment: method x n x seed."""
    block = EXPERIMENTS[problem]
    return expand(
        "results/{problem}/{method}/n{n}/seed{seed}/result.nc",
        problem=problem,
        method=list(block["methods"]),
        n=block["ns"],
        seed=block["seeds"],
    )


def aggregate_paths(wildcards=None):
    return {p: f"results/{p}/aggregate.nc" for p in EXPERIMENTS}


def figure_inputs(wildcards):
    """Panels a, b need one problem set; c, d the experiment's aggregate."""
    block = EXPERIMENTS[wildcards.problem]
    if wildcards.panel in ("a", "b"):
        return f"results/{wildcards.problem}/data/n{max(block['ns'])}/seed{block['seeds'][0]}.nc"
    return f"results/{wildcards.problem}/aggregate.nc"


def all_targets():
    targets = expand(
        "results/table2.{ext}", ext=["csv", "md", "tex"]
    )
    for problem in EXPERIMENTS:
        targets += expand(
            "results/{problem}/figures/{panel}.{ext}",
            problem=problem,
            panel=PANELS,
            ext=["png", "pdf"],
        )
    if config.get("publish", False):
        targets += expand("paper/data/table2.{ext}", ext=["csv", "md", "tex"])
        for problem in EXPERIMENTS:
            targets.append(f"paper/data/{problem}_aggregate.nc")
            targets += expand("paper/figures/{problem}/{panel}.png", problem=problem, panel=PANELS)
    return targets


def problem_params(wildcards):
    """What determines a problem set: changing it reruns sampling and everything after."""
    block = EXPERIMENTS[wildcards.problem]
    return {"problem": block["problem"], "params": block.get("params", {})}


def method_params(wildcards):
    """What determines one run: changing it reruns exactly the affected solve jobs."""
    return {
        "options": EXPERIMENTS[wildcards.problem]["methods"][wildcards.method] or {},
        "bfgs": config.get("bfgs", {}),
    }


def run_paths_of(wildcards):
    return run_paths(wildcards.problem)


def figure_options(wildcards):
    block = EXPERIMENTS[wildcards.problem]
    defaults = {"example": 0, "curves_n": max(block["ns"]), "landscape_points": 1001}
    return {**defaults, **block.get("figures", {})}
