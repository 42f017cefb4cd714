# The stereo test set (issue 20): made offline from prepared mono test sets, then degraded,
# restored and scored by the rules of evaluate.smk and baselines.smk (dataset "Stereo"; the
# evaluate rule adds the stereo region and the per-channel metrics), summarised in
# tables/stereo.md and figures/fig_stereo_coherence.png.


rule stereo_testset:
    input:
        expand("results/{{profile}}/testsets/{dataset}", dataset=STEREO["sources"]),
    output:
        directory("results/{profile}/testsets/Stereo"),
    params:
        n_items=STEREO["items"],
        seconds=STEREO["seconds"],
        seed=config["seed"],
        licence=lambda w: shlex.quote(stereo_licence()),
    log:
        "logs/{profile}/data/test_set_Stereo.log",
    shell:
        "{PY} workflow/scripts/make_stereo_testset.py --in {input} --out {output} "
        "--items {params.n_items} --seconds {params.seconds} --seed {params.seed} "
        "--licence {params.licence} > {log} 2>&1"


def stereo_per_item():
    return [
        f"results/{PROFILE}/metrics/per_item/{m}/Stereo/{t}.csv"
        for t in TASKS
        for m in stereo_methods(t)
    ]


rule stereo_aggregate:
    input:
        stereo_per_item(),
    output:
        "results/{profile}/metrics/stereo_summary.csv",
    log:
        "logs/{profile}/metrics/stereo_aggregate.log",
    shell:
        "{PY} -m metrics aggregate {input} --by task,dataset,setting,method --out {output} "
        "> {log} 2>&1"


rule stereo_bands:
    input:
        reference="results/{profile}/testsets/Stereo",
        restored=[
            f"results/{PROFILE}/restored/{m}/Stereo/bandwidth_extension"
            for m in stereo_methods("bandwidth_extension")
        ],
    output:
        "results/{profile}/metrics/stereo_bands.csv",
    params:
        setting=STEREO["figure_setting"],
        estimates=lambda w, input: " ".join(
            f"--estimate {m}={d}"
            for m, d in zip(stereo_methods("bandwidth_extension"), input.restored)
        ),
    log:
        "logs/{profile}/metrics/stereo_bands.log",
    shell:
        "{PY} workflow/scripts/stereo_bands.py --reference {input.reference}/audio "
        "--setting {params.setting} {params.estimates} --out {output} > {log} 2>&1"


rule stereo_table:
    input:
        summary=rules.stereo_aggregate.output,
        provenance=rules.provenance.output,
    output:
        report(
            multiext("results/{profile}/tables/stereo", ".csv", ".md", ".tex"),
            caption="../report/stereo.rst",
            category="Stereo",
        ),
    params:
        not_run=lambda w: " ".join(
            f"--not-run {shlex.quote(f'{m}={why}')}" for m, why in stereo_not_run().items()
        ),
    log:
        "logs/{profile}/tables/stereo.log",
    shell:
        "{PY} -m reports.stereo table --summary {input.summary} --provenance {input.provenance} "
        "--out-prefix results/{wildcards.profile}/tables/stereo {params.not_run} > {log} 2>&1"


rule stereo_figure:
    input:
        bands=rules.stereo_bands.output,
        provenance=rules.provenance.output,
    output:
        report(
            multiext("results/{profile}/figures/fig_stereo_coherence", ".png", ".pdf"),
            caption="../report/stereo.rst",
            category="Stereo",
        ),
    params:
        setting=STEREO["figure_setting"],
    log:
        "logs/{profile}/figures/stereo_coherence.log",
    shell:
        "{PY} -m reports.stereo figure --bands {input.bands} --setting {params.setting} "
        "--provenance {input.provenance} "
        "--out-stem results/{wildcards.profile}/figures/fig_stereo_coherence > {log} 2>&1"
