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
        log:
            "logs/fetch/{name}.log",
        benchmark:
            "results/benchmarks/fetch/{name}.tsv"
        resources:
            runtime=24 * 60,
        shell:
            "{PY} -m a2sb data fetch {wildcards.name} --root resources/raw --no-progress > {log} 2>&1"

    rule licence_filter:
        input:
            ancient("resources/raw/{name}/.fetched"),
        output:
            "results/{profile}/data/filter/{name}/{name}/kept.csv",
        params:
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


rule licence_table:
    input:
        all_manifests(),
    output:
        report(
            multiext("results/{profile}/tables/licences", ".csv", ".md", ".tex"),
            caption="../report/licences.rst",
            category="Data",
        ),
    log:
        "logs/{profile}/tables/licences.log",
    shell:
        "{PY} -m reports.licences {input} --out-prefix results/{wildcards.profile}/tables/licences "
        "> {log} 2>&1"


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
    params:
        n_items=lambda w: test_set_source(w.dataset)["items"],
        midi=lambda w: test_set_source(w.dataset)["midi"],
        max_seconds=config["data"]["max_seconds"] or 0,
        seed=config["seed"],
        random=lambda w: "--random" if config["data"].get("test_items", {}).get(w.dataset) else "",
    log:
        "logs/{profile}/data/test_set_{dataset}.log",
    shell:
        "{PY} workflow/scripts/prepare_testset.py --manifest {input.manifest} --out {output} "
        "--items {params.n_items} --max-seconds {params.max_seconds} --seed {params.seed} "
        "{params.random} --midi-dir '{params.midi}' > {log} 2>&1"
