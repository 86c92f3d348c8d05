# The paper's tuning policy (lio.run.calibration): per experiment and learned method, a descending
# ladder of Adam learning rates on calibration seeds; the solve jobs train at the chosen rate.
# A method naming its own setting (Method.calibrated_setting: the diffusion prior's guidance)
# walks that setting's ladder instead, into the same file name; the table lists rates only.
rule calibrate:
    input:
        calibration_data,
    output:
        "results/{problem}/calibration/{method}.json",
    log:
        "results/logs/{problem}/calibration/{method}.log",
    benchmark:
        "results/benchmarks/{problem}/calibration/{method}.tsv"
    params:
        problem=problem_params,
        method=method_params,
        calibration=calibration_params,
        code=COMPUTE_CODE,
    resources:
        gpu=solve_gpu,
        mem_mb=calibration_mem_mb,
        runtime=calibration_runtime,
    threads: COMPUTE.get("threads", 1)
    conda:
        solve_env
    script:
        "../scripts/calibrate.py"


rule calibration_table:
    input:
        calibration_files,
    output:
        csv=report("results/calibration.csv", caption="../report/calibration.rst", category="Tables"),
        markdown="results/calibration.md",
    log:
        "results/logs/calibration_table.log",
    conda:
        "../envs/lio.yaml"
    script:
        "../scripts/calibration_table.py"


# Is BFGS stuck? (lio.run.basins) BFGS from the prior mean against BFGS from the truth and from
# random starts in the prior's box, on the calibration sets: the share where a better optimum
# exists bounds Table 2's "better" column. Only experiments with a `basins` block.
rule basins:
    input:
        basins_data,
    output:
        "results/{problem}/basins.json",
    log:
        "results/logs/{problem}/basins.log",
    benchmark:
        "results/benchmarks/{problem}/basins.tsv"
    params:
        problem=problem_params,
        basins=lambda w: canonical(BLOCKS[w.problem].get("basins") or {}),
        bfgs=lambda w: canonical(bfgs_params(w)),
        comparison=canonical({k: config["comparison"][k] for k in ("rtol", "atol")}),
        code=COMPUTE_CODE,
    resources:
        gpu=solve_gpu,
        mem_mb=calibration_mem_mb,
        runtime=lambda w: 10 * solve_runtime({"n": calibration.settings(config, w.problem)["n"]}),
    threads: COMPUTE.get("threads", 1)
    conda:
        solve_env
    script:
        "../scripts/basins.py"
