# Restoration of every degraded test input by every method: the classical reference rows
# (degraded input, SBR, Burg AR), the learned baselines (CQTDiff, MAID, IBAR, AudioSR) and A2SB
# (MultiDiffusion over whole files). One job per (method, test set, task): a job loads its model
# once and restores every setting folder of the task (workflow/scripts/restore_group.py).


rule restore_classical:
    input:
        "results/{profile}/degraded/{dataset}/{task}",
    output:
        directory("results/{profile}/restored/{method}/{dataset}/{task}"),
    wildcard_constraints:
        method="degraded|sbr|burg",
    params:
        task=lambda w: TASK_CLI[w.task],
        settings=lambda w: ",".join(settings(w.task)),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/{profile}/restore/{method}/{dataset}/{task}.log",
    benchmark:
        "results/{profile}/benchmarks/restore/{method}/{dataset}/{task}.tsv"
    shell:
        "{PY} workflow/scripts/restore_group.py --method {wildcards.method} --task {params.task} "
        "--in-dir {input} --out-dir {output} --settings {params.settings} > {log} 2>&1"


def a2sb_steps(task):
    return config["evaluate"][task]["steps"]


rule restore_a2sb:
    input:
        degraded="results/{profile}/degraded/{dataset}/{task}",
        model=lambda w: model_of(w.method),
    output:
        directory("results/{profile}/restored/{method}/{dataset}/{task}"),
    wildcard_constraints:
        method="a2sb_p[124]|a2sb_maestro",
    params:
        task=lambda w: TASK_CLI[w.task],
        settings=lambda w: ",".join(settings(w.task)),
        steps=lambda w: a2sb_steps(w.task),
        seed=config["evaluate"]["seed"],
        batch=config["evaluate"]["batch_size"],
    threads: 1
    priority: 50
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=120,
    log:
        "logs/{profile}/restore/{method}/{dataset}/{task}.log",
    benchmark:
        "results/{profile}/benchmarks/restore/{method}/{dataset}/{task}.tsv"
    shell:
        "{PY} workflow/scripts/restore_group.py --method {wildcards.method} "
        "--checkpoint {input.model} --task {params.task} --in-dir {input.degraded} "
        "--out-dir {output} --settings {params.settings} --steps {params.steps} "
        "--seed {params.seed} --batch-size {params.batch} --threads {threads} > {log} 2>&1"


# ----------------------------------------------------------------------- learned baselines


def baseline_manifests():
    """The manifests every learned baseline trains on: A2SB's fine-tuning data."""
    manifests, _, _, _ = train_manifests("finetune_p1_0")
    return manifests


rule train_baseline:
    input:
        config=lambda w: BASELINES[w.name]["config"],
        manifests=baseline_manifests(),
    output:
        "results/{profile}/baselines/{name}/final.safetensors",
    wildcard_constraints:
        name="cqtdiff|vocoder|maid|ibar",
    params:
        manifests=lambda w, input: " ".join(f"--manifest {m}" for m in input.manifests),
    threads: 1  # as A2SB's training: single-threaded runs side by side use a CPU best
    priority: 90
    resources:
        gpu=1,
        mem_mb=16000,
        runtime=60,
    log:
        "logs/{profile}/baselines/train_{name}.log",
    benchmark:
        "results/{profile}/benchmarks/train/baseline_{name}.tsv"
    shell:
        "{PY} -m baselines train --method {wildcards.name} --config {input.config} "
        "{params.manifests} --out results/{wildcards.profile}/baselines/{wildcards.name} "
        "--threads {threads} > {log} 2>&1"


def learned_inputs(wildcards):
    inputs = {"degraded": f"results/{PROFILE}/degraded/{wildcards.dataset}/{wildcards.task}"}
    if wildcards.method != "audiosr":
        inputs["model"] = f"results/{PROFILE}/baselines/{wildcards.method}/final.safetensors"
    if wildcards.method in MEL_BASELINES:
        inputs["vocoder"] = f"results/{PROFILE}/baselines/vocoder/final.safetensors"
    return inputs


def learned_args(wildcards, input):
    args = [f"--checkpoint {input.model}"] if "model" in input.keys() else []
    if "vocoder" in input.keys():
        args.append(f"--vocoder {input.vocoder}")
    if wildcards.method == "audiosr":
        args.append(f"--weights {BASELINES['audiosr']['weights']}")
    steps = BASELINES[wildcards.method].get("steps")
    if steps:
        args.append(f"--steps {steps}")
    return " ".join(args)


rule restore_learned:
    input:
        unpack(learned_inputs),
    output:
        directory("results/{profile}/restored/{method}/{dataset}/{task}"),
    wildcard_constraints:
        method="cqtdiff|maid|ibar|audiosr",
    params:
        task=lambda w: TASK_CLI[w.task],
        settings=lambda w: ",".join(settings(w.task)),
        args=learned_args,
        seed=config["evaluate"]["seed"],
    threads: 1
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=120,
    log:
        "logs/{profile}/restore/{method}/{dataset}/{task}.log",
    benchmark:
        "results/{profile}/benchmarks/restore/{method}/{dataset}/{task}.tsv"
    shell:
        "{PY} workflow/scripts/restore_group.py --method {wildcards.method} {params.args} "
        "--task {params.task} --in-dir {input.degraded} --out-dir {output} "
        "--settings {params.settings} --seed {params.seed} --threads {threads} > {log} 2>&1"
