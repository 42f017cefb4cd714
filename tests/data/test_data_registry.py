"""The built-in dataset registry: every dataset of the paper, unknowns marked, no guesses."""

from __future__ import annotations

import argparse

import pytest
import yaml

from a2sb.data.cli import register_cli
from a2sb.data.registry import UNKNOWN, load_registry, summary_rows

EXPECTED_ROLES = {
    "fma": "finetune",
    "medley_solos_db": "finetune",
    "mtg_jamendo": "finetune",
    "musan": "finetune",
    "musical_instrument": "finetune",
    "musicnet": "finetune",
    "slakh2100": "finetune",
    "clap_freesound": "pretrain",
    "gtzan": "pretrain",
    "musiccaps": "pretrain",
    "nsynth": "pretrain",
    "piano_triads": "pretrain",
    "fsd50k": "modelcard-only",
    "aam": "test",
    "ccmixter": "test",
    "mtd": "test",
    "maestro": "test",
}


@pytest.fixture(scope="module")
def reg():
    return load_registry()


def test_every_dataset_of_the_paper_is_there(reg):
    assert {n: d.role for n, d in reg.items()} == EXPECTED_ROLES


def test_published_checksums(reg):
    fma = {f.filename: f for f in reg["fma"].files}
    assert fma["fma_full.zip"].checksum.algorithm == "sha1"
    assert fma["fma_full.zip"].checksum.value == "0f0ace23fbe9ba30ecb7e95f763e435ea802b8ab"
    assert fma["fma_full.zip"].default and not fma["fma_small.zip"].default
    maestro = reg["maestro"].file("maestro-v3.0.0.zip")
    assert maestro.checksum.algorithm == "sha256" and maestro.checksum.value.startswith("6680fea5")
    assert reg["slakh2100"].files[0].checksum.value == "f4b71b6c45ac9b506f59788456b3f0c4"
    assert reg["gtzan"].files[0].size_bytes == 1225571541


def test_unknowns_are_none_not_guessed(reg):
    musan = reg["musan"].files[0]
    assert musan.checksum is None and musan.size_bytes is None
    assert reg["gtzan"].licence.licence is None and reg["ccmixter"].licence.licence is None
    assert reg["musical_instrument"].licence.format == "kaggle_metadata"
    raw = yaml.safe_load(
        open(
            __import__("a2sb.data.registry", fromlist=["x"]).__file__.replace(
                "registry.py", "registry.yaml"
            )
        )
    )
    assert raw["datasets"]["musan"]["files"][0]["checksum"] == UNKNOWN


def test_licence_sources(reg):
    assert reg["fma"].licence.kind == "per_item" and reg["fma"].licence.format == "fma_tracks_csv"
    assert reg["mtg_jamendo"].licence.metadata_file == "audio_licenses.txt"
    assert reg["musiccaps"].licence.kind == "none"
    assert reg["maestro"].licence.licence == "CC BY-NC-SA 4.0" and reg["maestro"].research_use_only
    assert all(d.licence.kind in ("dataset", "per_item", "none") for d in reg.values())


def test_manual_sources_say_what_to_do(reg):
    for name in ("musical_instrument", "musiccaps", "clap_freesound", "aam", "ccmixter", "mtd"):
        m = reg[name].manual
        assert m is not None and m.instructions and "{root}" in m.place_files, name


def test_jamendo_shards_take_checksums_from_the_published_list(reg):
    tars = [f for f in reg["mtg_jamendo"].files if f.filename.endswith(".tar")]
    assert (
        len(tars) == 100
        and tars[0].filename == "raw_30s_audio-00.tar"
        and tars[-1].filename == "raw_30s_audio-99.tar"
    )
    assert all(f.checksum.list_file == "raw_30s_audio_sha256_tars.txt" for f in tars)
    assert tars[5].url == "https://cdn.freesound.org/mtg-jamendo/raw_30s/audio/raw_30s_audio-05.tar"


def test_verification_tags_and_summary(reg):
    for d in reg.values():
        assert set(d.verification.values()) <= {"V", "3P", "U"}
        for f in d.files:
            assert set(f.verification.values()) <= {"V", "3P", "U"}
    rows = {r["name"]: r for r in summary_rows(reg)}
    assert (
        "checksum" in rows["musan"]["unknown"] and rows["musical_instrument"]["manual"] == "kaggle"
    )


def test_register_cli_adds_the_data_commands():
    parser = argparse.ArgumentParser(prog="a2sb")
    sub = parser.add_subparsers(dest="command", required=True)
    register_cli(sub)
    for argv in (
        ["data", "list"],
        ["data", "licence", "CC0"],
        ["data", "license", "CC0"],
        ["data", "fetch", "fma", "--root", "/tmp/x"],
        ["data", "filter", "fma", "--root", "/tmp/x"],
        [
            "data",
            "manifest",
            "a.wav",
            "--out",
            "m.csv",
            "--dataset",
            "d",
            "--split",
            "train",
            "--licence",
            "CC0",
        ],
        ["data", "corpus", "--out", "/tmp/c", "--profile", "ci"],
    ):
        args = parser.parse_args(argv)
        assert callable(args.func)
