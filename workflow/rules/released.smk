# Audit of NVIDIA's released A2SB checkpoints (README "Auditing NVIDIA's released checkpoints"):
# the .ckpt files the user downloaded by hand (config `released.checkpoints`; nothing downloads at
# run time) -> `a2sb convert-checkpoint` -> `a2sb bundle` -> restoration of every evaluated test set
# with the official protocol (the clean file, its representation masked with the cutoffs and the
# gaps of the degrade rule) -> the metrics of Tables 2-9 -> results/<profile>/tables/released.md,
# beside the paper's A2SB values. Without checkpoints the table is still written ("not run: ...",
# with the commands to get them); with `released.stand_in` (default and ci profiles) stand-ins in
# the released layout, made from this run's own 1- and 2-partition models, run the whole path.
from snakemake.exceptions import WorkflowError

RELEASED = config["released"]
HF_PAGE = "https://huggingface.co/nvidia/audio_to_audio_schrodinger_bridge"
#: released model -> the stems of its .ckpt files (one per t-range partition)
RELEASE_FILES = {
    "twosplit": ["A2SB_twosplit_0.0_0.5_release", "A2SB_twosplit_0.5_1.0_release"],
    "onesplit": ["A2SB_onesplit_0.0_1.0_release"],
}
RELEASE_PARTITIONS = {"twosplit": 2, "onesplit": 1}
RELEASED_DIR = f"results/{PROFILE}/released"


def released_given():
    """Release stem -> the user's .ckpt path, from a folder or a list of files (config)."""
    given = RELEASED["checkpoints"]
    if not given:
        return {}
    if isinstance(given, str):
        folder = Path(given)
        if not folder.is_dir():
            raise WorkflowError(f"released.checkpoints: {folder}: no such folder")
        return {s: str(folder / f"{s}.ckpt") for stems in RELEASE_FILES.values() for s in stems}
    known = {s for stems in RELEASE_FILES.values() for s in stems}
    out = {}
    for path in map(Path, given):
        if path.suffix != ".ckpt" or path.stem not in known:
            raise WorkflowError(
                f"released.checkpoints: {path}: not a released file name (expected one of "
                f"{', '.join(sorted(s + '.ckpt' for s in known))})"
            )
        out[path.stem] = str(path)
    return out


def released_audited():
    """Released model -> {stem: source .ckpt}: the user's files, else the stand-ins, else {}."""
    given = released_given()
    if given:
        audited = {}
        for model in RELEASED["models"]:
            stems = RELEASE_FILES[model]
            missing = [s for s in stems if s not in given or not Path(given[s]).is_file()]
            if missing:
                raise WorkflowError(
                    f"released.checkpoints: {', '.join(given.get(s, s + '.ckpt') for s in missing)} "
                    f"not found (download it from {HF_PAGE}, or drop {model} from released.models)"
                )
            audited[model] = {s: given[s] for s in stems}
        return audited
    if RELEASED["stand_in"]:
        for model in RELEASED["models"]:
            if RELEASE_PARTITIONS[model] not in PARTITIONS:
                raise WorkflowError(
                    f"released.stand_in: the {model} stand-in is made from this profile's "
                    f"{RELEASE_PARTITIONS[model]}-partition model, which train.partitions lacks"
                )
        if not isinstance(config["model"], str):
            raise WorkflowError("released.stand_in: needs `model` to be a preset name")
        return {
            m: {s: f"{RELEASED_DIR}/standin/{m}/{s}.ckpt" for s in RELEASE_FILES[m]}
            for m in RELEASED["models"]
        }
    return {}


AUDITED = released_audited()
STAND_IN = bool(AUDITED) and not released_given()
RELEASED_STEMS = {s: m for m, stems in AUDITED.items() for s in stems}


def released_bundle(model):
    return f"{RELEASED_DIR}/models/{model}.json"


def released_per_item():
    return [
        f"{RELEASED_DIR}/metrics/per_item/{m}/{d}/{t}.csv" for m in AUDITED for d in DATASETS for t in TASKS
    ]


if STAND_IN:

    rule released_standin:
        input:
            lambda w: model_of(a2sb_method(RELEASE_PARTITIONS[w.model]).name),
        output:
            directory("results/{profile}/released/standin/{model}"),
        wildcard_constraints:
            model="|".join(AUDITED),
        log:
            "logs/{profile}/released/standin_{model}.log",
        shell:
            "{PY} workflow/scripts/make_released_standin.py --bundle {input} --out-dir {output} "
            "> {log} 2>&1"


if AUDITED:

    def released_source(wildcards):
        model = RELEASED_STEMS[wildcards.stem]
        if STAND_IN:  # the folder the stand-in rule writes (its STFT beside the .ckpt files)
            return {"ckpt": f"{RELEASED_DIR}/standin/{model}"}
        return {"ckpt": AUDITED[model][wildcards.stem]}

    def released_convert_args(wildcards, input):
        if STAND_IN:
            return (
                f"{input.ckpt}/{wildcards.stem}.ckpt --preset {config['model']} "
                f"--stft-config {input.ckpt}/stft_config.json"
            )
        return f"{shlex.quote(input.ckpt)} --preset {RELEASED['preset']}"

    rule convert_released:
        input:
            unpack(released_source),
        output:
            weights="results/{profile}/released/converted/{stem}.safetensors",
            sidecar="results/{profile}/released/converted/{stem}.json",
        wildcard_constraints:
            stem="|".join(re.escape(s) for s in RELEASED_STEMS),
        params:
            args=released_convert_args,
        resources:
            mem_mb=16000,  # a released file is 2.3 GB
            runtime=30,
        log:
            "logs/{profile}/released/convert_{stem}.log",
        shell:
            "{PY} -m a2sb convert-checkpoint {params.args} {output.weights} > {log} 2>&1"

    rule bundle_released:
        input:
            lambda w: [
                f"{RELEASED_DIR}/converted/{s}.safetensors" for s in RELEASE_FILES[w.model]
            ],
        output:
            "results/{profile}/released/models/{model}.json",
        wildcard_constraints:
            model="|".join(AUDITED),
        log:
            "logs/{profile}/released/bundle_{model}.log",
        shell:
            "{PY} -m a2sb bundle --out {output} {input} > {log} 2>&1"

    rule restore_released:
        input:
            degraded="results/{profile}/degraded/{dataset}/{task}",
            clean="results/{profile}/testsets/{dataset}",
            model="results/{profile}/released/models/{model}.json",
        output:
            directory("results/{profile}/released/restored/{model}/{dataset}/{task}"),
        wildcard_constraints:
            model="|".join(AUDITED),
        params:
            method=lambda w: a2sb_method(RELEASE_PARTITIONS[w.model]).name,
            task=lambda w: Task.parse(w.task),
            settings=lambda w: setting_labels(w.task),
            steps=lambda w: RELEASED["steps"][w.task],
            seed=config["evaluate"]["seed"],
            batch=config["evaluate"]["batch_size"],
        threads: 1
        resources:
            gpu=1,
            mem_mb=8000,
            runtime=120,
        log:
            "logs/{profile}/released/restore/{model}/{dataset}/{task}.log",
        benchmark:
            "results/{profile}/benchmarks/released/restore/{model}/{dataset}/{task}.tsv"
        shell:
            # the official protocol: the clean file in, the degraded file's cutoff and gaps
            "{PY} workflow/scripts/restore_group.py --method {params.method} --protocol official "
            "--checkpoint {input.model} --task {params.task} --in-dir {input.degraded} "
            "--clean-dir {input.clean}/audio --out-dir {output} --settings {params.settings} "
            "--steps {params.steps} --seed {params.seed} --batch-size {params.batch} "
            "--threads {threads} > {log} 2>&1"

    rule evaluate_released:
        input:
            reference="results/{profile}/testsets/{dataset}",
            estimate="results/{profile}/released/restored/{model}/{dataset}/{task}",
        output:
            "results/{profile}/released/metrics/per_item/{model}/{dataset}/{task}.csv",
        wildcard_constraints:
            model="|".join(AUDITED),
        params:
            settings=lambda w: setting_labels(w.task),
            metrics=lambda w: ",".join(metrics_of(w.dataset)),
            midi=lambda w, input: (
                f"--midi {input.reference}/midi" if "midi_f1" in metrics_of(w.dataset) else ""
            ),
        threads: 1
        resources:
            mem_mb=4000,
            runtime=30,
        log:
            "logs/{profile}/released/evaluate/{model}/{dataset}/{task}.log",
        benchmark:
            "results/{profile}/benchmarks/released/evaluate/{model}/{dataset}/{task}.tsv"
        shell:
            "{PY} workflow/scripts/evaluate_group.py --reference {input.reference}/audio "
            "--estimate {input.estimate} --settings {params.settings} --metrics {params.metrics} "
            "{params.midi} --tag task={wildcards.task} --tag dataset={wildcards.dataset} "
            "--tag method={wildcards.model} --out {output} > {log} 2>&1"

    rule aggregate_released:
        input:
            released_per_item(),
        output:
            "results/{profile}/released/metrics/summary.csv",
        log:
            "logs/{profile}/released/aggregate.log",
        shell:
            "{PY} -m metrics aggregate {input} --by task,dataset,setting,method --out {output} "
            "> {log} 2>&1"


rule released_provenance:
    input:
        config=rules.resolved_config.output,
        manifests=all_manifests() if AUDITED else [],
        checkpoints=[released_bundle(m) for m in AUDITED],
    output:
        "results/{profile}/released/provenance.json",
    log:
        "logs/{profile}/released/provenance.log",
    shell:
        "{PY} -m reports.provenance --config {input.config} --manifests {input.manifests} "
        "--checkpoints {input.checkpoints} --out {output} > {log} 2>&1"


def released_table_args(wildcards, input):
    """The table builder's options: what ran, with what, and what the cells must say."""
    args = [f"--model {m}={released_bundle(m)}" for m in AUDITED]
    if STAND_IN:
        args += [f"--stand-in {m}={RELEASED_DIR}/standin/{m}/source.json" for m in AUDITED]
    if AUDITED:
        args.append(f"--summary {input.summary}")
    if config["data"]["source"] == "corpus":
        note = (
            "The test sets of this profile are the offline corpus's stand-ins for AAM, CCMixter, "
            "MTD and Maestro (SPEC 11), not the paper's sets: the paper's values are printed for "
            "the layout, they are not comparable."
        )
        args.append(f"--note {shlex.quote(note)}")
    args += [
        f"--datasets {','.join(DATASETS)}",
        f"--steps bandwidth_extension={RELEASED['steps']['bandwidth_extension']}",
        f"--steps inpainting={RELEASED['steps']['inpainting']}",
        f"--profile {PROFILE}",
    ]
    return " ".join(args)


rule released_table:
    input:
        paper="reports/reference/paper_results.csv",
        provenance=rules.released_provenance.output,
        summary=rules.aggregate_released.output if AUDITED else [],
        sources=[f"{RELEASED_DIR}/standin/{m}" for m in AUDITED] if STAND_IN else [],
    output:
        report(
            multiext("results/{profile}/tables/released", ".csv", ".md", ".tex"),
            caption="../report/released.rst",
            category="Released checkpoints",
        ),
    params:
        args=released_table_args,
    log:
        "logs/{profile}/tables/released.log",
    shell:
        "{PY} -m reports.released --paper {input.paper} --provenance {input.provenance} "
        "{params.args} --out-prefix results/{wildcards.profile}/tables/released > {log} 2>&1"
