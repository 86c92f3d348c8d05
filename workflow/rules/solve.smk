rule solve:
    input:
        data="results/{problem}/data/n{n}/seed{seed}.nc",
        calibration=calibration_input,
    output:
        "results/{problem}/{method}/n{n}/seed{seed}/result.nc",
    log:
        "results/logs/{problem}/{method}/n{n}/seed{seed}.log",
    benchmark:
        "results/benchmarks/{problem}/{method}/n{n}/seed{seed}.tsv"
    params:
        problem=problem_params,
        method=method_params,
        code=COMPUTE_CODE,
    resources:
        gpu=solve_gpu,
        mem_mb=solve_mem_mb,
        runtime=solve_runtime,
    threads: COMPUTE.get("threads", 1)
    conda:
        solve_env
    script:
        "../scripts/solve.py"
