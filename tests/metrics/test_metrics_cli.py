"""``python -m metrics evaluate`` and ``aggregate`` on small folders with bad inputs."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
import soundfile as sf
import soxr

from metrics import lsd, mean_ci
from metrics.aggregate import aggregate_rows
from metrics.cli import main
from metrics.evaluate import pair_files
from metrics.synthetic import example_score, music_like, render_piano, write_midi

SR = 44100
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture()
def folders(tmp_path: Path) -> tuple[Path, Path, np.ndarray]:
    """Reference and estimate folders: an ok item (48 kHz and longer), a missing estimate, a
    corrupt one, one with NaN, a silent one, and a FLAC estimate for a WAV reference."""
    ref_dir, est_dir = tmp_path / "ref", tmp_path / "est"
    (ref_dir / "sub").mkdir(parents=True)
    (est_dir / "sub").mkdir(parents=True)
    x = music_like(1.5, SR, seed=7)
    rng = np.random.default_rng(0)
    for name in ["a.wav", "sub/b.wav", "c.wav", "d.wav", "e.wav", "f.wav"]:
        sf.write(ref_dir / name, x, SR, subtype="FLOAT")
    noisy = x + 0.01 * rng.standard_normal(x.shape)
    noisy48 = np.concatenate([soxr.resample(noisy, SR, 48000), np.zeros(960)])
    sf.write(est_dir / "a.wav", noisy48, 48000, subtype="FLOAT")
    (est_dir / "c.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(100))
    nan = noisy.copy()
    nan[100] = np.nan
    sf.write(est_dir / "d.wav", nan, SR, subtype="FLOAT")
    sf.write(est_dir / "e.wav", np.zeros_like(x), SR, subtype="FLOAT")
    sf.write(est_dir / "f.flac", noisy, SR, subtype="PCM_24")
    sf.write(est_dir / "orphan.wav", x, SR)
    return ref_dir, est_dir, x


def test_pairing_by_relative_path(folders: tuple[Path, Path, np.ndarray]) -> None:
    ref_dir, est_dir, _ = folders
    pairs, orphans = pair_files(ref_dir, est_dir)
    by_item = {p.item: p for p in pairs}
    assert sorted(by_item) == ["a.wav", "c.wav", "d.wav", "e.wav", "f.wav", "sub/b.wav"]
    assert by_item["sub/b.wav"].estimate is None
    assert "missing estimate" in by_item["sub/b.wav"].problem
    assert by_item["f.wav"].estimate == est_dir / "f.flac"
    assert orphans == [est_dir / "orphan.wav"]


def test_evaluate_and_aggregate(folders: tuple[Path, Path, np.ndarray], tmp_path: Path) -> None:
    ref_dir, est_dir, x = folders
    out = tmp_path / "results" / "per_item.csv"
    argv = ["evaluate", "--reference", str(ref_dir), "--estimate", str(est_dir)]
    argv += ["--metrics", "lsd,sispec", "--tag", "method=test", "--tag", "setting=4kHz"]
    assert main(argv + ["--out", str(out), "--quiet"]) == 0
    rows = _read(out)
    assert list(rows[0])[:4] == ["method", "setting", "item", "metric"]
    assert len(rows) == 12 and {r["method"] for r in rows} == {"test"}
    get = {(r["item"], r["metric"]): r for r in rows}

    ok = get[("a.wav", "lsd")]
    assert ok["status"] == "ok" and ok["error"] == ""
    assert "resampled estimate 48000->44100 Hz" in ok["notes"]
    assert f"trimmed estimate from {len(x) + 882} to {len(x)} samples" in ok["notes"]
    assert 0 < float(ok["value"]) < 3
    assert float(get[("a.wav", "sispec")]["value"]) > 10

    for metric in ("lsd", "sispec"):
        assert get[("sub/b.wav", metric)]["status"] == "error"
        assert "missing estimate" in get[("sub/b.wav", metric)]["error"]
        # file errors are a2sb.io's one-line messages, starting with the file name
        assert get[("c.wav", metric)]["error"].startswith(f"{est_dir / 'c.wav'}: not a readable")
        assert (
            get[("d.wav", metric)]["error"]
            == f"{est_dir / 'd.wav'}: audio holds 1 NaN or Inf samples"
        )

    silent_lsd, silent_sispec = get[("e.wav", "lsd")], get[("e.wav", "sispec")]
    assert silent_lsd["status"] == "ok" and np.isfinite(float(silent_lsd["value"]))
    assert silent_sispec["status"] == "undefined" and silent_sispec["value"] == ""
    assert "estimate is silent" in silent_sispec["error"]
    assert "estimate is silent" in silent_sispec["notes"]

    noisy_flac, _ = sf.read(est_dir / "f.flac")
    assert float(get[("f.wav", "lsd")]["value"]) == pytest.approx(lsd(x, noisy_flac, SR))

    summary_path = tmp_path / "summary.csv"
    assert main(["aggregate", str(out), "--by", "method,setting", "--out", str(summary_path)]) == 0
    summary = {r["metric"]: r for r in _read(summary_path)}
    assert set(summary) == {"lsd", "sispec"}
    assert summary["lsd"]["n"] == "3" and summary["lsd"]["n_failed"] == "3"
    assert summary["sispec"]["n"] == "2" and summary["sispec"]["n_undefined"] == "1"
    assert summary["sispec"]["n_failed"] == "3"
    values = [float(get[(i, "lsd")]["value"]) for i in ("a.wav", "e.wav", "f.wav")]
    assert float(summary["lsd"]["mean"]) == pytest.approx(np.mean(values))
    assert float(summary["lsd"]["std"]) == pytest.approx(np.std(values, ddof=1))
    assert "student-t" in summary["lsd"]["ci_method"]
    assert not list(out.parent.glob(".*"))  # atomic write left no temporary file


def test_evaluate_parallel_matches_serial(
    folders: tuple[Path, Path, np.ndarray], tmp_path: Path
) -> None:
    ref_dir, est_dir, _ = folders
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}.csv"
        argv = ["evaluate", "--reference", str(ref_dir), "--estimate", str(est_dir), "--quiet"]
        assert main(argv + ["--metrics", "lsd", "--jobs", jobs, "--out", str(out)]) == 0
        outs.append([{k: v for k, v in r.items() if k != "seconds"} for r in _read(out)])
    assert outs[0] == outs[1]


def test_evaluate_visqol_and_midi_f1(tmp_path: Path) -> None:
    pytest.importorskip("basic_pitch")
    notes = [n for n in example_score(seed=0) if n.end <= 4.0]
    audio = render_piano(notes, SR, duration_s=4.0)
    for sub in ("ref", "est", "midi"):
        (tmp_path / sub).mkdir()
    sf.write(tmp_path / "ref" / "p.wav", audio, SR, subtype="FLOAT")
    sf.write(tmp_path / "est" / "p.wav", audio, SR, subtype="FLOAT")
    sf.write(tmp_path / "ref" / "q.wav", audio, SR, subtype="FLOAT")  # no MIDI for q
    sf.write(tmp_path / "est" / "q.wav", audio, SR, subtype="FLOAT")
    write_midi(notes, tmp_path / "midi" / "p.mid")
    out = tmp_path / "per_item.csv"
    argv = ["evaluate", "--reference", str(tmp_path / "ref"), "--estimate", str(tmp_path / "est")]
    argv += ["--metrics", "visqol,midi_f1", "--midi", str(tmp_path / "midi"), "--quiet"]
    assert main(argv + ["--out", str(out)]) == 0
    get = {(r["item"], r["metric"]): r for r in _read(out)}
    assert float(get[("p.wav", "visqol")]["value"]) == pytest.approx(4.732, abs=1e-3)
    assert float(get[("p.wav", "midi_f1")]["value"]) >= 0.6
    assert "missing reference MIDI" in get[("q.wav", "midi_f1")]["error"]


def test_evaluate_command_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["evaluate", "--reference", str(tmp_path / "nope"), "--estimate", str(tmp_path)]
    assert main(argv + ["--out", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("metrics: error: ") and "reference folder not found" in err
    assert main(argv + ["--metrics", "lsd,pesq", "--out", "x.csv"]) == 2
    assert "unknown metric" in capsys.readouterr().err
    assert main(argv + ["--metrics", "midi_f1", "--out", "x.csv"]) == 2
    assert "--midi" in capsys.readouterr().err
    assert main(argv + ["--tag", "item=x", "--out", "x.csv"]) == 2
    assert main(["aggregate", str(tmp_path / "none.csv"), "--out", "s.csv"]) == 2
    assert main(["--help"]) == 0


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--sample-rate", "-8000"], "--sample-rate -8000: out of range"),
        (["--sample-rate", "100000000"], "--sample-rate 100000000: out of range"),
        (["--jobs", "0"], "--jobs 0: out of range"),
    ],
)
def test_evaluate_refuses_options_out_of_range_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: list[str], message: str
) -> None:
    """Issue 23: a negative or absurd rate used to write a CSV of error rows with exit 0."""
    for sub in ("ref", "est"):
        (tmp_path / sub).mkdir()
        sf.write(tmp_path / sub / "a.wav", np.zeros(4410, dtype=np.float32), SR)
    out = tmp_path / "x.csv"
    argv = ["evaluate", "--reference", str(tmp_path / "ref"), "--estimate", str(tmp_path / "est")]
    assert main([*argv, *option, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("metrics: error: ") and message in err and "\n" not in err
    assert not out.exists()


def test_outputs_that_cannot_be_created_are_refused_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ref").mkdir()
    (tmp_path / "afile").write_text("x")
    argv = ["evaluate", "--reference", str(tmp_path / "ref"), "--estimate", str(tmp_path / "ref")]
    assert main([*argv, "--out", str(tmp_path / "afile" / "x.csv")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert main([*argv, "--out", str(tmp_path / "ref")]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert main(["aggregate", str(tmp_path / "afile"), "--out", str(tmp_path / "ref")]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_aggregate_rejects_unknown_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    per_item = tmp_path / "p.csv"
    per_item.write_text("item,metric,value,status\na,lsd,1.0,ok\n")
    assert (
        main(["aggregate", str(per_item), "--by", "method", "--out", str(tmp_path / "s.csv")]) == 2
    )
    assert "method" in capsys.readouterr().err


def test_mean_ci_hand_checked() -> None:
    stats = mean_ci([1.0, 2.0, 3.0, 4.0])
    std = np.sqrt(5 / 3)
    half = scipy.stats.t.ppf(0.975, 3) * std / 2
    assert stats["mean"] == pytest.approx(2.5) and stats["std"] == pytest.approx(std)
    assert stats["ci95_halfwidth"] == pytest.approx(half)
    assert half == pytest.approx(3.182446 * std / 2, rel=1e-6)
    assert stats["ci95_low"] == pytest.approx(2.5 - half)
    single = mean_ci([7.0])
    assert single["mean"] == 7.0 and single["std"] is None and single["ci95_low"] is None


def test_aggregate_groups_and_counts() -> None:
    rows = [
        {"method": m, "metric": "lsd", "value": v, "status": s}
        for m, v, s in [
            ("a", "1.0", "ok"),
            ("a", "3.0", "ok"),
            ("a", "", "error"),
            ("b", "2.0", "ok"),
            ("b", "", "undefined"),
            ("b", "nan", "ok"),
        ]
    ]
    summary = {r["method"]: r for r in aggregate_rows(rows, ["method"])}
    assert summary["a"]["mean"] == "2.0" and summary["a"]["n"] == "2"
    assert summary["a"]["n_failed"] == "1"
    assert summary["b"]["n"] == "1" and summary["b"]["n_undefined"] == "1"
    assert summary["b"]["n_failed"] == "1" and summary["b"]["ci95_low"] == ""


def test_module_entry_point(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "metrics", "aggregate", "--help"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
    )
    assert result.returncode == 0 and "--by" in result.stdout


def test_import_does_not_load_torch() -> None:
    """metrics uses only the torch-free parts of a2sb (a2sb.io, a2sb.errors, a2sb.tasks)."""
    code = "import sys, metrics, metrics.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
