"""IBAR (instruction-based baseline): templates, text encoder, loss, training, restoration, CLI.

Tiny configs at 16 kHz (32 mels, hop 64) and an untrained tiny vocoder keep the file fast.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from baselines.common import load_weights, save_weights
from baselines.ibar import TASKS, TEMPLATES, canonical, load, parse_instruction, resolve, train
from baselines.ibar.flow import cfm_loss, ot_path, sample_ode
from baselines.ibar.model import IBAR
from baselines.ibar.text_encoder import ByteTextEncoder, encode_bytes
from baselines.ibar.train import degrade, lowpass
from baselines.interface import BaselineError, Degradation, Restorer
from baselines.mel import MelConfig

ROOT = Path(__file__).resolve().parents[2]
RATE = 16000
MEL = {"sample_rate": RATE, "n_fft": 256, "hop_length": 64, "win_length": 256, "n_mels": 32}
TINY = {
    "mel": MEL,
    "model": {
        "hidden": 32,
        "depth": 1,
        "heads": 2,
        "patch_mels": 8,
        "patch_frames": 4,
        "segment_frames": 32,  # 2048 samples = 0.128 s
    },
    "text": {"width": 32, "layers": 1, "heads": 2, "max_bytes": 48},
    "data": {"cutoff_hz_range": [1000.0, 6000.0], "gap_s_range": [0.02, 0.1]},
    "train": {"steps": 3, "batch_size": 2, "warmup_steps": 1, "log_every": 1},
    "sample": {"steps": 2, "solver": "euler", "overlap_frames": 8},
}
VOCODER_MODEL = {
    "upsample_rates": [8, 8],
    "upsample_kernel_sizes": [16, 16],
    "initial_channels": 16,
    "min_channels": 4,
    "resblock_kernel_sizes": [3],
    "resblock_dilations": [[1]],
}


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tone(n: int, rate: int = RATE, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    x = sum(0.3 * np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in rng.uniform(100, 7000, 6))
    return (x + 0.01 * rng.standard_normal(n)).astype(np.float32)


def write_manifest(folder: Path, n_files: int = 2, seconds: float = 1.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["path,split"]
    for i in range(n_files):
        sf.write(folder / f"a{i}.wav", tone(int(seconds * RATE), seed=i), RATE, subtype="FLOAT")
        rows.append(f"a{i}.wav,train")
    (folder / "train.csv").write_text("\n".join(rows) + "\n")
    return folder / "train.csv"


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A tiny trained IBAR run folder (``final.safetensors`` + sidecar)."""
    root = tmp_path_factory.mktemp("ibar")
    manifest = write_manifest(root / "data")
    train(TINY, root / "run", manifests=[str(manifest)], threads=1, source="tiny.yaml")
    return root / "run" / "final.safetensors"


@pytest.fixture(scope="module")
def vocoder_path(tmp_path_factory) -> Path:
    """An untrained tiny vocoder checkpoint in the vocoder package's own format."""
    from baselines.vocoder import build_vocoder

    config = {"mel": MEL, "model": VOCODER_MODEL}
    path = tmp_path_factory.mktemp("vocoder") / "vocoder.safetensors"
    torch.manual_seed(0)
    save_weights(path, build_vocoder(config).state_dict(), "vocoder", config)
    return path


# -- instructions and text encoder ---------------------------------------------------------


def test_templates_parse_back_to_their_task() -> None:
    assert set(TEMPLATES) == set(TASKS)
    for task, templates in TEMPLATES.items():
        assert len(templates) >= 3 and canonical(task) == templates[0]
        for text in templates:
            assert parse_instruction(text) == task
            assert parse_instruction(f"  {text.upper()}. ") == task
    for bad in ("Add a drum beat", "", "Inpaint the audio please"):
        with pytest.raises(BaselineError, match="unknown IBAR instruction"):
            parse_instruction(bad)
    with pytest.raises(BaselineError):
        canonical("denoising")


def test_byte_encoder_tells_the_tasks_apart() -> None:
    torch.manual_seed(0)
    enc = ByteTextEncoder(width=32, layers=2, heads=4, max_bytes=48).eval()
    tokens = encode_bytes([canonical(t) for t in TASKS], 48)
    assert tokens.shape == (2, 48) and tokens.min() == 0 and tokens.max() <= 256
    with torch.no_grad():
        a, b = enc(tokens)
    assert a.shape == (32,) and torch.all(torch.isfinite(a))
    assert torch.linalg.vector_norm(a - b) > 1e-2 * torch.linalg.vector_norm(a)
    # padding does not change an embedding
    with torch.no_grad():
        longer = enc(encode_bytes([canonical(TASKS[0])], 64).narrow(1, 0, 48))
    assert torch.allclose(longer[0], a, atol=1e-6)


# -- config ---------------------------------------------------------------------------------


def test_config_rejects_unknown_and_bad_keys() -> None:
    with pytest.raises(BaselineError, match=r"cfg\.yaml.*'model\.foo'"):
        resolve({"model": {"foo": 1}}, "cfg.yaml")
    with pytest.raises(BaselineError, match=r"cfg\.yaml.*'bogus'"):
        resolve({"bogus": 1}, "cfg.yaml")
    with pytest.raises(BaselineError, match=r"cfg\.yaml.*'mel\.hops'"):
        resolve({"mel": {"hops": 1}}, "cfg.yaml")
    with pytest.raises(BaselineError, match="cfg.yaml"):
        resolve({"train": {"lr": "fast"}}, "cfg.yaml")
    with pytest.raises(BaselineError, match="byt5_path"):
        resolve({"text": {"encoder": "byt5"}}, "cfg.yaml")
    for name in ("default", "ci", "paper"):
        path = ROOT / "config" / "baselines" / "ibar" / f"{name}.yaml"
        resolve(yaml.safe_load(path.read_text()), str(path))


def test_byt5_missing_path_is_one_line_error(tmp_path) -> None:
    cfg = {**TINY, "text": {"encoder": "byt5", "byt5_path": str(tmp_path / "nope")}}
    with pytest.raises(BaselineError, match="no such folder") as info:
        train(cfg, tmp_path / "run", manifests=[], threads=1, source="x.yaml")
    assert "\n" not in str(info.value)


# -- flow matching and the network ----------------------------------------------------------


def test_ot_path_and_euler() -> None:
    x0, x1 = torch.randn(3, 1, 4, 8), torch.randn(3, 1, 4, 8)
    xt, u = ot_path(x0, x1, torch.zeros(3), 1e-4)
    assert torch.allclose(xt, x0)
    xt, u = ot_path(x0, x1, torch.ones(3), 0.0)
    assert torch.allclose(xt, x1) and torch.allclose(u, x1 - x0)
    # the straight path's velocity integrates exactly with either solver
    for solver in ("euler", "midpoint"):
        out = sample_ode(lambda x, t: x1 - x0, x0, 3, solver)
        assert torch.allclose(out, x1, atol=1e-5)


def test_training_steps_lower_the_loss_on_a_fixed_batch() -> None:
    torch.manual_seed(0)
    cfg = resolve(TINY, "tiny")
    model = IBAR(cfg)
    x1 = torch.randn(4, 1, 32, 32)
    cond = x1 + 0.3 * torch.randn_like(x1)
    x0, t = torch.randn_like(x1), torch.rand(4)
    texts = [canonical("inpainting"), canonical("bandwidth-extension")] * 2

    def loss() -> torch.Tensor:
        text = model.embed(texts)
        return cfm_loss(lambda x, tt: model(x, tt, cond, text), x1, x0, t, 1e-4)

    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    before = float(loss().detach())
    for _ in range(8):
        opt.zero_grad()
        value = loss()
        value.backward()
        opt.step()
    assert float(loss().detach()) < 0.9 * before


def test_training_degradations_match_the_evaluation() -> None:
    mel = MelConfig(**MEL)
    cfg = resolve(TINY, "tiny")
    x = tone(4096).astype(np.float64)
    low = lowpass(x, RATE, 2000.0)
    spec = np.abs(np.fft.rfft(low))
    freqs = np.fft.rfftfreq(len(x), 1 / RATE)
    assert spec[freqs > 2300].max() < 1e-3 * spec.max()
    seen = set()
    for i in range(20):
        out, text = degrade(x, mel, cfg["data"], np.random.default_rng(i))
        task = parse_instruction(text)
        seen.add(task)
        if task == "inpainting":
            zero = np.flatnonzero(out == 0)
            assert 0.02 * RATE - 1 <= len(zero) <= 0.1 * RATE + 1
            assert np.all(np.diff(zero) == 1)  # one contiguous gap
            assert np.array_equal(np.delete(out, zero), np.delete(x, zero))
    assert seen == set(TASKS)


# -- train / load ---------------------------------------------------------------------------


def test_train_writes_a_loadable_deterministic_checkpoint(trained, tmp_path) -> None:
    state, sidecar = load_weights(trained, "ibar")
    assert sidecar["method"] == "ibar" and sidecar["seed"] == 0
    assert sidecar["config"] == resolve(TINY, "tiny")
    assert sidecar["extra"]["steps"] == 3 and len(sidecar["manifests"]) == 1
    model = IBAR(sidecar["config"])
    model.load_state_dict(state)
    again = train(
        TINY,
        tmp_path / "again",
        manifests=list(sidecar["manifests"]),
        threads=1,
        source="tiny.yaml",
    )
    state2, _ = load_weights(again["checkpoint"], "ibar")
    assert all(torch.equal(state[k], state2[k]) for k in state)


def test_load_needs_a_vocoder(trained) -> None:
    with pytest.raises(BaselineError, match="--vocoder"):
        load(trained, {})
    with pytest.raises(BaselineError, match="not found"):
        load(trained, {"vocoder": "/nonexistent/voc.safetensors"})


# -- restoration ----------------------------------------------------------------------------


def test_inpainting_keeps_known_audio_on_a_long_file(trained, vocoder_path) -> None:
    restorer = load(trained, {"vocoder": str(vocoder_path), "steps": 2})
    assert isinstance(restorer, Restorer)
    n = 7000  # > 3 segments of 2048 samples
    x = tone(n, seed=3)
    gaps = ((0.05, 0.09), (0.2, 0.3))
    deg = Degradation("inpainting", gaps_s=gaps)
    for a, b in deg.gap_samples(RATE):
        x[a:b] = 0.0
    y = restorer.restore(x, RATE, deg)
    assert y.shape == x.shape and y.dtype == np.float32 and np.all(np.isfinite(y))
    known = np.ones(n, dtype=bool)
    for a, b in deg.gap_samples(RATE):
        known[a:b] = False
    assert np.array_equal(y[known], x[known])
    assert np.abs(y[~known]).max() > 0  # something was generated inside the gaps
    again = restorer.restore(x, RATE, deg)
    assert np.array_equal(again, y)  # deterministic given the seed
    stereo = restorer.restore(np.stack([x, 0.5 * x]), RATE, deg)
    assert stereo.shape == (2, n) and np.array_equal(stereo[1][known], (0.5 * x)[known])


def test_bandwidth_extension_keeps_the_band_below_the_cutoff(trained, vocoder_path) -> None:
    restorer = load(trained, {"vocoder": str(vocoder_path)})
    for rate in (RATE, 22050):  # the model's rate, and another one (soxr both ways)
        x = lowpass(tone(5000, rate, seed=4).astype(np.float64), rate, 3000.0).astype(np.float32)
        y = restorer.restore(x, rate, Degradation("bandwidth-extension", cutoff_hz=3000.0))
        assert y.shape == x.shape and np.all(np.isfinite(y))
        fx, fy = np.fft.rfft(x.astype(np.float64)), np.fft.rfft(y.astype(np.float64))
        below = np.fft.rfftfreq(len(x), 1 / rate) < 3000.0
        assert np.allclose(fx[below], fy[below], atol=1e-5 * np.abs(fx).max())
    # a cutoff above the model's Nyquist leaves nothing to add
    x = tone(3000, 22050)
    y = restorer.restore(x, 22050, Degradation("bandwidth-extension", cutoff_hz=9000.0))
    assert np.array_equal(y, x)


# -- command line ---------------------------------------------------------------------------


def test_cli_train_and_restore(tmp_path, vocoder_path, capsys) -> None:
    """``train`` runs in-process through the CLI's ``main`` (one import of torch's optimiser
    machinery per test process); ``restore`` runs as ``python -m baselines``."""
    from baselines.cli import main

    manifest = write_manifest(tmp_path / "data", n_files=1, seconds=0.5)
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({**TINY, "train": {**TINY["train"], "steps": 2}}))
    out = tmp_path / "run"
    train_args = ["train", "--method", "ibar", "--config", str(config)]
    assert (
        main([*train_args, "--manifest", str(manifest), "--out", str(out), "--threads", "1"]) == 0
    )
    assert json.loads((out / "final.json").read_text())["method"] == "ibar"
    src = tmp_path / "in.wav"
    x = tone(3000, seed=5)
    x[1000:1800] = 0
    sf.write(src, x, RATE, subtype="FLOAT")
    dst = tmp_path / "out.wav"
    res = subprocess.run(
        [sys.executable, "-m", "baselines", "restore", "--method", "ibar"]
        + ["--checkpoint", str(out / "final.safetensors"), "--vocoder", str(vocoder_path)]
        + ["--task", "inpainting", "--gaps", "0.0625-0.1125", "--steps", "1", "--seed", "3"]
        + [str(src), str(dst)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    y, rate = sf.read(dst, dtype="float32")
    assert rate == RATE and y.shape == x.shape
    assert np.array_equal(y[:1000], x[:1000]) and np.array_equal(y[1800:], x[1800:])
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {widht: 3}\n")
    capsys.readouterr()
    code = main(
        ["train", "--method", "ibar", "--config", str(bad), "--manifest", str(manifest)]
        + ["--out", str(tmp_path / "bad")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "bad.yaml" in err and "model.widht" in err
    assert not (tmp_path / "bad").exists()
