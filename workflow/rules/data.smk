rule sample_problems:
    output:
        "results/{problem}/data/n{n}/seed{seed}.nc",
    log:
        "results/logs/{problem}/data/n{n}/seed{seed}.log",
    params:
        problem=problem_params,
        code=COMPUTE_CODE,
    conda:
        "../envs/lio.yaml"
    script:
        "../scripts/sample_problems.py"
