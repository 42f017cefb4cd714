# Degraded test inputs (SPEC 8), per-item metrics and their aggregation with 95 % CIs.


rule degrade:
    input:
        "results/{profile}/testsets/{dataset}",
    output:
        directory("results/{profile}/degraded/{dataset}/{task}/{setting}"),
    params:
        task=lambda w: TASK_CLI[w.task],
        arg=lambda w: degradation_args(w.task, w.setting),
    log:
        "logs/{profile}/degrade/{dataset}/{task}/{setting}.log",
    shell:
        "{PY} -m metrics degrade --task {params.task} {params.arg} --in-dir {input}/audio "
        "--out-dir {output} --subtype FLOAT --quiet > {log} 2>&1"


rule evaluate:
    input:
        reference="results/{profile}/testsets/{dataset}",
        estimate="results/{profile}/restored/{method}/{dataset}/{task}/{setting}",
    output:
        "results/{profile}/metrics/per_item/{method}/{dataset}/{task}/{setting}.csv",
    params:
        metrics=lambda w: ",".join(metrics_of(w.dataset)),
        midi=lambda w, input: (
            f"--midi {input.reference}/midi" if "midi_f1" in metrics_of(w.dataset) else ""
        ),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/{profile}/evaluate/{method}/{dataset}/{task}/{setting}.log",
    benchmark:
        "results/{profile}/benchmarks/evaluate/{method}/{dataset}/{task}/{setting}.tsv"
    shell:
        "{PY} -m metrics evaluate --reference {input.reference}/audio --estimate {input.estimate} "
        "--metrics {params.metrics} {params.midi} --tag task={wildcards.task} "
        "--tag dataset={wildcards.dataset} --tag setting={wildcards.setting} "
        "--tag method={wildcards.method} --jobs {threads} --quiet --out {output} > {log} 2>&1"


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
