# Training: pre-training -> t-partition fine-tuning (1, 2, 4 partitions) and bundles -> the
# 2-channel ablation -> the Maestro research-use model, and the learned baselines. Every run's
# config is generated from the profile (config/*.yaml, the one place for every value) into
# results/<profile>/configs/<run>.json; `snakemake --cores 1 results/<profile>/configs/<run>.json`
# writes one, and `a2sb train --config` / `python -m baselines train --config` run it by hand.
from a2sb.partitions import partition_range

TRAIN_RUN = r"pretrain|ablation_2ch|finetune_p[124]_[0-3]|maestro_p[124]_[0-3]"
BASELINE_RUN = "|".join(m.name for m in METHODS.values() if m.trained)


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
    """The TrainConfig mapping of one A2SB run (a2sb/training/config.py), t-range included."""
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
        kind, n, i = re.fullmatch(r"(finetune|maestro)_p(\d)_(\d)", run).groups()
        cfg["t_range"] = list(partition_range(int(i), int(n)))
        cfg["description"] = f"{PROFILE}: fine-tuning {run}"
        if kind == "maestro":
            cfg.update(max_steps=MAESTRO["max_steps"], research_use=True)
            cfg["description"] += " (RESEARCH USE ONLY: non-commercial data)"
    return cfg


def baseline_config(name):
    """A learned baseline's config: its file of this profile, with the vocoder's mel written into
    the methods that vocode (the vocoder's file is the one place for the mel)."""
    import yaml

    cfg = yaml.safe_load(Path(BASELINES[name]["config"]).read_text()) or {}
    if METHODS[name].needs_vocoder:
        vocoder = yaml.safe_load(Path(BASELINES[VOCODER]["config"]).read_text()) or {}
        if "mel" in vocoder:
            cfg["mel"] = vocoder["mel"]
    return cfg


def run_config(run):
    return baseline_config(run) if run in METHODS else train_config(run)


def config_files(run):
    """The profile files a baseline run's config is made of (none for A2SB runs)."""
    if run not in METHODS:
        return []
    files = [BASELINES[run]["config"]]
    if METHODS[run].needs_vocoder:
        files.append(BASELINES[VOCODER]["config"])
    return files


rule run_config:
    input:
        lambda w: config_files(w.run),
    output:
        "results/{profile}/configs/{run}.json",
    wildcard_constraints:
        run=f"{TRAIN_RUN}|{BASELINE_RUN}",
    params:
        cfg=lambda w: json.dumps(run_config(w.run), sort_keys=True),
    priority: 100
    log:
        "logs/{profile}/configs/{run}.log",
    run:
        write_json(output[0], json.loads(params.cfg), sort_keys=True)
        Path(log[0]).write_text(f"wrote {output[0]}\n")


def train_inputs(wildcards):
    manifests, _, valid, _ = train_manifests(wildcards.run)
    inputs = {"config": f"results/{PROFILE}/configs/{wildcards.run}.json"}
    inputs["manifests"] = sorted(set(manifests + valid))
    if wildcards.run not in ("pretrain", "ablation_2ch"):
        inputs["init"] = f"results/{PROFILE}/train/pretrain/final.safetensors"
    return inputs


rule train:
    input:
        unpack(train_inputs),
    output:
        ckpt="results/{profile}/train/{run}/final.safetensors",
        summary="results/{profile}/train/{run}/summary.json",
    wildcard_constraints:
        run=TRAIN_RUN,
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
        "{PY} workflow/scripts/train_run.py --method a2sb --config {input.config} "
        "--out results/{wildcards.profile}/train/{wildcards.run} --gpus {resources.gpu} "
        "--threads {threads} > {log} 2>&1"


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


def baseline_manifests():
    """The manifests every learned baseline trains on: A2SB's fine-tuning data."""
    manifests, _, _, _ = train_manifests("finetune_p1_0")
    return manifests


rule train_baseline:
    input:
        config="results/{profile}/configs/{name}.json",
        manifests=baseline_manifests(),
    output:
        "results/{profile}/baselines/{name}/final.safetensors",
    wildcard_constraints:
        name=BASELINE_RUN,
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
        # resumes a killed run from its last checkpoint, as A2SB's
        "{PY} workflow/scripts/train_run.py --method {wildcards.name} --config {input.config} "
        "{params.manifests} --out results/{wildcards.profile}/baselines/{wildcards.name} "
        "--gpus {resources.gpu} --threads {threads} > {log} 2>&1"
