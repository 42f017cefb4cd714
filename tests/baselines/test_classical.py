"""Classical reference methods: known band / samples untouched, shapes, AR accuracy, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from baselines.classical import BurgInpainting, Identity, SpectralBandReplication, burg, extrapolate
from baselines.interface import BaselineError, BaselineRestorer, Degradation

RATE = 44100
ROOT = Path(__file__).resolve().parents[2]


def lowpassed(x: np.ndarray, cutoff: float) -> np.ndarray:
    spec = np.fft.rfft(x)
    spec[np.fft.rfftfreq(len(x), 1 / RATE) >= cutoff] = 0
    return np.fft.irfft(spec, n=len(x))


def test_protocol() -> None:
    for cls in (Identity, SpectralBandReplication, BurgInpainting):
        assert isinstance(cls(), BaselineRestorer)


def test_sbr_keeps_known_band_and_fills_above(music) -> None:
    x = lowpassed(music(2 * RATE, RATE, seed=1), 4000.0)
    y = SpectralBandReplication().restore(x, RATE, Degradation("bandwidth-extension", 4000.0))
    assert y.shape == x.shape and np.all(np.isfinite(y))
    fx, fy = np.fft.rfft(x), np.fft.rfft(y)
    below = np.fft.rfftfreq(len(x), 1 / RATE) < 4000.0
    assert np.allclose(fx[below], fy[below], atol=1e-6 * np.abs(fx).max())
    above = np.abs(fy[~below]) ** 2
    assert above.sum() > 1e-4 * (np.abs(fx) ** 2).sum()  # something was generated


def test_sbr_stereo_and_short_input() -> None:
    x = np.random.default_rng(0).standard_normal((2, 5000)).astype(np.float32) * 0.1
    y = SpectralBandReplication().restore(x, RATE, Degradation("bandwidth-extension", 8000.0))
    assert y.shape == x.shape and y.dtype == np.float32
    short = np.ones(100, dtype=np.float32)
    assert np.array_equal(
        SpectralBandReplication().restore(short, RATE, Degradation("bandwidth-extension", 4000.0)),
        short,
    )


def test_burg_recovers_ar2() -> None:
    rng = np.random.default_rng(0)
    a_true = np.array([1.0, -1.5, 0.7])
    from scipy.signal import lfilter

    x = lfilter([1.0], a_true, rng.standard_normal(20000))
    assert np.allclose(burg(x, 2), a_true, atol=0.02)


def test_ar_extrapolates_sinusoid() -> None:
    t = np.arange(RATE) / RATE
    x = np.sin(2 * np.pi * 440 * t + 0.3)
    n = 4410
    pred = extrapolate(x[:8000], burg(x[:8000], 16), n)
    # 100 ms ahead (44 periods): RMS error within 5 % of the amplitude
    assert np.sqrt(np.mean((pred - x[8000 : 8000 + n]) ** 2)) < 0.05


def test_burg_inpainting_keeps_samples_and_fills_gap() -> None:
    t = np.arange(3 * RATE) / RATE
    clean = 0.5 * np.sin(2 * np.pi * 330 * t) + 0.2 * np.sin(2 * np.pi * 1234 * t)
    gaps = ((1.0, 1.3), (2.0, 2.5))
    deg = Degradation("inpainting", gaps_s=gaps)
    x = clean.copy()
    mask = np.zeros(len(x), bool)
    for a, b in deg.gap_samples(RATE):
        x[a:b] = 0
        mask[a:b] = True
    y = BurgInpainting(order=128, context=8192).restore(x.astype(np.float32), RATE, deg)
    assert y.shape == x.shape and np.all(np.isfinite(y))
    assert np.array_equal(y[~mask], x.astype(np.float32)[~mask])
    err = np.sqrt(np.mean((y[mask] - clean[mask]) ** 2)) / np.sqrt(np.mean(clean[mask] ** 2))
    assert err < 0.25  # zeros would score 1.0


def test_gap_at_file_edges() -> None:
    x = np.sin(np.arange(RATE) * 0.05)
    deg = Degradation("inpainting", gaps_s=((0.0, 0.1), (0.9, 1.0)))
    y = BurgInpainting(order=128, context=8192).restore(x, RATE, deg)
    assert np.all(np.isfinite(y)) and y.shape == x.shape


def test_degradation_errors() -> None:
    with pytest.raises(BaselineError):
        Degradation("bandwidth-extension")
    with pytest.raises(BaselineError):
        Degradation("denoise")
    with pytest.raises(BaselineError, match="Nyquist"):
        Degradation("bandwidth-extension", 30000.0).check(np.zeros(10), RATE)
    with pytest.raises(BaselineError, match="ends after"):
        Degradation("inpainting", gaps_s=((0.5, 2.0),)).check(np.zeros(RATE), RATE)
    with pytest.raises(BaselineError, match="NaN"):
        Identity().restore(np.array([0.0, np.nan]), RATE, Degradation("bandwidth-extension", 4000))


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "baselines", *args], capture_output=True, text=True, cwd=ROOT
    )


def test_cli_folder_mode_reads_gaps_json(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    x = 0.3 * np.sin(np.arange(2 * RATE) * 2 * np.pi * 500 / RATE).astype(np.float32)
    x[round(0.85 * RATE) : round(1.15 * RATE)] = 0
    sf.write(src / "a.wav", x, RATE, subtype="FLOAT")
    (src / "a.gaps.json").write_text(json.dumps({"gaps_s": [[0.85, 1.15]], "gap_ms": 300}))
    res = run_cli("restore", "--method", "burg", "--task", "inpainting", "--in-dir", str(src),
                  "--out-dir", str(tmp_path / "out"), "--quiet")  # fmt: skip
    assert res.returncode == 0, res.stderr
    y, rate = sf.read(tmp_path / "out" / "a.wav")
    assert rate == RATE and len(y) == len(x) and np.abs(y[round(RATE) - 10]) > 0.01


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    res = run_cli("restore", "--method", "sbr", "--task", "inpainting", "a.wav", "b.wav")
    assert res.returncode == 2 and res.stderr.strip().count("\n") == 0
    assert "does not do inpainting" in res.stderr
    res = run_cli("restore", "--method", "degraded", "--task", "bandwidth-extension",
                  "--cutoff-hz", "4000", str(tmp_path / "missing.wav"), str(tmp_path / "o.wav"))  # fmt: skip
    assert res.returncode == 2 and "no such file" in res.stderr
    assert not (tmp_path / "o.wav").exists()


@pytest.mark.parametrize("folder", [False, True])
def test_cli_never_writes_over_its_input(tmp_path: Path, folder: bool) -> None:
    x = (0.3 * np.sin(np.arange(RATE) * 2 * np.pi * 500 / RATE)).astype(np.float32)
    path = tmp_path / "x.wav"
    sf.write(path, x, RATE, subtype="FLOAT")
    before = path.read_bytes()
    where = ["--in-dir", str(tmp_path), "--out-dir", str(tmp_path)] if folder else [str(path)] * 2
    res = run_cli("restore", "--method", "sbr", "--task", "bandwidth-extension",
                  "--cutoff-hz", "4000", *where)  # fmt: skip
    assert res.returncode == 2 and res.stderr.strip().count("\n") == 0, res.stderr
    assert "would overwrite the input" in res.stderr
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["x.wav"]
