# Restoration of every degraded test input by every method: the classical reference rows
# (degraded input, SBR, Burg AR), the learned baselines (CQTDiff, MAID, IBAR, AudioSR) and A2SB
# (MultiDiffusion over whole files), and the A2SB rows' starting point (no network). One job
# per (method, test set, task): a job loads its model once and restores every setting folder of
# the task (workflow/scripts/restore_group.py).
# The learned baselines are trained in train.smk.


rule restore_classical:
    input:
        "results/{profile}/degraded/{dataset}/{task}",
    output:
        directory("results/{profile}/restored/{method}/{dataset}/{task}"),
    wildcard_constraints:
        method="|".join(names(Kind.REFERENCE, Kind.CLASSICAL)),
    params:
        task=lambda w: Task.parse(w.task),
        settings=lambda w: setting_labels(w.task),
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


rule restore_a2sb:
    input:
        degraded="results/{profile}/degraded/{dataset}/{task}",
        model=lambda w: model_of(w.method),
    output:
        directory("results/{profile}/restored/{method}/{dataset}/{task}"),
    wildcard_constraints:
        method="|".join(names(Kind.A2SB)),
    params:
        task=lambda w: Task.parse(w.task),
        settings=lambda w: setting_labels(w.task),
        steps=lambda w: config["evaluate"][w.task]["steps"],
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


# The starting point of the A2SB rows, decoded with no network (X1 of eq. 8: the known region
# plus the fill prior and its noise, drawn with the evaluation seed as restore_a2sb draws it):
# the row that separates the network's share of A2SB's scores from the prior's.
rule restore_start:
    input:
        degraded="results/{profile}/degraded/{dataset}/{task}",
        model=model_of(FIRST_A2SB),
    output:
        directory("results/{profile}/restored/{method}/{dataset}/{task}"),
    wildcard_constraints:
        method="|".join(names(Kind.A2SB_START)),
    params:
        task=lambda w: Task.parse(w.task),
        settings=lambda w: setting_labels(w.task),
        seed=config["evaluate"]["seed"],
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/{profile}/restore/{method}/{dataset}/{task}.log",
    benchmark:
        "results/{profile}/benchmarks/restore/{method}/{dataset}/{task}.tsv"
    shell:
        "{PY} workflow/scripts/restore_group.py --method {wildcards.method} "
        "--checkpoint {input.model} --task {params.task} --in-dir {input.degraded} "
        "--out-dir {output} --settings {params.settings} --seed {params.seed} "
        "--threads {threads} > {log} 2>&1"


def learned_inputs(wildcards):
    m = METHODS[wildcards.method]
    inputs = {"degraded": f"results/{PROFILE}/degraded/{wildcards.dataset}/{wildcards.task}"}
    if m.trained:
        inputs["model"] = f"results/{PROFILE}/baselines/{m.name}/final.safetensors"
    if m.needs_vocoder:
        inputs["vocoder"] = f"results/{PROFILE}/baselines/{VOCODER}/final.safetensors"
    return inputs


def learned_args(wildcards, input):
    args = [f"--checkpoint {input.model}"] if "model" in input.keys() else []
    if "vocoder" in input.keys():
        args.append(f"--vocoder {input.vocoder}")
    cfg = BASELINES[wildcards.method]
    if cfg.get("weights"):
        args.append(f"--weights {cfg['weights']}")
    if cfg.get("steps"):
        args.append(f"--steps {cfg['steps']}")
    return " ".join(args)


rule restore_learned:
    input:
        unpack(learned_inputs),
    output:
        directory("results/{profile}/restored/{method}/{dataset}/{task}"),
    wildcard_constraints:
        method="|".join(names(Kind.LEARNED, Kind.PRETRAINED)),
    params:
        task=lambda w: Task.parse(w.task),
        settings=lambda w: setting_labels(w.task),
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
