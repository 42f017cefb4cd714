# Data: the offline corpus (default, ci) or registry downloads with licence filtering (paper),
# manifests, the licence table and the test sets (first/random items, optionally cut).

if config["data"]["source"] == "corpus":

    rule corpus:
        output:
            report="results/{profile}/data/corpus/corpus_report.json",
            manifests=expand("results/{{profile}}/data/corpus/manifests/{set}.csv", set=CORPUS_SETS),
        params:
            corpus_profile=config["data"]["corpus"]["profile"],
            seed=config["data"]["corpus"]["seed"],
        priority: 100
        log:
            "logs/{profile}/data/corpus.log",
        benchmark:
            "results/{profile}/benchmarks/data/corpus.tsv"
        shell:
            "{PY} -m a2sb data corpus --out results/{wildcards.profile}/data/corpus "
            "--profile {params.corpus_profile} --seed {params.seed} --no-progress > {log} 2>&1"

else:

    # Downloads land in resources/raw (versioned by DVC, never written by later rules): after
    # `dvc pull` their mtimes are new, so later rules read them through ancient().
    rule fetch:
        output:
            touch("resources/raw/{name}/.fetched"),
        params:
            registry=registry_arg(),
        log:
            "logs/fetch/{name}.log",
        benchmark:
            "results/benchmarks/fetch/{name}.tsv"
        resources:
            runtime=24 * 60,
        shell:
            "{PY} -m a2sb data fetch {wildcards.name} --root resources/raw {params.registry} "
            "--no-progress > {log} 2>&1"

    rule licence_filter:
        input:
            ancient("resources/raw/{name}/.fetched"),
        output:
            "results/{profile}/data/filter/{name}/{name}/kept.csv",
            "results/{profile}/data/filter/{name}/{name}/licence_report.json",
        params:
            registry=registry_arg(),
            research=lambda w: (
                "--research-use"
                if w.name in config["data"]["registry"].get("research_use", [])
                else ""
            ),
        log:
            "logs/{profile}/data/filter_{name}.log",
        shell:
            "{PY} -m a2sb data filter {wildcards.name} --root resources/raw "
            "--out results/{wildcards.profile}/data/filter/{wildcards.name} {params.research} "
            "{params.registry} "
            "> {log} 2>&1"

    rule manifest:
        input:
            kept="results/{profile}/data/filter/{name}/{name}/kept.csv",
            raw=ancient("resources/raw/{name}/.fetched"),
        output:
            "results/{profile}/data/manifests/{name}.csv",
        params:
            # test sets and research-use data keep every licence class (never trained on
            # in the permissive runs); training sets keep only permissive items
            split=lambda w: "test" if w.name in config["data"]["test_sets"].values() else "train",
            classes=lambda w: (
                "--all-classes"
                if w.name in config["data"]["test_sets"].values()
                or w.name in config["data"]["registry"].get("research_use", [])
                else ""
            ),
        log:
            "logs/{profile}/data/manifest_{name}.log",
        shell:
            "{PY} -m a2sb data manifest resources/raw/{wildcards.name}/raw --kept {input.kept} "
            "--raw-dir resources/raw/{wildcards.name}/raw --dataset {wildcards.name} "
            "--split {params.split} {params.classes} --no-progress --out {output} > {log} 2>&1"


def filter_reports():
    """The licence filter's per-dataset reports (registry source only)."""
    if config["data"]["source"] == "corpus":
        return []
    return [
        f"results/{PROFILE}/data/filter/{d}/{d}/licence_report.json" for d in registry_datasets()
    ]


rule licence_table:
    input:
        manifests=all_manifests(),
        filter_reports=filter_reports(),
    output:
        report(
            multiext("results/{profile}/tables/licences", ".csv", ".md", ".tex"),
            caption="../report/licences.rst",
            category="Data",
        ),
    params:
        filter_reports=lambda w, input: (
            f"--filter-reports {' '.join(input.filter_reports)} "
            f"--filter-out-prefix results/{w.profile}/tables/licence_filter"
            if input.filter_reports
            else ""
        ),
    log:
        "logs/{profile}/tables/licences.log",
    shell:
        "{PY} -m reports.licences {input.manifests} {params.filter_reports} "
        "--out-prefix results/{wildcards.profile}/tables/licences > {log} 2>&1"


def test_set_source(dataset):
    name = config["data"]["test_sets"][dataset]
    midi = f"{corpus_dir()}/midi/{name}" if config["data"]["source"] == "corpus" else ""
    items = config["data"].get("test_items", {}).get(dataset) or config["data"]["items_per_set"]
    return {"manifest": manifest_of(name), "midi": midi, "items": items or 0}


rule test_set:
    input:
        manifest=lambda w: test_set_source(w.dataset)["manifest"],
    output:
        directory("results/{profile}/testsets/{dataset}"),
    wildcard_constraints:
        dataset="|".join(DATASETS),  # the stereo set has its own rule (stereo.smk)
    params:
        n_items=lambda w: test_set_source(w.dataset)["items"],
        midi=lambda w: test_set_source(w.dataset)["midi"],
        max_seconds=config["data"]["max_seconds"] or 0,
        seed=config["seed"],
        random=lambda w: "--random" if config["data"].get("test_items", {}).get(w.dataset) else "",
        rate=config["stft"]["sample_rate"],
    log:
        "logs/{profile}/data/test_set_{dataset}.log",
    shell:
        "{PY} workflow/scripts/prepare_testset.py --manifest {input.manifest} --out {output} "
        "--items {params.n_items} --max-seconds {params.max_seconds} --seed {params.seed} "
        "{params.random} --midi-dir '{params.midi}' --sample-rate {params.rate} > {log} 2>&1"
