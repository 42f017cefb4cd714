# Helpers shared by the rules: config validation, the methods and settings that run, input lists.
# Methods come from baselines/registry.py and tasks/settings from a2sb/tasks.py: no rule spells
# a method's name, tasks or a setting label by hand.
import json
import re
import shlex
import sys
from pathlib import Path

from snakemake.utils import validate

from a2sb.io.atomic import write_json
from a2sb.stereo import DEFAULT_STEREO_MODE
from a2sb.tasks import Setting, Task
from baselines.registry import METHODS, Kind, a2sb_method, names
from baselines.registry import stereo_candidates as registry_stereo_candidates

validate(config, "../schemas/config.schema.yaml", set_default=True)

PY = sys.executable  # the environment Snakemake runs in: a2sb, metrics, baselines, reports
PROFILE = config["profile"]
TASKS = [t.key for t in Task]  # folder names: bandwidth_extension, inpainting
DATASETS = list(config["data"].get("evaluate_on") or config["data"]["test_sets"])
CORPUS_SETS = ["train", "valid", "test_aam", "test_ccmixter", "test_mtd", "test_maestro"]
PARTITIONS = config["train"]["partitions"]
BASELINES = config.get("baselines", {})
MAESTRO = config["train"]["maestro"]
ABLATION = config["train"]["ablation_2ch"]
VOCODER = "vocoder"
STEREO = config["stereo"]
# The stereo test set (stereo.smk) goes through the same degrade/restore/evaluate rules
STEREO_SETS = ["Stereo"] if STEREO["enabled"] else []
if STEREO["enabled"] and not set(STEREO["sources"]) <= set(DATASETS):
    raise ValueError(
        f"stereo.sources {STEREO['sources']}: each must be a test set of data.evaluate_on {DATASETS}"
    )


wildcard_constraints:
    profile=re.escape(PROFILE),
    task="|".join(TASKS),
    dataset="|".join(DATASETS + STEREO_SETS),
    setting=r"[0-9.]+(kHz|ms)",
    n="[124]",


def settings(task):
    """The evaluation settings of a task folder (``bandwidth_extension``): 4kHz ... / 300ms ..."""
    task = Task.parse(task)
    if task is Task.BANDWIDTH_EXTENSION:
        return [Setting.cutoff(c) for c in config["evaluate"]["bandwidth_extension"]["cutoffs_hz"]]
    return [Setting.gap(g) for g in config["evaluate"]["inpainting"]["gaps_ms"]]


def setting_labels(task):
    return ",".join(s.label for s in settings(task))


def a2sb_methods(dataset):
    out = [a2sb_method(n).name for n in PARTITIONS]
    if MAESTRO["enabled"] and dataset == "Maestro":
        out.append("a2sb_maestro")
    return out


def runs(m):
    """Whether baseline ``m`` (a registry Method) runs in this profile: enabled and, for a
    pretrained one, given its weights. The others appear in the tables as "not run"."""
    cfg = BASELINES.get(m.name, {})
    return bool(cfg.get("enabled")) and (m.kind is not Kind.PRETRAINED or bool(cfg.get("weights")))


def learned_methods(task):
    """The learned and pretrained baselines that run for ``task``, in table order."""
    return [
        m.name
        for m in METHODS.values()
        if m.kind in (Kind.LEARNED, Kind.PRETRAINED) and m.does(task) and runs(m)
    ]


def methods(task, dataset):
    return list(config["evaluate"]["classical"][task]) + learned_methods(task) + a2sb_methods(dataset)


# The A2SB row without partitioning (else the first configured): Figure 6's model, and the
# checkpoint whose starting point the starting-point row decodes (every A2SB row of a profile
# shares that point: the same STFT, masks and evaluation seed).
FIRST_A2SB = a2sb_method(1 if 1 in PARTITIONS else PARTITIONS[0]).name
# The starting-point row runs only where the A2SB rows start from a prior: with fill_prior
# "noise" (the paper's eq. 8) X1 is the degraded input plus noise, and the degraded-input row is
# already the no-network reference.
START_FROM_PRIOR = config["masks"].get("fill_prior", "noise") != "noise"


def start_methods():
    """The starting-point row (registry kind a2sb-start) when this profile starts from a prior."""
    return names(Kind.A2SB_START) if START_FROM_PRIOR else []


def scored_methods(task, dataset):
    """Every method scored for Tables 2-9: the rows of methods(), then the starting point."""
    return methods(task, dataset) + start_methods()


def metrics_of(dataset):
    if dataset in STEREO_SETS:
        return STEREO["metrics"]
    ev = config["evaluate"]
    return ev["maestro_metrics"] if dataset == "Maestro" else ev["metrics"]


def corpus_dir():
    return f"results/{PROFILE}/data/corpus"


def manifest_of(name):
    """Manifest CSV of a corpus set or a registry dataset."""
    if config["data"]["source"] == "corpus":
        return f"{corpus_dir()}/manifests/{name}.csv"
    return f"results/{PROFILE}/data/manifests/{name}.csv"


def registry_file():
    """The registry YAML the data rules read (``data.registry.file``, else the built-in one)."""
    given = config["data"].get("registry", {}).get("file")
    if given:
        return given
    import a2sb.data.registry as reg

    return str(Path(reg.__file__).with_name("registry.yaml"))


def registry_arg():
    given = config["data"].get("registry", {}).get("file")
    return f"--registry {shlex.quote(given)}" if given else ""


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
    """The partition bundle of an A2SB row (``a2sb_p2``, ``a2sb_maestro``; a stereo candidate's
    is its model row's)."""
    return f"results/{PROFILE}/models/{METHODS[method].model_of or method}.json"


def per_item_files():
    return [
        f"results/{PROFILE}/metrics/per_item/{m}/{d}/{t}.csv"
        for t in TASKS
        for d in DATASETS
        for m in scored_methods(t, d)
    ]


def not_run_reasons():
    """Method -> why it has no results in this profile (the tables print it)."""
    why = {}
    for m in METHODS.values():
        if m.kind not in (Kind.LEARNED, Kind.PRETRAINED) or runs(m):
            continue
        cfg = BASELINES.get(m.name, {})
        if m.kind is Kind.PRETRAINED and not cfg.get("weights"):
            why[m.name] = f"{m.label} weights not provided"
        else:
            why[m.name] = "disabled in this profile"
    if not START_FROM_PRIOR:
        for name in names(Kind.A2SB_START):
            why[name] = (
                "the A2SB rows start from noise (masks.fill_prior: noise, eq. 8), not from a "
                "prior; the degraded-input row is their no-network reference"
            )
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


def trained_baselines():
    """The learned baselines (and the vocoder, when a method that needs it runs) to train."""
    chosen = {m for t in TASKS for m in learned_methods(t) if METHODS[m].trained}
    if any(METHODS[m].needs_vocoder for m in chosen):
        chosen.add(VOCODER)
    return sorted(chosen)


def baseline_checkpoints():
    """Trained learned-baseline weights the tables depend on (the vocoder with MAID or IBAR)."""
    return [f"results/{PROFILE}/baselines/{n}/final.safetensors" for n in trained_baselines()]


def checkpoints():
    out = [model_of(a2sb_method(n).name) for n in PARTITIONS]
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
    tables = [f"table{i}" for i in range(2, 13)] + ["licences", "released"]
    return [f"results/{PROFILE}/tables/{t}.{ext}" for t in tables for ext in ("csv", "md", "tex")]


def stereo_methods(task):
    """The methods restored on the stereo set: every method of the tables that runs (all restore
    [C, L]: the classical and learned ones per channel, A2SB in its default stereo mode) but
    only the A2SB row without partitioning, and its model in the other stereo modes (the
    candidates of its default mode, config stereo.modes)."""
    return (
        list(config["evaluate"]["classical"][task])
        + learned_methods(task)
        + [FIRST_A2SB]
        + stereo_candidates()
    )


def stereo_candidates():
    """The stereo-mode rows of config stereo.modes other than the default mode (the A2SB row
    itself restores in the default) whose model is the stereo set's A2SB row's."""
    by_mode = {m.stereo_mode: m.name for m in registry_stereo_candidates()
               if m.model_of == FIRST_A2SB}  # fmt: skip
    return [by_mode[m] for m in STEREO.get("modes", []) if m != DEFAULT_STEREO_MODE and m in by_mode]


def stereo_not_run():
    """Method -> why it has no row in the stereo table (every method restores [C, L])."""
    why = {m: r for m, r in not_run_reasons().items() if m in METHODS}
    for n in PARTITIONS:
        name = a2sb_method(n).name
        if name != FIRST_A2SB:
            why[name] = f"only {METHODS[FIRST_A2SB].label} runs on the stereo set (CPU budget)"
    return why


def stereo_licence():
    """The licence column of the stereo set's items.csv: its sources' licence."""
    sets = ", ".join(STEREO["sources"])
    if config["data"]["source"] == "corpus":
        from a2sb.data.corpus.build import LICENCE

        return f"derived from test sets {sets} of the corpus: {LICENCE}"
    return f"derived from test sets {sets}: their licences (tables/licences.md)"


def stereo_targets():
    if not STEREO["enabled"]:
        return []
    return [f"results/{PROFILE}/tables/stereo.{ext}" for ext in ("csv", "md", "tex")] + [
        f"results/{PROFILE}/figures/fig_stereo_coherence.{ext}" for ext in ("png", "pdf")
    ]


def final_targets():
    return (
        table_targets()
        + figure_targets()
        + stereo_targets()
        + [
            f"results/{PROFILE}/tables/runtime.md",
            f"results/{PROFILE}/metrics/summary.json",
            f"results/{PROFILE}/listening_test/stimuli.csv",
            f"results/{PROFILE}/listening_test/trials.json",
        ]
    )
