# Training: pre-training -> t-partition fine-tuning (1, 2, 4 partitions) and bundles -> the
# 2-channel ablation -> the Maestro research-use model. Each run's TrainConfig is generated from
# config/*.yaml (the one place for every value) into results/<profile>/configs/<run>.json.

TRAIN_RUN = r"pretrain|ablation_2ch|finetune_p[124]_[0-3]|maestro_p[124]_[0-3]"


def train_manifests(run):
    """(manifests, split, valid_manifests, valid_split) of a run."""
    data = config["data"]
    if run.startswith("maestro"):
        return [manifest_of(s) for s in MAESTRO["sets"]], "train", [], "valid"
    if data["source"] == "corpus":
        return [manifest_of("train")], "train", [manifest_of("valid")], "valid"
    reg = data["registry"]
    names = reg["finetune"] + (reg["pretrain"] if run in ("pretrain", "ablation_2ch") else [])
    return [manifest_of(n) for n in names], "train", [], "valid"


def train_config(run):
    """The TrainConfig mapping of one run (a2sb/training/config.py)."""
    tr = config["train"]
    manifests, split, valid, valid_split = train_manifests(run)
    cfg = {
        "model": config["model"],
        "stft": config["stft"],
        "masks": config["masks"],
        "kind": "factorized",
        "manifests": manifests,
        "split": split,
        "valid_manifests": valid,
        "valid_split": valid_split,
        **tr.get("common", {}),
    }
    if run == "pretrain":
        cfg.update(tr["pretrain"], description=f"{PROFILE}: pre-training")
    elif run == "ablation_2ch":
        cfg.update(tr["pretrain"], description=f"{PROFILE}: 2-channel [Re S, Im S] ablation")
        cfg.update(kind="complex", model=ABLATION["model"], max_steps=ABLATION["max_steps"])
    else:
        cfg.update(tr["finetune"], init=f"results/{PROFILE}/train/pretrain/final.safetensors")
        cfg["description"] = f"{PROFILE}: fine-tuning {run}"
        if run.startswith("maestro"):
            cfg.update(max_steps=MAESTRO["max_steps"], research_use=True)
            cfg["description"] += " (RESEARCH USE ONLY: non-commercial data)"
    return cfg


def train_inputs(wildcards):
    manifests, _, valid, _ = train_manifests(wildcards.run)
    inputs = {"config": f"results/{PROFILE}/configs/{wildcards.run}.json"}
    inputs["manifests"] = sorted(set(manifests + valid))
    if wildcards.run not in ("pretrain", "ablation_2ch"):
        inputs["init"] = f"results/{PROFILE}/train/pretrain/final.safetensors"
    return inputs


def partition_args(run):
    m = re.fullmatch(r"(finetune|maestro)_p(\d)_(\d)", run)
    return f"--partition {m.group(3)} {m.group(2)}" if m else ""


rule train_config:
    output:
        "results/{profile}/configs/{run}.json",
    wildcard_constraints:
        run=TRAIN_RUN,
    params:
        cfg=lambda w: json.dumps(train_config(w.run), sort_keys=True),
    priority: 100
    log:
        "logs/{profile}/configs/{run}.log",
    run:
        write_json_atomic(output[0], json.loads(params.cfg))
        Path(log[0]).write_text(f"wrote {output[0]}\n")


rule train:
    input:
        unpack(train_inputs),
    output:
        ckpt="results/{profile}/train/{run}/final.safetensors",
        summary="results/{profile}/train/{run}/summary.json",
    wildcard_constraints:
        run=TRAIN_RUN,
    params:
        partition=lambda w: partition_args(w.run),
    # one thread per run: on a CPU two single-threaded runs side by side train ~25 % more
    # samples per second than one run on two threads (measured on the 2-core reference machine)
    threads: 1
    # training is the critical path: start it before the cheap evaluation jobs
    priority: 100
    resources:
        gpu=1,
        mem_mb=16000,
        runtime=60,
    log:
        "logs/{profile}/train/{run}.log",
    benchmark:
        "results/{profile}/benchmarks/train/{run}.tsv"
    shell:
        # resumes a killed run from its last checkpoint; torchrun when the job has >1 GPU
        "{PY} workflow/scripts/train_run.py --config {input.config} {params.partition} "
        "--out results/{wildcards.profile}/train/{wildcards.run} --gpus {resources.gpu} --threads {threads} "
        "> {log} 2>&1"


rule bundle:
    input:
        lambda w: [
            f"results/{PROFILE}/train/finetune_p{w.n}_{i}/final.safetensors" for i in range(int(w.n))
        ],
    output:
        "results/{profile}/models/a2sb_p{n}.json",
    priority: 100
    log:
        "logs/{profile}/models/a2sb_p{n}.log",
    shell:
        "{PY} -m a2sb bundle --out {output} {input} > {log} 2>&1"


rule bundle_maestro:
    input:
        [
            f"results/{PROFILE}/train/maestro_p{MAESTRO['partitions']}_{i}/final.safetensors"
            for i in range(MAESTRO["partitions"])
        ],
    output:
        "results/{profile}/models/a2sb_maestro.json",
    log:
        "logs/{profile}/models/a2sb_maestro.log",
    shell:
        "{PY} -m a2sb bundle --out {output} {input} > {log} 2>&1"
