"""Per-dataset licence filtering and the licence report."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from a2sb.data.cli import main
from a2sb.data.filtering import (
    Item,
    filter_items,
    licence_lookup,
    licence_report,
    read_jamendo_licences,
    report_table,
    write_report_table,
)
from a2sb.data.registry import load_registry

REG = load_registry()

FMA_TRACKS = """\
,album,album,track,track,track,track
,comments,date_created,bit_rate,duration,license,title
track_id,,,,,,
2,0,2008-11-26,256000,168,Attribution-NonCommercial-ShareAlike 3.0 International,Food
3,0,2008-11-26,256000,237,Attribution,Electric Ave
5,0,2008-11-26,256000,206,,This World
10,0,2008-11-26,192000,161,CC0 1.0 Universal,Freeway
"""

JAMENDO = """\
48/948.mp3
Song A by Artist A from Jamendo: http://www.jamendo.com/track/948
Available under a Creative Commons Attribution license: http://creativecommons.org/licenses/by/3.0/

14/1014.mp3
Song B by Artist B from Jamendo: http://www.jamendo.com/track/1014
Available under a Creative Commons Attribution-NonCommercial-ShareAlike license: http://creativecommons.org/licenses/by-nc-sa/2.0/fr/
"""


def test_fma_tracks_csv_two_row_header(tmp_path):
    raw = tmp_path / "raw"
    (raw / "fma_metadata").mkdir(parents=True)
    (raw / "fma_metadata" / "tracks.csv").write_text(FMA_TRACKS)
    lookup = licence_lookup(REG["fma"], raw)
    assert lookup("fma_full/000/000002.mp3").startswith("Attribution-NonCommercial")
    assert lookup("fma_full/000/000003.mp3") == "Attribution"
    assert lookup("fma_full/000/000005.mp3") is None
    assert lookup("fma_full/999/999999.mp3") is None  # not in the metadata: unknown
    items = [
        Item(f"fma_full/000/{i:06d}.mp3", 100.0, lookup(f"fma_full/000/{i:06d}.mp3"))
        for i in (2, 3, 5, 10)
    ]
    dec = filter_items(REG["fma"], items)
    assert [d.kept for d in dec] == [False, True, False, True]
    assert [d.licence_class for d in dec] == ["NC", "permissive", "unknown", "permissive"]


def test_jamendo_blocks(tmp_path):
    p = tmp_path / "audio_licenses.txt"
    p.write_text(JAMENDO)
    table = read_jamendo_licences(p)
    assert set(table) == {"48/948.mp3", "14/1014.mp3"}
    lookup = licence_lookup(REG["mtg_jamendo"], tmp_path)
    assert "by/3.0" in lookup("48/948.mp3") and "by-nc-sa/2.0/fr" in lookup("14/1014.mp3")


def test_dataset_level_rules():
    items = [Item("a.wav", 3600.0, None), Item("b.wav", 1800.0, None)]
    gtzan = filter_items(REG["gtzan"], items)
    assert not any(d.kept for d in gtzan) and {d.licence_class for d in gtzan} == {"unknown"}
    caps = filter_items(REG["musiccaps"], items)
    assert not any(d.kept for d in caps) and "YouTube" in caps[0].reason
    slakh = filter_items(REG["slakh2100"], [Item("x.flac", 10.0, REG["slakh2100"].licence.licence)])
    assert slakh[0].kept
    maestro_items = [Item("m.wav", 600.0, REG["maestro"].licence.licence)]
    assert not filter_items(REG["maestro"], maestro_items)[0].kept
    research = filter_items(REG["maestro"], maestro_items, research_use=True)[0]
    assert research.kept and research.licence_class == "NC" and "research-use" in research.reason


def test_sampling_plus_switch_in_filtering():
    ds = REG["clap_freesound"]
    item = Item("1.flac", 10.0, "http://creativecommons.org/licenses/sampling+/1.0/")
    assert not filter_items(ds, [item])[0].kept
    assert filter_items(ds, [item], allow_sampling_plus=True)[0].kept


def test_report_counts_items_and_hours_by_reason(tmp_path):
    ds = REG["fma"]
    items = [
        Item("a.mp3", 3600.0, "Attribution"),
        Item("b.mp3", 1800.0, "Attribution-NonCommercial"),
        Item("c.mp3", 1800.0, "Attribution-NonCommercial 3.0 International"),
        Item("d.mp3", 360.0, None),
        Item("e.mp3", None, "Attribution-NoDerivatives 4.0 International"),
    ]
    dec = filter_items(ds, items)
    rep = licence_report(ds, dec)
    assert rep["kept"] == {"items": 1, "hours": 1.0}
    assert rep["dropped"]["items"] == 4 and rep["dropped"]["hours"] == 1.1
    assert rep["dropped_by_class"]["NC"] == {"items": 2, "hours": 1.0}
    assert rep["dropped_by_class"]["unknown"]["items"] == 1 and rep["items_without_duration"] == 1
    assert sum(v["items"] for v in rep["dropped_by_reason"].values()) == 4
    row = report_table([rep])[0]
    assert (row["items_kept"], row["dropped_NC"], row["dropped_ND"], row["dropped_unknown"]) == (
        1,
        2,
        1,
        1,
    )
    write_report_table(tmp_path / "t.csv", [rep])
    write_report_table(tmp_path / "t.md", [rep])
    assert list(csv.DictReader(open(tmp_path / "t.csv")))[0]["dataset"] == "fma"
    assert (tmp_path / "t.md").read_text().startswith("| dataset |")


def test_cli_filter_end_to_end(tmp_path, capsys):
    root = tmp_path / "root"
    raw = root / "toy" / "raw"
    for name in ("keep.wav", "drop.wav", "none.wav"):
        (raw / "audio").mkdir(parents=True, exist_ok=True)
        sf.write(raw / "audio" / name, np.zeros(4410, dtype=np.float32), 44100)
    (raw / "meta.csv").write_text(
        "file,license\nkeep.wav,https://creativecommons.org/licenses/by/4.0/\ndrop.wav,http://creativecommons.org/licenses/by-nc/3.0/\n"
    )
    reg = tmp_path / "reg.yaml"
    reg.write_text(
        yaml.safe_dump(
            {
                "datasets": {
                    "toy": {
                        "title": "toy",
                        "role": "pretrain",
                        "audio_format": {"container": "wav"},
                        "files": [],
                        "license": {
                            "kind": "per_item",
                            "metadata_file": "meta.csv",
                            "format": "csv_column",
                            "key": "file",
                            "field": "license",
                        },
                    }
                }
            }
        )
    )
    assert main(["data", "filter", "toy", "--registry", str(reg), "--root", str(root)]) == 0
    rep = json.loads((root / "toy" / "licence_report.json").read_text())
    assert rep["kept"]["items"] == 1 and rep["dropped"]["items"] == 2
    kept = list(csv.DictReader(open(root / "toy" / "kept.csv")))
    assert [k["path"] for k in kept] == ["audio/keep.wav"]
    assert (root / "licence_report.md").exists()
    # the manifest command takes the kept licences
    out = tmp_path / "m" / "toy_train.csv"
    assert (
        main(
            [
                "data",
                "manifest",
                str(raw / "audio"),
                "--out",
                str(out),
                "--dataset",
                "toy",
                "--split",
                "train",
                "--kept",
                str(root / "toy" / "kept.csv"),
                "--raw-dir",
                str(raw),
                "--no-progress",
            ]
        )
        == 0
    )
    from a2sb.data.manifest import read_dropped, read_manifest

    rows = read_manifest(out)
    assert [r["license_class"] for r in rows] == ["permissive"] and rows[0]["path"].endswith(
        "keep.wav"
    )
    assert len(read_dropped(tmp_path / "m" / "toy_train.dropped.csv")) == 2


def test_items_are_the_mixtures_not_the_stems(tmp_path):
    from a2sb.data.filtering import discover_items

    raw = tmp_path / "raw" / "slakh2100_flac_redux"
    for split in ("train", "validation", "omitted"):
        for name in ("mix.flac", "stems/S00.flac"):
            p = raw / split / "Track00001" / name
            p.parent.mkdir(parents=True, exist_ok=True)
            sf.write(p, np.zeros(441, dtype=np.float32), 44100)
    items = discover_items(REG["slakh2100"], tmp_path / "raw")
    assert [i.path for i in items] == [
        "slakh2100_flac_redux/train/Track00001/mix.flac",
        "slakh2100_flac_redux/validation/Track00001/mix.flac",
    ]
    assert all(i.licence == "CC BY 4.0" and i.duration == pytest.approx(0.01) for i in items)


def test_kaggle_licence_applies_to_the_whole_dataset(tmp_path):
    ds = REG["musical_instrument"]
    (tmp_path / "dataset-metadata.json").write_text(
        json.dumps({"id": "x/y", "licenses": [{"name": "CC0-1.0"}]})
    )
    lookup = licence_lookup(ds, tmp_path)
    assert lookup("Train_submission/Train_submission/a.wav") == "CC0-1.0"
    assert filter_items(ds, [Item("a.wav", 1.0, lookup("a.wav"))])[0].kept
    (tmp_path / "dataset-metadata.json").write_text(
        json.dumps({"id": "x/y", "licenses": [{"name": "other"}]})
    )
    assert not filter_items(ds, [Item("a.wav", 1.0, licence_lookup(ds, tmp_path)("a.wav"))])[0].kept


def test_the_datasets_own_splits_reach_the_manifest(tmp_path):
    """MAESTRO names each recording's split in its csv (registry ``splits``): the filter keeps it
    in kept.csv and the manifest uses it, so the research-use run trains on ``train`` only."""
    root = tmp_path / "root"
    raw = root / "toy" / "raw"
    for year, name in (("2004", "a.wav"), ("2006", "b.wav"), ("2018", "c.wav")):
        (raw / "toy-v1" / year).mkdir(parents=True, exist_ok=True)
        sf.write(raw / "toy-v1" / year / name, np.zeros(4410, dtype=np.float32), 44100)
    (raw / "toy.csv").write_text(
        "split,audio_filename\ntrain,2004/a.wav\nvalidation,2006/b.wav\ntest,2018/c.wav\n"
    )
    entry = {
        "title": "toy",
        "role": "test",
        "audio_format": {"container": "wav"},
        "files": [],
        "license": {"kind": "dataset", "license": "CC BY-NC-SA 4.0"},
        "research_use_only": True,
        "splits": {"metadata_file": "toy.csv", "key": "audio_filename", "field": "split"},
    }
    reg = tmp_path / "reg.yaml"
    reg.write_text(yaml.safe_dump({"datasets": {"toy": entry}}))
    assert load_registry(reg)["toy"].splits.field == "split"
    args = ["data", "filter", "toy", "--registry", str(reg), "--root", str(root)]
    assert main([*args, "--research-use"]) == 0
    kept = {k["path"]: k["split"] for k in csv.DictReader(open(root / "toy" / "kept.csv"))}
    assert kept == {"toy-v1/2004/a.wav": "train", "toy-v1/2006/b.wav": "validation",
                    "toy-v1/2018/c.wav": "test"}  # fmt: skip
    out = tmp_path / "toy.csv"
    assert main(["data", "manifest", str(raw), "--out", str(out), "--dataset", "toy", "--split",
                 "test", "--kept", str(root / "toy" / "kept.csv"), "--raw-dir", str(raw),
                 "--all-classes", "--no-progress"]) == 0  # fmt: skip
    from a2sb.data.manifest import read_manifest

    splits = {Path(r["path"]).name: r["split"] for r in read_manifest(out)}
    assert splits == {"a.wav": "train", "b.wav": "validation", "c.wav": "test"}
    bad = {**entry, "splits": {"metadata_file": "toy.csv", "key": "audio_filename"}}
    reg.write_text(yaml.safe_dump({"datasets": {"toy": bad}}))
    with pytest.raises(Exception, match="splits must be"):
        load_registry(reg)
