"""The stereo test set (issue 20): the maker's three designs (panned pair with the designed level
difference, centred source in a decorrelated room, centred mono with identical channels), the
per-channel LSD/SiSpec metrics, and the stereo table and figure builders."""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from a2sb.io.audio import read_audio, write_audio
from metrics.evaluate import evaluate_dirs
from reports.stereo import build_table
from reports.stereo import main as stereo_main

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "workflow" / "scripts" / "make_stereo_testset.py"
RATE = 16000


def maker():
    spec = importlib.util.spec_from_file_location("make_stereo_testset", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tone_sets(root: Path) -> list[Path]:
    """Three mono 'test sets' of two items each; set s holds tones at 500 * (s + 1) Hz."""
    t = np.arange(int(1.2 * RATE)) / RATE
    folders = []
    for s in range(3):
        folder = root / f"set{s}"
        for i in range(2):
            x = 0.5 * np.sin(2 * np.pi * (500 * (s + 1) + 7 * i) * t)
            write_audio(folder / "audio" / f"item{i}.wav", x.astype(np.float32), RATE, "FLOAT")
        folders.append(folder)
    return folders


def band_level_db(x: np.ndarray, f: float) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / RATE)
    return float(20 * np.log10(np.sum(spec[np.abs(freqs - f) < 30])))


def test_pan_law_gives_the_designed_ild() -> None:
    m = maker()
    x = np.random.default_rng(0).standard_normal(1000)
    y = m.pan(x, -m.PAN)
    ild = 20 * np.log10(np.linalg.norm(y[:, 0]) / np.linalg.norm(y[:, 1]))
    assert abs(ild - m.pan_ild_db(-m.PAN)) < 1e-9 and ild > 9  # left louder, by design
    assert np.allclose(np.sum(y**2, axis=1), x**2)  # constant power
    assert abs(m.pan_ild_db(0.0)) < 1e-12


def test_stereo_set_designs(tmp_path: Path) -> None:
    m = maker()
    folders = tone_sets(tmp_path)
    out = tmp_path / "Stereo"
    res = subprocess.run([sys.executable, str(SCRIPT), "--in", *map(str, folders), "--out",
                          str(out), "--items", "3", "--seconds", "1.0", "--seed", "0",
                          "--licence", "test licence"], capture_output=True, text=True)  # fmt: skip
    assert res.returncode == 0, res.stderr
    with open(out / "items.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["design"] for r in rows] == ["panned", "room", "centred"]
    assert all(r["licence"] == "test licence" and r["seconds"] == "1.0" for r in rows)
    audio = {r["design"]: read_audio(out / "audio" / r["item"]) for r in rows}
    for x, rate in audio.values():
        assert x.shape == (2, RATE) and rate == RATE
    # panned: the first source (set0, 500 Hz) left, the second (set1, 1000 Hz) right, each
    # with the pan law's level difference
    x, _ = audio["panned"]
    design = m.pan_ild_db(-m.PAN)
    ild_a = band_level_db(x[0], 500) - band_level_db(x[1], 500)
    ild_b = band_level_db(x[0], 1000) - band_level_db(x[1], 1000)
    assert abs(ild_a - design) < 0.5 and abs(ild_b + design) < 0.5
    # room: same source on both channels but decorrelated reverb: correlated, not identical
    x, _ = audio["room"]
    rho = np.corrcoef(x[0], x[1])[0, 1]
    assert 0.2 < rho < 0.999
    # centred: identical channels
    x, _ = audio["centred"]
    assert np.array_equal(x[0], x[1]) and np.any(x[0])
    # seeded: the same call gives the same files
    again = tmp_path / "again"
    m.make(folders, again, 3, 1.0, 0, "test licence")
    for r in rows:
        assert np.array_equal(read_audio(again / "audio" / r["item"])[0],
                              read_audio(out / "audio" / r["item"])[0])  # fmt: skip


def test_per_channel_lsd_and_sispec(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    ref = rng.standard_normal((RATE, 2)).astype(np.float32) * 0.1
    est = ref.copy()
    est[:, 1] = rng.standard_normal(RATE) * 0.1  # right channel wrong, left exact
    write_audio(tmp_path / "ref" / "a.wav", ref.T, RATE, "FLOAT")
    write_audio(tmp_path / "est" / "a.wav", est.T, RATE, "FLOAT")
    rows = evaluate_dirs(tmp_path / "ref", tmp_path / "est",
                         metrics=["lsd_left", "lsd_right", "sispec_left", "sispec_right"])  # fmt: skip
    v = {r["metric"]: float(r["value"]) for r in rows if r["status"] == "ok"}
    assert set(v) == {"lsd_left", "lsd_right", "sispec_left", "sispec_right"}
    assert v["lsd_left"] < 1e-6 < 0.5 < v["lsd_right"]
    assert v["sispec_left"] > 50 > v["sispec_right"]
    # a mono estimate: the per-channel metrics are undefined rows, not a crash
    write_audio(tmp_path / "mono" / "a.wav", est[:, 0], RATE, "FLOAT")
    rows = evaluate_dirs(tmp_path / "ref", tmp_path / "mono", metrics=["lsd_left"])
    assert rows[0]["status"] in ("undefined", "error") and rows[0]["value"] == ""


def summary_frame() -> pd.DataFrame:
    rows = []
    for setting, methods in (("300ms", ["burg", "a2sb_p1"]), ("4kHz", ["sbr", "degraded"])):
        for i, method in enumerate(methods):
            for metric, mean in (("lsd_left", 1.0 + i), ("icc_err", 0.1 * (i + 1))):
                rows.append({"task": "x", "dataset": "Stereo", "setting": setting,
                             "method": method, "metric": metric, "mean": mean, "n": 3})  # fmt: skip
    return pd.DataFrame(rows)


def test_stereo_table_rows_and_notes(tmp_path: Path) -> None:
    table = build_table(summary_frame())
    # bandwidth extension first, methods in registry order (degraded input before SBR)
    assert [i.split(" · ")[0] for i in table.index] == ["4kHz", "4kHz", "300ms", "300ms"]
    assert "Degraded" in table.index[0] and "SBR" in table.index[1]
    assert list(table.columns) == ["LSD L ↓", "ICC err ↓"]
    assert table.iloc[0].tolist() == ["2.000", "0.200"]  # degraded: the second row given
    summary = tmp_path / "summary.csv"
    summary_frame().to_csv(summary, index=False)
    prefix = tmp_path / "tables" / "stereo"
    assert stereo_main(["table", "--summary", str(summary), "--out-prefix", str(prefix),
                        "--not-run", "a2sb_p2=only the no-partition row"]) == 0  # fmt: skip
    md = prefix.with_suffix(".md").read_text()
    assert "not in this table: only the no-partition row" in md
    assert "Provenance: provenance: not recorded" in md and "Mean over 3 stereo items" in md
    assert prefix.with_suffix(".tex").is_file() and prefix.with_suffix(".csv").is_file()


def test_stereo_figure(tmp_path: Path) -> None:
    rows = []
    for method in ("sbr", "a2sb_p1"):
        for b, (lo, hi) in enumerate(((4000, 5000), (5000, 6300), (6300, 8000))):
            rows.append({"method": method, "item": "i", "low_hz": lo, "high_hz": hi,
                         "active": b < 2, "icc_ref": 0.5, "icc_est": 0.9, "ild_ref": 0.0,
                         "ild_est": 0.0})  # fmt: skip
    bands = tmp_path / "bands.csv"
    pd.DataFrame(rows).to_csv(bands, index=False)
    stem = tmp_path / "fig"
    assert stereo_main(["figure", "--bands", str(bands), "--setting", "4kHz",
                        "--out-stem", str(stem)]) == 0  # fmt: skip
    assert (tmp_path / "fig.png").stat().st_size > 1000 and (tmp_path / "fig.pdf").is_file()
    pd.DataFrame([{**r, "active": False} for r in rows]).to_csv(bands, index=False)
    assert stereo_main(["figure", "--bands", str(bands), "--setting", "4kHz",
                        "--out-stem", str(stem)]) == 1  # fmt: skip


def test_evaluate_group_stereo_region(tmp_path: Path) -> None:
    """--stereo-region: above the cutoff of a kHz setting, inside the setting's gaps for ms."""
    from metrics.degradations import write_gaps_json

    rng = np.random.default_rng(2)
    ref = (rng.standard_normal((2 * RATE, 2)) * 0.1).astype(np.float32)
    write_audio(tmp_path / "ref" / "a.wav", ref.T, RATE, "FLOAT")
    for setting in ("4kHz", "300ms"):
        write_audio(tmp_path / "est" / setting / "a.wav", ref.T, RATE, "FLOAT")
    write_gaps_json(tmp_path / "deg" / "300ms" / "a.wav", [(0.5, 0.8)], 300, RATE)
    out = tmp_path / "per_item.csv"
    res = subprocess.run([sys.executable, str(ROOT / "workflow" / "scripts" / "evaluate_group.py"),
                          "--reference", str(tmp_path / "ref"), "--estimate", str(tmp_path / "est"),
                          "--settings", "4kHz,300ms", "--metrics", "icc_err,lsd_left",
                          "--stereo-region", str(tmp_path / "deg"), "--out", str(out)],
                         capture_output=True, text=True)  # fmt: skip
    assert res.returncode == 0, res.stderr
    rows = {(r["setting"], r["metric"]): r for r in csv.DictReader(out.read_text().splitlines())}
    assert all(r["status"] == "ok" for r in rows.values()), rows
    assert "above 4000 Hz" in rows["4kHz", "icc_err"]["notes"]
    assert "1 gap(s)" in rows["300ms", "icc_err"]["notes"]
    assert float(rows["300ms", "lsd_left"]["value"]) < 1e-6


def test_stereo_mode_candidates_are_rows_with_a_note(tmp_path: Path) -> None:
    """The no-partition model in the other stereo modes: rows after the A2SB row, and a note that
    says which mode the A2SB row itself uses."""
    from a2sb.stereo import DEFAULT_STEREO_MODE
    from reports.stereo import mode_notes

    frame = summary_frame()
    extra = frame[frame["method"] == "a2sb_p1"].assign(method="a2sb_p1_mid_side")
    table = build_table(pd.concat([frame, extra]))
    labels = [i.split(" · ")[1] for i in table.index if i.startswith("300ms")]
    assert labels == ["Burg AR, classical (ours)", "A2SB (no partitioning)",
                      "A2SB (no partitioning), mid/side"]  # fmt: skip
    (note,) = mode_notes({"a2sb_p1", "a2sb_p1_mid_side"})
    assert f"default mode ({DEFAULT_STEREO_MODE})" in note and "mid/side" in note
    assert mode_notes({"a2sb_p1", "sbr"}) == []


def test_the_default_run_restores_the_stereo_set_in_every_candidate_mode() -> None:
    """Default profile: one job per candidate mode other than the default and task, from the
    no-partition model, each passing its registry stereo mode to a2sb.restore."""
    from a2sb.stereo import DEFAULT_STEREO_MODE
    from baselines.registry import stereo_candidates

    res = subprocess.run([sys.executable, "-m", "snakemake", "results/default/tables/stereo.md",
                          "-n", "--cores", "1", "-p", "--configfile", "config/config.yaml"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    wanted = [m for m in stereo_candidates() if m.stereo_mode != DEFAULT_STEREO_MODE]
    assert len(wanted) == 4
    for m in wanted:
        for task in ("bandwidth_extension", "inpainting"):
            assert f"results/default/restored/{m.name}/Stereo/{task}" in res.stdout
            assert f"results/default/metrics/per_item/{m.name}/Stereo/{task}.csv" in res.stdout
        assert (f"--method {m.name} --checkpoint results/default/models/a2sb_p1.json"
                in res.stdout)  # fmt: skip
    default = next(m for m in stereo_candidates() if m.stereo_mode == DEFAULT_STEREO_MODE)
    assert f"restored/{default.name}/" not in res.stdout  # the A2SB row is that mode already
