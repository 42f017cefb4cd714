# Helpers shared by the rules: config validation, names of methods and settings, input lists.
import json
import os
import re
import shlex
import sys
import tempfile
from pathlib import Path

from snakemake.utils import validate

validate(config, "../schemas/config.schema.yaml", set_default=True)

PY = sys.executable  # the environment Snakemake runs in: a2sb, metrics, baselines, reports
PROFILE = config["profile"]
TASKS = ["bandwidth_extension", "inpainting"]
TASK_CLI = {"bandwidth_extension": "bandwidth-extension", "inpainting": "inpainting"}
DATASETS = list(config["data"].get("evaluate_on") or config["data"]["test_sets"])
CORPUS_SETS = ["train", "valid", "test_aam", "test_ccmixter", "test_mtd", "test_maestro"]
PARTITIONS = config["train"]["partitions"]
BASELINES = config.get("baselines", {})
MEL_BASELINES = ("maid", "ibar")
MAESTRO = config["train"]["maestro"]
ABLATION = config["train"]["ablation_2ch"]


wildcard_constraints:
    profile=re.escape(PROFILE),
    task="bandwidth_extension|inpainting",
    dataset="|".join(DATASETS),
    setting=r"[0-9.]+(kHz|ms)",
    n="[124]",


def settings(task):
    """Setting labels as the paper writes them: 4kHz, 8kHz, 12kHz / 300ms, 500ms, 1000ms."""
    if task == "bandwidth_extension":
        return [f"{c / 1000:g}kHz" for c in config["evaluate"]["bandwidth_extension"]["cutoffs_hz"]]
    return [f"{g}ms" for g in config["evaluate"]["inpainting"]["gaps_ms"]]


def degradation_args(task, setting):
    """CLI flags of a setting: --cutoff-hz 4000 or --gap-ms 300."""
    if task == "bandwidth_extension":
        return f"--cutoff-hz {float(setting[:-3]) * 1000:g}"
    return f"--gap-ms {setting[:-2]}"


def a2sb_methods(dataset):
    out = [f"a2sb_p{n}" for n in PARTITIONS]
    if MAESTRO["enabled"] and dataset == "Maestro":
        out.append("a2sb_maestro")
    return out


def learned_methods(task):
    """The learned baselines that run for ``task``: enabled, doing the task, and (AudioSR) given
    its weights. The others appear in the tables as "not run" with the reason."""
    from baselines.learned import TASKS_OF

    out = []
    for name in ("audiosr", "cqtdiff", "maid", "ibar"):
        cfg = BASELINES.get(name, {})
        if not cfg.get("enabled") or TASK_CLI[task] not in TASKS_OF[name]:
            continue
        if name == "audiosr" and not cfg.get("weights"):
            continue
        out.append(name)
    return out


def methods(task, dataset):
    return list(config["evaluate"]["classical"][task]) + learned_methods(task) + a2sb_methods(dataset)


def metrics_of(dataset):
    ev = config["evaluate"]
    return ev["maestro_metrics"] if dataset == "Maestro" else ev["metrics"]


def corpus_dir():
    return f"results/{PROFILE}/data/corpus"


def manifest_of(name):
    """Manifest CSV of a corpus set or a registry dataset."""
    if config["data"]["source"] == "corpus":
        return f"{corpus_dir()}/manifests/{name}.csv"
    return f"results/{PROFILE}/data/manifests/{name}.csv"


def registry_datasets():
    reg = config["data"].get("registry", {})
    names = reg.get("pretrain", []) + reg.get("finetune", []) + reg.get("research_use", [])
    names += list(config["data"]["test_sets"].values())
    return sorted(set(names))


def all_manifests():
    if config["data"]["source"] == "corpus":
        return [manifest_of(s) for s in CORPUS_SETS]
    return [manifest_of(d) for d in registry_datasets()]


def model_of(method):
    """Checkpoint or bundle that restores as ``method``."""
    if method == "a2sb_maestro":
        return f"results/{PROFILE}/models/a2sb_maestro.json"
    return f"results/{PROFILE}/models/{method}.json"


def per_item_files():
    return [
        f"results/{PROFILE}/metrics/per_item/{m}/{d}/{t}.csv"
        for t in TASKS
        for d in DATASETS
        for m in methods(t, d)
    ]


def not_run_reasons():
    """Method -> why it has no results in this profile (the tables print it)."""
    why = {}
    audiosr = BASELINES.get("audiosr", {})
    if not audiosr.get("weights"):
        why["audiosr"] = "AudioSR weights not provided"
    elif not audiosr.get("enabled"):
        why["audiosr"] = "disabled in this profile"
    for name in ("cqtdiff", "maid", "ibar"):
        if not BASELINES.get(name, {}).get("enabled"):
            why[name] = "disabled in this profile"
    return why


def how_to_run():
    """Method -> the command that makes it run (printed under the tables)."""
    if BASELINES.get("audiosr", {}).get("weights"):
        return {}
    return {
        "audiosr": "download the published AudioSR weights by hand, run "
        "`python -m baselines.audiosr setup-env --prefix .venv-audiosr`, then "
        "`snakemake --cores all --config baselines='{audiosr: {enabled: true, weights: PATH}}'`"
    }


def baseline_checkpoints():
    """Trained learned-baseline weights the tables depend on (the vocoder with MAID or IBAR)."""
    names = {m for t in TASKS for m in learned_methods(t) if m != "audiosr"}
    if names & set(MEL_BASELINES):
        names.add("vocoder")
    return [f"results/{PROFILE}/baselines/{n}/final.safetensors" for n in sorted(names)]


def checkpoints():
    out = [model_of(f"a2sb_p{n}") for n in PARTITIONS]
    out.append(f"results/{PROFILE}/train/pretrain/final.safetensors")
    if MAESTRO["enabled"]:
        out.append(model_of("a2sb_maestro"))
    if ABLATION["enabled"]:
        out.append(f"results/{PROFILE}/train/ablation_2ch/final.safetensors")
    return out + baseline_checkpoints()


def figure_targets():
    figs = ["fig2_bandwidth_extension", "fig3_inpainting", "fig6_phase_error", "fig7_long_audio"]
    if ABLATION["enabled"]:
        figs += ["fig4_representation_spectrograms", "fig5_band_magnitude"]
    return [f"results/{PROFILE}/figures/{f}.{ext}" for f in figs for ext in ("png", "pdf")]


def table_targets():
    tables = [f"table{i}" for i in range(2, 13)] + ["licences"]
    return [f"results/{PROFILE}/tables/{t}.{ext}" for t in tables for ext in ("csv", "md", "tex")]


def final_targets():
    return (
        table_targets()
        + figure_targets()
        + [
            f"results/{PROFILE}/tables/runtime.md",
            f"results/{PROFILE}/metrics/summary.json",
            f"results/{PROFILE}/listening_test/stimuli.csv",
        ]
    )


def write_json_atomic(path, data):
    """Write ``data`` as JSON through a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
