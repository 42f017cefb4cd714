# Degraded test inputs (SPEC 8), per-item metrics and their aggregation with 95 % CIs.
# One job per (test set, task) and per (method, test set, task): the settings of a task are
# folders inside it (4kHz/8kHz/12kHz, 300ms/500ms/1000ms), so a job loads its model once.


rule degrade:
    input:
        "results/{profile}/testsets/{dataset}",
    output:
        directory("results/{profile}/degraded/{dataset}/{task}"),
    params:
        loop=lambda w: " && ".join(
            f"{PY} -m metrics degrade --task {s.task} {' '.join(s.cli_args)} "
            f"--in-dir results/{w.profile}/testsets/{w.dataset}/audio "
            f"--out-dir results/{w.profile}/degraded/{w.dataset}/{w.task}.tmp/{s.label} --subtype FLOAT --quiet"
            for s in settings(w.task)
        ),
    log:
        "logs/{profile}/degrade/{dataset}/{task}.log",
    shell:
        "rm -rf {output}.tmp && ({params.loop}) > {log} 2>&1 && mv {output}.tmp {output}"


def evaluate_inputs(w):
    """Reference and estimate; for the stereo set also the degraded inputs (the gaps that set
    the region of the stereo metrics)."""
    out = {
        "reference": f"results/{w.profile}/testsets/{w.dataset}",
        "estimate": f"results/{w.profile}/restored/{w.method}/{w.dataset}/{w.task}",
    }
    if w.dataset in STEREO_SETS:
        out["degraded"] = f"results/{w.profile}/degraded/{w.dataset}/{w.task}"
    return out


rule evaluate:
    input:
        unpack(evaluate_inputs),
    output:
        "results/{profile}/metrics/per_item/{method}/{dataset}/{task}.csv",
    params:
        settings=lambda w: setting_labels(w.task),
        metrics=lambda w: ",".join(metrics_of(w.dataset)),
        midi=lambda w, input: (
            f"--midi {input.reference}/midi" if "midi_f1" in metrics_of(w.dataset) else ""
        ),
        region=lambda w, input: (
            f"--stereo-region {input.degraded}" if "degraded" in input.keys() else ""
        ),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/{profile}/evaluate/{method}/{dataset}/{task}.log",
    benchmark:
        "results/{profile}/benchmarks/evaluate/{method}/{dataset}/{task}.tsv"
    shell:
        "{PY} workflow/scripts/evaluate_group.py --reference {input.reference}/audio "
        "--estimate {input.estimate} --settings {params.settings} --metrics {params.metrics} "
        "{params.midi} {params.region} --tag task={wildcards.task} --tag dataset={wildcards.dataset} "
        "--tag method={wildcards.method} --out {output} > {log} 2>&1"


rule aggregate:
    input:
        per_item_files(),
    output:
        "results/{profile}/metrics/summary.csv",
    log:
        "logs/{profile}/metrics/aggregate.log",
    shell:
        "{PY} -m metrics aggregate {input} --by task,dataset,setting,method --out {output} "
        "> {log} 2>&1"


rule metrics_json:
    input:
        rules.aggregate.output,
    output:
        "results/{profile}/metrics/summary.json",
    log:
        "logs/{profile}/metrics/summary_json.log",
    shell:
        "{PY} -m reports.tables metrics-json {input} --out {output} > {log} 2>&1"
