# Restoration of every degraded test input by every method: the classical reference rows
# (degraded input, SBR, Burg AR) and A2SB (MultiDiffusion over whole files).


rule restore_classical:
    input:
        "results/{profile}/degraded/{dataset}/{task}/{setting}",
    output:
        directory("results/{profile}/restored/{method}/{dataset}/{task}/{setting}"),
    wildcard_constraints:
        method="degraded|sbr|burg",
    params:
        task=lambda w: TASK_CLI[w.task],
        cutoff=lambda w: degradation_args(w.task, w.setting) if w.task == "bandwidth_extension" else "",
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/{profile}/restore/{method}/{dataset}/{task}/{setting}.log",
    benchmark:
        "results/{profile}/benchmarks/restore/{method}/{dataset}/{task}/{setting}.tsv"
    shell:
        "{PY} -m baselines restore --method {wildcards.method} --task {params.task} {params.cutoff} "
        "--in-dir {input} --out-dir {output} > {log} 2>&1"


def a2sb_steps(task):
    return config["evaluate"][task]["steps"]


rule restore_a2sb:
    input:
        degraded="results/{profile}/degraded/{dataset}/{task}/{setting}",
        model=lambda w: model_of(w.method),
    output:
        directory("results/{profile}/restored/{method}/{dataset}/{task}/{setting}"),
    wildcard_constraints:
        method="a2sb_p[124]|a2sb_maestro",
    params:
        task=lambda w: TASK_CLI[w.task],
        steps=lambda w: a2sb_steps(w.task),
        seed=config["evaluate"]["seed"],
        batch=config["evaluate"]["batch_size"],
    threads: workflow.cores
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=120,
    log:
        "logs/{profile}/restore/{method}/{dataset}/{task}/{setting}.log",
    benchmark:
        "results/{profile}/benchmarks/restore/{method}/{dataset}/{task}/{setting}.tsv"
    shell:
        "{PY} workflow/scripts/restore_dir.py --in-dir {input.degraded} --out-dir {output} "
        "--checkpoint {input.model} --task {params.task} "
        "--setting {wildcards.setting} --steps {params.steps} --seed {params.seed} "
        "--batch-size {params.batch} > {log} 2>&1"
