# Provenance, Tables 2-12, the listening-test stimuli and trial list, Figures 2-7, the runtime table.
EXAMPLE = config["figures"]["example_set"]
FIG = config["figures"]
BWE = "results/{profile}/degraded/" + EXAMPLE + "/bandwidth_extension"  # holds 4kHz/ ...
# Figures 2 and 4-6 and the listening test show bandwidth extension at the phase-error cutoff
# (4 kHz, as the paper), Figure 3 inpainting at figures.inpainting_gap_ms
BWE_SETTING = Setting.cutoff(FIG["phase_error"]["cutoff_hz"]).label
INP_SETTING = Setting.gap(FIG["inpainting_gap_ms"]).label


rule resolved_config:
    output:
        "results/{profile}/provenance/config.json",
    params:
        cfg=json.dumps(config, sort_keys=True),
    log:
        "logs/{profile}/provenance/config.log",
    run:
        write_json(output[0], json.loads(params.cfg), sort_keys=True)
        Path(log[0]).write_text(f"wrote {output[0]}\n")


rule provenance:
    input:
        config=rules.resolved_config.output,
        manifests=all_manifests(),
        checkpoints=checkpoints(),
    output:
        "results/{profile}/provenance/provenance.json",
    params:
        registry=lambda w: (
            f"--data-registry {shlex.quote(registry_file())}"
            if config["data"]["source"] == "registry"
            else ""
        ),
    log:
        "logs/{profile}/provenance/provenance.log",
    shell:
        "{PY} -m reports.provenance --config {input.config} --manifests {input.manifests} "
        "--checkpoints {input.checkpoints} {params.registry} --out {output} > {log} 2>&1"


rule tables:
    input:
        summary=rules.aggregate.output,
        provenance=rules.provenance.output,
        paper="reports/reference/paper_results.csv",
    output:
        report(
            expand(
                "results/{{profile}}/tables/table{i}.{ext}",
                i=range(2, 10),
                ext=("csv", "md", "tex"),
            ),
            caption="../report/tables.rst",
            category="Tables 2-9",
        ),
    log:
        "logs/{profile}/tables/tables.log",
    params:
        not_run=lambda w: " ".join(
            f"--not-run {shlex.quote(f'{m}={why}')}" for m, why in not_run_reasons().items()
        ),
        how=lambda w: " ".join(
            f"--how-to-run {shlex.quote(f'{m}={cmd}')}" for m, cmd in how_to_run().items()
        ),
    shell:
        "{PY} -m reports.tables build --summary {input.summary} --paper {input.paper} "
        "--provenance {input.provenance} --out-dir results/{wildcards.profile}/tables "
        "{params.not_run} {params.how} > {log} 2>&1"


rule listening_test:
    input:
        testsets=expand("results/{{profile}}/testsets/{dataset}", dataset=DATASETS),
        restored=[
            f"results/{PROFILE}/restored/{m}/{d}/{t}"
            for t in TASKS
            for d in DATASETS
            for m in methods(t, d)
        ],
    output:
        stimuli="results/{profile}/listening_test/stimuli.csv",
    params:
        n=config["human_eval"]["segments_per_set"],
        seconds=config["human_eval"]["segment_seconds"],
        seed=config["human_eval"]["seed"],
        restored=lambda w, input: " ".join(
            f"{d}/{BWE_SETTING}" if d.endswith("bandwidth_extension") else f"{d}/{INP_SETTING}"
            for d in input.restored
        ),
    log:
        "logs/{profile}/listening_test.log",
    shell:
        "{PY} workflow/scripts/listening_test.py --restored {params.restored} "
        "--testsets {input.testsets} --segments {params.n} --seconds {params.seconds} "
        "--seed {params.seed} "
        "--out results/{wildcards.profile}/listening_test > {log} 2>&1"


rule listening_trials:
    input:
        stimuli=rules.listening_test.output.stimuli,
    output:
        "results/{profile}/listening_test/trials.json",
    params:
        seed=config["human_eval"]["seed"],
    log:
        "logs/{profile}/listening_trials.log",
    shell:
        "{PY} -m reports.listen trials results/{wildcards.profile}/listening_test "
        "--seed {params.seed} --out {output} > {log} 2>&1"


def ratings_input(wildcards):
    path = config["human_eval"]["ratings"]
    return [path] if Path(path).is_file() else []


rule human_eval_tables:
    input:
        stimuli=rules.listening_test.output.stimuli,
        summary=rules.aggregate.output,
        provenance=rules.provenance.output,
        mos="reports/reference/paper_mos.csv",
        corr="reports/reference/paper_correlation.csv",
        ratings=ratings_input,
    output:
        report(
            expand("results/{{profile}}/tables/table{i}.{ext}", i=(10, 11, 12), ext=("csv", "md", "tex")),
            caption="../report/human_eval.rst",
            category="Tables 10-12",
        ),
    params:
        ratings=lambda w, input: f"--ratings {input.ratings}" if input.ratings else "",
    log:
        "logs/{profile}/tables/human_eval.log",
    shell:
        "{PY} -m reports.human_eval --stimuli {input.stimuli} {params.ratings} "
        "--summary {input.summary} --paper-mos {input.mos} --paper-correlation {input.corr} "
        "--provenance {input.provenance} --out-dir results/{wildcards.profile}/tables > {log} 2>&1"


def spectrogram_inputs(task):
    d = f"results/{PROFILE}/restored/{{m}}/{EXAMPLE}/{task}"
    return {
        "reference": f"results/{PROFILE}/testsets/{EXAMPLE}",
        "degraded": f"results/{PROFILE}/degraded/{EXAMPLE}/{task}",
        "restored": [d.format(m=m) for m in methods(task, EXAMPLE) if m != "degraded"],
    }


def figure_setting(task):
    return BWE_SETTING if task == "bandwidth_extension" else INP_SETTING


rule figure_spectrograms:
    input:
        unpack(lambda w: spectrogram_inputs(w.task)),
        provenance=rules.provenance.output,
    output:
        report(
            multiext("results/{profile}/figures/fig{num}_{task}", ".png", ".pdf"),
            caption="../report/fig_spectrograms.rst",
            category="Figures",
        ),
    wildcard_constraints:
        num="[23]",
    params:
        setting=lambda w: figure_setting(w.task),
        restored=lambda w, input: " ".join(f"{d}/{figure_setting(w.task)}" for d in input.restored),
    log:
        "logs/{profile}/figures/fig{num}_{task}.log",
    shell:
        "{PY} -m reports.figures spectrograms --reference {input.reference}/audio "
        "--degraded {input.degraded}/{params.setting} --restored {params.restored} "
        "--provenance {input.provenance} "
        "--title 'Figure {wildcards.num}: {wildcards.task}' "
        "--out results/{wildcards.profile}/figures/fig{wildcards.num}_{wildcards.task} > {log} 2>&1"


rule restore_example:
    input:
        degraded=BWE,
        model=lambda w: f"results/{PROFILE}/train/{w.run}/final.safetensors",
    output:
        directory("results/{profile}/ablation/{run}"),
    wildcard_constraints:
        run="pretrain|ablation_2ch",
    params:
        steps=config["evaluate"]["bandwidth_extension"]["steps"],
        seed=config["evaluate"]["seed"],
        batch=config["evaluate"]["batch_size"],
    threads: 1
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=60,
    log:
        "logs/{profile}/ablation/{run}.log",
    benchmark:
        "results/{profile}/benchmarks/ablation/{run}.tsv"
    shell:
        "{PY} workflow/scripts/restore_group.py --method a2sb_{wildcards.run} "
        "--checkpoint {input.model} --task bandwidth-extension --in-dir {input.degraded} "
        "--out-dir {output} --settings {BWE_SETTING} --steps {params.steps} --seed {params.seed} "
        "--batch-size {params.batch} --threads {threads} > {log} 2>&1"


rule figure_ablation:
    input:
        reference=f"results/{PROFILE}/testsets/{EXAMPLE}",
        degraded=BWE.replace("{profile}", PROFILE),
        three=f"results/{PROFILE}/ablation/pretrain",
        two=f"results/{PROFILE}/ablation/ablation_2ch",
        provenance=rules.provenance.output,
    output:
        report(
            multiext("results/{profile}/figures/fig4_representation_spectrograms", ".png", ".pdf"),
            caption="../report/fig_ablation.rst",
            category="Figures",
        ),
        report(
            multiext("results/{profile}/figures/fig5_band_magnitude", ".png", ".pdf"),
            caption="../report/fig_ablation.rst",
            category="Figures",
        ),
    log:
        "logs/{profile}/figures/fig4_5.log",
    shell:
        "{PY} -m reports.figures ablation --reference {input.reference}/audio "
        "--degraded {input.degraded}/{BWE_SETTING} --three {input.three}/{BWE_SETTING} "
        "--two {input.two}/{BWE_SETTING} "
        "--provenance {input.provenance} "
        "--out-dir results/{wildcards.profile}/figures > {log} 2>&1"


rule phase_error:
    input:
        degraded=BWE,
        model=model_of(FIRST_A2SB),
    output:
        "results/{profile}/figures/fig6_phase_error.csv",
    params:
        cutoff=FIG["phase_error"]["cutoff_hz"],
        bands=FIG["phase_error"]["bands"],
        steps=FIG["phase_error"]["steps"],
        seed=config["evaluate"]["seed"],
    threads: workflow.cores
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=60,
    log:
        "logs/{profile}/figures/phase_error.log",
    benchmark:
        "results/{profile}/benchmarks/figures/phase_error.tsv"
    shell:
        "{PY} workflow/scripts/phase_error.py --in-dir {input.degraded}/{BWE_SETTING} --checkpoint {input.model} "
        "--cutoff-hz {params.cutoff} --bands {params.bands} --steps {params.steps} "
        "--seed {params.seed} --out {output} > {log} 2>&1"


rule figure_phase_error:
    input:
        csv=rules.phase_error.output,
        provenance=rules.provenance.output,
    output:
        report(
            multiext("results/{profile}/figures/fig6_phase_error", ".png", ".pdf"),
            caption="../report/fig_phase_error.rst",
            category="Figures",
        ),
    log:
        "logs/{profile}/figures/fig6.log",
    shell:
        "{PY} -m reports.figures phase-error {input.csv} --provenance {input.provenance} "
        "--out results/{wildcards.profile}/figures/fig6_phase_error > {log} 2>&1"


# Figure 7: the same tiled input restored by streaming (a2sb restore's default, memory
# independent of the length) and in memory (--in-memory, the whole file at once), each at the
# lengths of figures.long_audio.seconds.<path>; measured by the benchmark files.
LONG_AUDIO = FIG["long_audio"]
LONG_BENCH = "results/{profile}/benchmarks/long_audio"
LONG = {p: [f"{s:g}" for s in LONG_AUDIO["seconds"][p]] for p in ("streaming", "in_memory")}


rule long_input:
    input:
        f"results/{PROFILE}/testsets/{EXAMPLE}",
    output:
        temp("results/{profile}/long_audio/input_{seconds}s.wav"),
    wildcard_constraints:
        seconds=r"[0-9]+(\.[0-9]+)?",
    log:
        "logs/{profile}/long_audio/long_input/{seconds}s.log",
    shell:
        "{PY} workflow/scripts/make_long_input.py --in-dir {input}/audio --seconds {wildcards.seconds} "
        "--out {output} > {log} 2>&1"


rule restore_long:
    input:
        audio="results/{profile}/long_audio/input_{seconds}s.wav",
        model=model_of(f"a2sb_p{LONG_AUDIO['partitions']}"),
    output:
        temp("results/{profile}/long_audio/{path}/restored_{seconds}s.wav"),
    wildcard_constraints:
        path="streaming|in_memory",
        seconds=r"[0-9]+(\.[0-9]+)?",
    params:
        steps=LONG_AUDIO["steps"],
        batch=config["evaluate"]["batch_size"],
        cutoff=FIG["phase_error"]["cutoff_hz"],
        mode=lambda w: "--in-memory" if w.path == "in_memory" else "",
    threads: workflow.cores
    resources:
        gpu=1,
        # streaming holds a few windows' worth of frames at any length; in memory, the whole file
        mem_mb=lambda w: 8000 if w.path == "streaming" else 16000,
        runtime=120,
    log:
        "logs/{profile}/long_audio/restore_long/{path}/{seconds}s.log",
    benchmark:
        LONG_BENCH + "/{path}/{seconds}s.tsv"
    shell:
        "{PY} -m a2sb restore {input.audio} {output} --task bandwidth-extension "
        "--cutoff-hz {params.cutoff} {params.mode} "
        "--checkpoint {input.model} --steps {params.steps} --batch-size {params.batch} --no-progress "
        "--no-memory-check > {log} 2>&1"  # Figure 7 measures the restoration, not a calibration


rule figure_long_audio:
    input:
        restored=[
            f"results/{{profile}}/long_audio/{p}/restored_{s}s.wav" for p in LONG for s in LONG[p]
        ],
        streaming=[f"{LONG_BENCH}/streaming/{s}s.tsv" for s in LONG["streaming"]],
        in_memory=[f"{LONG_BENCH}/in_memory/{s}s.tsv" for s in LONG["in_memory"]],
        provenance=rules.provenance.output,
    output:
        report(
            multiext("results/{profile}/figures/fig7_long_audio", ".png", ".pdf", ".csv"),
            caption="../report/fig_long_audio.rst",
            category="Figures",
        ),
    params:
        bench=lambda w, input: " ".join(
            f"--{flag} {' '.join(files)}"
            for flag, files in (("streaming", input.streaming), ("in-memory", input.in_memory))
            if files
        ),
    log:
        "logs/{profile}/figures/fig7.log",
    shell:
        "{PY} -m reports.figures long-audio {params.bench} --provenance {input.provenance} "
        "--out results/{wildcards.profile}/figures/fig7_long_audio > {log} 2>&1"


rule runtime_table:
    input:
        table_targets(),
        figure_targets(),
        stereo_targets(),  # its benchmarks are in the runtime table too
    output:
        report(
            multiext("results/{profile}/tables/runtime", ".csv", ".md"),
            caption="../report/runtime.rst",
            category="Compute",
        ),
    log:
        "logs/{profile}/tables/runtime.log",
    shell:
        "{PY} -m reports.runtime results/{wildcards.profile}/benchmarks "
        "--out-prefix results/{wildcards.profile}/tables/runtime > {log} 2>&1"
