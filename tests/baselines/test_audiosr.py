"""AudioSR adapter: the real adapter and runner against a fake ``audiosr`` environment."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from a2sb.tasks import Task
from baselines.audiosr import band_rms, level_match, load, train
from baselines.audiosr.env import setup_commands
from baselines.interface import BaselineError, BaselineRestorer, Degradation
from baselines.registry import method

ROOT = Path(__file__).resolve().parents[2]
TONE_HZ = 15000.0

FAKE_PIPELINE = '''
"""A stand-in for audiosr 0.0.7's pipeline: same names and signatures, no model."""
import numpy as np
import soundfile as sf


def download_checkpoint(checkpoint_name="basic"):
    raise RuntimeError("the runner must not download anything")


def build_model(ckpt_path=None, config=None, device=None, model_name="basic"):
    path = download_checkpoint(model_name)
    with open(path, "rb") as f:
        assert f.read() == b"fake weights", path
    return {"model_name": model_name}


def super_resolution(model, input_file, seed=42, ddim_steps=200, guidance_scale=3.5,
                     latent_t_per_second=12.8, config=None):
    x, rate = sf.read(input_file, dtype="float64")
    assert rate == 48000 and x.ndim == 1
    t = np.arange(len(x)) / rate
    x = x - x.mean() + 0.05 * np.sin(2 * np.pi * TONE_HZ * t)  # "generated" high band
    x = 0.5 * x / np.abs(x).max()  # AudioSR's output level: peak 0.5
    padded = int(np.ceil(len(x) / 48000 / 5.12) * 5.12 * 48000)
    return np.pad(x, (0, padded - len(x)))[None, None].astype(np.float32)
'''.replace("TONE_HZ", repr(TONE_HZ))


@pytest.fixture
def fake_env(tmp_path: Path) -> dict[str, str]:
    pkg = tmp_path / "fakeenv" / "audiosr"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .pipeline import build_model, super_resolution\n")
    (pkg / "pipeline.py").write_text(FAKE_PIPELINE)
    shim = tmp_path / "python"
    shim.write_text(f'#!/bin/sh\nPYTHONPATH="{pkg.parent}" exec "{sys.executable}" "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "pytorch_model.bin").write_bytes(b"fake weights")
    return {"python": str(shim), "weights": str(weights)}


def lowpassed(rate: int, seconds: float, cutoff: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(int(rate * seconds))
    spec = np.fft.rfft(x)
    spec[np.fft.rfftfreq(len(x), 1 / rate) >= cutoff] = 0
    return (0.1 * np.fft.irfft(spec, n=len(x))).astype(np.float32)


def test_level_match() -> None:
    rate = 44100
    ref = lowpassed(rate, 0.5, 4000.0)
    out = 3.7 * ref + lowpassed(rate, 0.5, 20000.0, seed=1) - lowpassed(rate, 0.5, 4000.0, seed=1)
    matched = level_match(out, ref, rate, 4000.0)
    assert band_rms(matched, rate, 4000.0) == pytest.approx(band_rms(ref, rate, 4000.0), rel=1e-6)
    assert band_rms(ref, rate, 30000.0) == pytest.approx(np.sqrt(np.mean(ref.astype(float) ** 2)))
    silent = np.zeros(100, np.float32)
    assert np.array_equal(level_match(silent, ref[:100], rate, 4000.0), silent)


def test_restore_through_fake_runner(fake_env: dict[str, str]) -> None:
    r = load(None, {"weights": fake_env["weights"], "python": fake_env["python"], "steps": 5})
    assert isinstance(r, BaselineRestorer)
    assert method("audiosr").tasks == (Task.BANDWIDTH_EXTENSION,)
    rate, cutoff = 44100, 4000.0
    x = np.stack([lowpassed(rate, 1.2, cutoff), 0.3 * lowpassed(rate, 1.2, cutoff, seed=2)])
    try:
        out = r.restore(x, rate, Degradation("bandwidth-extension", cutoff_hz=cutoff))
    finally:
        r.close()
    assert out.shape == x.shape and out.dtype == np.float32 and np.all(np.isfinite(out))
    for ch in range(2):  # level matched per channel to the input's band below the cutoff
        assert band_rms(out[ch], rate, cutoff) == pytest.approx(
            band_rms(x[ch], rate, cutoff), rel=0.02
        )
    # the "generated" 15 kHz tone made it back through 48 kHz and the resampling to 44.1 kHz
    spec = np.abs(np.fft.rfft(out[0]))
    freqs = np.fft.rfftfreq(out.shape[-1], 1 / rate)
    assert abs(freqs[np.argmax(spec * (freqs > 8000))] - TONE_HZ) < 5
    with pytest.raises(BaselineError, match="bandwidth extension only"):
        r.restore(x[0], rate, Degradation("inpainting", gaps_s=((0.1, 0.2),)))


def test_missing_weights_and_environment(tmp_path: Path, fake_env, monkeypatch) -> None:
    monkeypatch.delenv("A2SB_AUDIOSR_WEIGHTS", raising=False)
    with pytest.raises(BaselineError) as err:
        load(None, {"python": fake_env["python"]})
    assert str(err.value).startswith("AudioSR weights not provided: ")
    assert "\n" not in str(err.value) and "huggingface.co/haoheliu/audiosr_basic" in str(err.value)
    with pytest.raises(BaselineError, match="AudioSR weights not provided"):
        load(None, {"weights": str(tmp_path / "nowhere")})
    monkeypatch.setenv("A2SB_AUDIOSR_PYTHON", str(tmp_path / "no-python"))
    with pytest.raises(BaselineError, match="AudioSR environment not found"):
        load(None, {"weights": fake_env["weights"]})
    with pytest.raises(BaselineError, match="nothing to train"):
        train({}, tmp_path, manifests=[])


def test_cli(tmp_path: Path, fake_env, monkeypatch, capsys) -> None:
    from baselines.cli import main

    rate = 44100
    x = lowpassed(rate, 0.6, 8000.0)
    sf.write(tmp_path / "in.wav", x, rate, subtype="FLOAT")
    for name in ("A2SB_AUDIOSR_WEIGHTS", "A2SB_AUDIOSR_PYTHON"):
        monkeypatch.delenv(name, raising=False)
    cmd = ["restore", "--method", "audiosr", "--task", "bandwidth-extension", "--cutoff-hz", "8000"]
    files = [str(tmp_path / "in.wav"), str(tmp_path / "out.wav")]
    assert main([*cmd, *files]) == 2 and not (tmp_path / "out.wav").exists()
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("baselines: error: AudioSR weights not provided")
    monkeypatch.setenv("A2SB_AUDIOSR_PYTHON", fake_env["python"])
    assert main([*cmd, "--weights", fake_env["weights"], "--quiet", *files]) == 0
    out, out_rate = sf.read(tmp_path / "out.wav", dtype="float32")
    assert out_rate == rate and out.shape == x.shape
    assert band_rms(out, rate, 8000.0) == pytest.approx(band_rms(x, rate, 8000.0), rel=0.02)


def test_setup_env_commands(tmp_path: Path) -> None:
    cmds = setup_commands(tmp_path / "env", "python3.11", "https://download.pytorch.org/whl/cpu")
    assert cmds[0] == ["python3.11", "-m", "venv", str(tmp_path / "env")]
    assert cmds[-1][-2:] == ["--extra-index-url", "https://download.pytorch.org/whl/cpu"]
    req = Path(cmds[-1][cmds[-1].index("-r") + 1]).read_text()
    assert "audiosr==0.0.7" in req and "numpy==1.23.5" in req
