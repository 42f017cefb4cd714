"""Manifests (atomic, validated, dropped lists) and the true-bandwidth estimate."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import soxr
from hypothesis import given, settings
from hypothesis import strategies as st

from a2sb.data.bandwidth import energy_share_above, estimate_true_sr
from a2sb.data.cli import main
from a2sb.data.manifest import (
    COLUMNS,
    build_manifest,
    dropped_path,
    read_dropped,
    read_manifest,
    write_manifest,
)
from a2sb.errors import InputError

SR = 44100


def _noise(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


def _row(**kw):
    row = {
        "dataset": "toy",
        "split": "train",
        "path": "a.wav",
        "duration": 1.5,
        "sample_rate": SR,
        "channels": 1,
        "estimated_true_sr": 32000.0,
        "license": "CC BY 4.0",
        "license_class": "permissive",
        "sha256": "ab" * 32,
    }
    row.update(kw)
    return row


def test_roundtrip_and_column_order(tmp_path):
    p = tmp_path / "m" / "toy_train.csv"
    write_manifest(p, [_row(), _row(path="b.wav", license="CC BY 4.0, with a comma")])
    assert p.read_text().splitlines()[0] == ",".join(COLUMNS)
    rows = read_manifest(p)
    assert rows[1]["license"] == "CC BY 4.0, with a comma" and rows[0]["sample_rate"] == SR
    assert read_manifest(p, resolve_paths=True)[0]["path"] == str(
        (tmp_path / "m" / "a.wav").resolve()
    )
    assert sorted(x.name for x in p.parent.iterdir()) == ["toy_train.csv"]  # no temp file left


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (_row(sha256="xyz"), "row 2: sha256"),
        (_row(duration="abc"), "row 2: bad number"),
        (_row(estimated_true_sr=50000), "row 2: estimated_true_sr"),
        (_row(license_class="maybe"), "row 2: license_class"),
    ],
)
def test_read_errors_name_file_and_row(tmp_path, row, message):
    p = tmp_path / "bad.csv"
    lines = [",".join(COLUMNS), ",".join(str(row[c]) for c in COLUMNS)]
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=message) as err:
        read_manifest(p)
    assert str(p) in str(err.value) and "\n" not in str(err.value)


def test_bad_header_and_write_validation(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("split,path,duration\ntrain,a.wav,1\n")
    with pytest.raises(InputError, match="header must be"):
        read_manifest(p)
    with pytest.raises(InputError, match="row 1: duration must be > 0"):
        write_manifest(tmp_path / "x.csv", [_row(duration=0)])
    assert not (tmp_path / "x.csv").exists()


def test_build_manifest_drops_corrupt_and_empty_audio(tmp_path):
    audio = tmp_path / "audio"
    audio.mkdir()
    sf.write(audio / "good.wav", _noise(), SR)
    lowpassed = soxr.resample(soxr.resample(_noise(seed=1), SR, 16000), 16000, SR)
    sf.write(audio / "narrow.flac", lowpassed, SR, subtype="PCM_16")
    (audio / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt garbage" + bytes(range(200)))
    (audio / "empty.wav").write_bytes(b"")
    sf.write(audio / "zero.wav", np.zeros(0, dtype=np.float32), SR)
    out = tmp_path / "manifests" / "toy_train.csv"
    files = sorted(audio.iterdir())
    rows, dropped = build_manifest(
        out, files, dataset="toy", split="train", licence="CC BY 4.0", progress=False
    )
    assert sorted(r["path"] for r in rows) == ["../audio/good.wav", "../audio/narrow.flac"]
    reasons = dict(read_dropped(dropped_path(out)))
    assert set(reasons) == {"../audio/corrupt.wav", "../audio/empty.wav", "../audio/zero.wav"}
    assert (
        "empty file" in reasons["../audio/empty.wav"]
        and "corrupt" in reasons["../audio/corrupt.wav"]
    )
    assert "0 samples" in reasons["../audio/zero.wav"]
    by = {r["path"]: r for r in read_manifest(out)}
    assert by["../audio/good.wav"]["estimated_true_sr"] == SR
    assert abs(by["../audio/narrow.flac"]["estimated_true_sr"] - 16000) < 800
    assert by["../audio/good.wav"]["duration"] == pytest.approx(2.0)


def test_build_manifest_keeps_only_permissive_unless_told(tmp_path):
    sf.write(tmp_path / "a.wav", _noise(0.5), SR)
    rows, dropped = build_manifest(
        tmp_path / "m.csv",
        [tmp_path / "a.wav"],
        dataset="maestro",
        split="train",
        licence="CC BY-NC-SA 4.0",
        progress=False,
    )
    assert rows == [] and "licence class NC" in dropped[0][1]
    rows, _ = build_manifest(
        tmp_path / "m.csv",
        [tmp_path / "a.wav"],
        dataset="maestro",
        split="train",
        licence="CC BY-NC-SA 4.0",
        allowed_classes=None,
        progress=False,
    )
    assert rows[0]["license_class"] == "NC"


def test_cli_manifest(tmp_path, capsys):
    sf.write(tmp_path / "a.wav", _noise(0.5), SR)
    out = tmp_path / "x.csv"
    assert (
        main(
            [
                "data",
                "manifest",
                str(tmp_path / "a.wav"),
                "--out",
                str(out),
                "--dataset",
                "d",
                "--split",
                "valid",
                "--licence",
                "CC0 1.0",
                "--no-progress",
            ]
        )
        == 0
    )
    assert read_manifest(out)[0]["split"] == "valid"
    assert (
        main(
            [
                "data",
                "manifest",
                str(tmp_path / "missing"),
                "--out",
                str(out),
                "--dataset",
                "d",
                "--split",
                "valid",
                "--license",
                "CC0",
            ]
        )
        == 2
    )
    assert capsys.readouterr().err.strip().startswith("a2sb: error:")


# ------------------------------------------------------------------ bandwidth


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 32000])
def test_estimate_true_sr_of_resampled_noise(rate):
    x = soxr.resample(soxr.resample(_noise(seed=2), SR, rate), rate, SR)
    assert estimate_true_sr(x, SR) == pytest.approx(rate, rel=0.05)


def test_estimate_true_sr_edges():
    assert estimate_true_sr(_noise(), SR) == SR
    assert estimate_true_sr(np.zeros(5000), SR) == 0.0 and estimate_true_sr(np.zeros(0), SR) == 0.0
    x = _noise()
    stereo = np.stack([x, x], axis=1)
    assert estimate_true_sr(stereo, SR) == estimate_true_sr(x, SR)
    assert energy_share_above(x, SR, 12000.0) == pytest.approx(
        (SR / 2 - 12000) / (SR / 2), abs=0.03
    )


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 6000), scale=st.floats(0, 10), seed=st.integers(0, 100))
def test_estimate_true_sr_is_within_range(n, scale, seed):
    x = scale * np.random.default_rng(seed).standard_normal(n)
    est = estimate_true_sr(x, SR)
    assert 0.0 <= est <= SR
