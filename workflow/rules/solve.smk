# compute.runs_per_job = 1: one job per run (rule solve). k > 1: one job per chunk of k seeds of
# an (experiment, method, n), which writes each run's own file (lio.run.experiment.solve_group); one
# rule per distinct chunk of the config's seed lists (a rule's outputs must share its wildcards,
# so the chunk's seeds are written into its output paths), named solve_group_seeds<seeds>.
if RUNS_PER_JOB == 1:

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

else:
    for _seeds, _problems in SEED_GROUPS.items():

        rule:
            name:
                group_rule_name(_seeds)
            input:
                data=expand("results/{{problem}}/data/n{{n}}/seed{seed}.nc", seed=_seeds),
                calibration=calibration_input,
            output:
                runs=expand("results/{{problem}}/{{method}}/n{{n}}/seed{seed}/result.nc", seed=_seeds),
                benchmarks=expand("results/benchmarks/{{problem}}/{{method}}/n{{n}}/seed{seed}.tsv", seed=_seeds),
            log:
                f"results/logs/{{problem}}/{{method}}/n{{n}}/{group_label(_seeds)}.log",
            benchmark:
                f"results/benchmarks/{{problem}}/{{method}}/n{{n}}/{group_label(_seeds)}.tsv"
            params:
                problem=problem_params,
                method=method_params,
                code=COMPUTE_CODE,
                seeds=list(_seeds),
            resources:
                gpu=solve_gpu,
                mem_mb=group_mem_mb(len(_seeds)),
                runtime=group_runtime(len(_seeds)),
            threads: COMPUTE.get("threads", 1)
            group:
                SOLVE_GROUP
            wildcard_constraints:
                problem=_problems,
            conda:
                solve_env
            script:
                "../scripts/solve_group.py"

        take_solve_profile(group_rule_name(_seeds))
