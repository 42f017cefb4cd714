"""The offline corpus (ci profile): sets, manifests, MIDI, high-frequency content, determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from a2sb.data.corpus.build import PROFILES, build_corpus
from a2sb.data.corpus.midi import MidiNote, read_midi, write_midi
from a2sb.data.corpus.scores import SET_NAMES, pools
from a2sb.data.manifest import read_manifest


@pytest.fixture(scope="module")
def ci_corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    report = build_corpus(out, "ci", seed=0, progress=False)
    return out, report


def test_pools_are_disjoint():
    p = pools()
    assert set(p) == set(SET_NAMES)
    seen: dict[str, str] = {}
    for name, files in p.items():
        assert files, name
        for f in files:
            assert f not in seen, f"{f} in {seen.get(f)} and {name}"
            seen[f] = name


def test_all_sets_present_with_manifests(ci_corpus):
    out, report = ci_corpus
    assert set(report["sets"]) == set(SET_NAMES)
    for s in SET_NAMES:
        rows = read_manifest(out / "manifests" / f"{s}.csv", resolve_paths=True)
        spec = PROFILES["ci"][s]
        assert len(rows) == report["sets"][s]["items"] >= 2
        assert {r["dataset"] for r in rows} == {f"offline-{s}"} and {r["split"] for r in rows} == {
            spec.split
        }
        assert {r["license_class"] for r in rows} == {"permissive"}
        for r in rows:
            info = sf.info(r["path"])
            assert info.samplerate == 44100 and info.channels == 1 and info.subtype == "PCM_16"
            assert r["duration"] == pytest.approx(info.duration)
        if spec.split == "test":
            assert all(10.0 < r["duration"] <= 12.0 for r in rows)
    assert report["sets"]["train"]["total_seconds"] >= 120.0
    assert json.loads((out / "corpus_report.json").read_text())["profile"] == "ci"


def test_high_frequency_content(ci_corpus):
    _, report = ci_corpus
    mix = report["sets"]["test_ccmixter"]
    assert (
        mix["energy_share_above_12k"] > 0.001
        and mix["energy_share_above_8k"] > mix["energy_share_above_12k"]
    )
    assert all(report["sets"][s]["energy_share_above_12k"] > 0 for s in SET_NAMES)
    assert all(it["drums"] for it in mix["item_list"])


def test_piano_set_has_ground_truth_midi(ci_corpus):
    out, report = ci_corpus
    for it in report["sets"]["test_maestro"]["item_list"]:
        assert set(it["timbres"]) == {"piano"} and it["drums"] is None
        notes = read_midi(out / "midi" / "test_maestro" / f"{it['name']}.mid")
        assert len(notes) > 20
        assert all(
            21 <= n.pitch <= 108 and 0 <= n.onset < n.offset <= it["seconds"] + 1e-3 for n in notes
        )
        assert {n.channel for n in notes} != {9}


def test_no_score_is_shared_between_train_and_tests(ci_corpus):
    _, report = ci_corpus
    scores = {s: {it["score"] for it in report["sets"][s]["item_list"]} for s in SET_NAMES}
    for t in ("valid", "test_aam", "test_ccmixter", "test_mtd", "test_maestro"):
        assert not scores["train"] & scores[t]


def test_same_seed_gives_identical_files(ci_corpus, tmp_path):
    out, _ = ci_corpus
    subset = ["test_maestro", "test_ccmixter"]
    build_corpus(tmp_path, "ci", seed=0, sets=subset, progress=False)
    for s in subset:
        a = [r["sha256"] for r in read_manifest(out / "manifests" / f"{s}.csv")]
        b = [r["sha256"] for r in read_manifest(tmp_path / "manifests" / f"{s}.csv")]
        assert a == b
        for name in (out / "midi" / s).iterdir():
            assert name.read_bytes() == (tmp_path / "midi" / s / name.name).read_bytes()
    build_corpus(tmp_path / "other", "ci", seed=1, sets=["test_maestro"], progress=False)
    a = [r["sha256"] for r in read_manifest(out / "manifests" / "test_maestro.csv")]
    c = [r["sha256"] for r in read_manifest(tmp_path / "other" / "manifests" / "test_maestro.csv")]
    assert not set(a) & set(c)


def test_midi_roundtrip(tmp_path):
    notes = [MidiNote(0.0, 0.5, 60, 100), MidiNote(0.25, 1.0, 64, 80), MidiNote(1.0, 1.5, 60, 90)]
    write_midi(
        tmp_path / "x.mid",
        [("piano", 0, 0, notes), ("drums", -1, 9, [MidiNote(0.5, 0.6, 36, 127, 9)])],
        bpm=97.0,
    )
    back = read_midi(tmp_path / "x.mid")
    assert [(n.pitch, n.channel) for n in back] == [(60, 0), (64, 0), (36, 9), (60, 0)]
    for a, b in zip([n for n in back if n.channel == 0], notes):
        assert (
            abs(a.onset - b.onset) < 2e-3
            and abs(a.offset - b.offset) < 2e-3
            and a.velocity == b.velocity
        )


def test_fluidsynth_renderer_is_optional(tmp_path, monkeypatch):
    from a2sb.errors import InputError

    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(InputError, match="fluidsynth is not installed"):
        build_corpus(tmp_path, "ci", sets=["test_maestro"], renderer="fluidsynth", progress=False)


def test_audio_is_not_silent_or_clipped(ci_corpus):
    out, _ = ci_corpus
    for wav in sorted((out / "audio").rglob("*.wav"))[:6]:
        x, _ = sf.read(wav)
        peak = np.max(np.abs(x))
        assert 0.6 < peak < 0.9 and np.sqrt(np.mean(x**2)) > 0.01
