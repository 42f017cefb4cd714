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
from baseline_helpers import IBAR_MEL as MEL
from baseline_helpers import IBAR_TINY as TINY
from baseline_helpers import save_untrained_vocoder, write_manifest

from baselines.common import load_weights
from baselines.ibar import TEMPLATES, canonical, full_config, load, parse_instruction, train
from baselines.ibar.config import mel_config
from baselines.ibar.flow import cfm_loss, ot_path, sample_ode
from baselines.ibar.model import IBAR
from baselines.ibar.text_encoder import ByteTextEncoder, encode_bytes
from baselines.ibar.train import degrade
from baselines.interface import BaselineError, BaselineRestorer, Degradation
from baselines.mel import MelConfig
from baselines.registry import METHODS
from metrics.degradations import bandwidth_limit

ROOT = Path(__file__).resolve().parents[2]
RATE = 16000
TASKS = METHODS["ibar"].tasks
VOCODER_MODEL = {
    "upsample_rates": [8, 8],
    "upsample_kernel_sizes": [16, 16],
    "initial_channels": 16,
    "min_channels": 4,
    "resblock_kernel_sizes": [3],
    "resblock_dilations": [[1]],
}


def tone(n: int, rate: int = RATE, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    x = sum(0.3 * np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in rng.uniform(100, 7000, 6))
    return (x + 0.01 * rng.standard_normal(n)).astype(np.float32)


def tones(folder: Path, n_files: int = 2, seconds: float = 1.0) -> Path:
    """A manifest of ``n_files`` tone mixtures at :data:`RATE`."""
    signals = [tone(int(seconds * RATE), seed=i) for i in range(n_files)]
    return write_manifest(folder, signals, RATE)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A tiny trained IBAR run folder (``final.safetensors`` + sidecar)."""
    root = tmp_path_factory.mktemp("ibar")
    manifest = tones(root / "data")
    train(TINY, root / "run", manifests=[str(manifest)], threads=1, source="tiny.yaml",
          progress=False)  # fmt: skip
    return root / "run" / "final.safetensors"


@pytest.fixture(scope="module")
def vocoder_path(tmp_path_factory) -> Path:
    """An untrained tiny vocoder checkpoint in the vocoder package's own format."""
    path = tmp_path_factory.mktemp("vocoder") / "vocoder.safetensors"
    return save_untrained_vocoder(path, VOCODER_MODEL, MEL)


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
        full_config({"model": {"foo": 1}}, "cfg.yaml")
    with pytest.raises(BaselineError, match=r"cfg\.yaml.*'bogus'"):
        full_config({"bogus": 1}, "cfg.yaml")
    with pytest.raises(BaselineError, match=r"cfg\.yaml.*'mel\.hops'"):
        full_config({"mel": {"hops": 1}}, "cfg.yaml")
    with pytest.raises(BaselineError, match="cfg.yaml"):
        full_config({"train": {"lr": "fast"}}, "cfg.yaml")
    with pytest.raises(BaselineError, match="byt5_path"):
        full_config({"text": {"encoder": "byt5"}}, "cfg.yaml")
    with pytest.raises(BaselineError, match=r"cfg\.yaml.*sample\.solver"):
        full_config({"sample": {"solver": "rk4"}}, "cfg.yaml")
    with pytest.raises(BaselineError, match=r"cfg\.yaml.*train\.max_wall_s"):
        full_config({"train": {"max_wall_s": "soon"}}, "cfg.yaml")
    with pytest.raises(BaselineError, match=r"cfg\.yaml.*patch_mels"):
        full_config({"model": {"patch_mels": 7}}, "cfg.yaml")
    assert full_config({"mel": {"fmax": 16000.0}}, "cfg.yaml")["mel"]["fmax"] == 16000.0
    assert full_config(None)["train"]["checkpoint_every"] > 0  # every run resumable


def test_profiles_take_the_vocoders_mel() -> None:
    """The profiles do not spell ``mel`` (the vocoder's YAML does, and the workflow writes it into
    IBAR's generated config); IBAR's default mel is each vocoder profile's."""
    for name in ("default", "ci", "paper"):
        path = ROOT / "config" / "baselines" / "ibar" / f"{name}.yaml"
        config = yaml.safe_load(path.read_text())
        assert "mel" not in config
        vocoder = yaml.safe_load((ROOT / "config/baselines/vocoder" / f"{name}.yaml").read_text())
        assert mel_config(full_config(config, str(path))) == MelConfig.from_dict(vocoder["mel"])
        with_mel = full_config({**config, "mel": vocoder["mel"]}, str(path))
        assert with_mel == full_config(config, str(path))


def test_byt5_missing_path_is_one_line_error(tmp_path) -> None:
    cfg = {**TINY, "text": {"encoder": "byt5", "byt5_path": str(tmp_path / "nope")}}
    manifest = tones(tmp_path / "data", n_files=1, seconds=0.5)
    with pytest.raises(BaselineError, match="no such folder") as info:
        train(cfg, tmp_path / "run", manifests=[str(manifest)], threads=1, source="x.yaml",
              progress=False)  # fmt: skip
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
    cfg = full_config(TINY, "tiny")
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
    cfg = full_config(TINY, "tiny")
    x = tone(4096)
    seen = set()
    for i in range(20):
        out, text = degrade(x, mel, cfg["data"], np.random.default_rng(i))
        task = parse_instruction(text)
        seen.add(task)
        assert out.dtype == x.dtype and out.shape == x.shape
        if task == "bandwidth-extension":  # the evaluation's own degradation, same cutoff draw
            rng = np.random.default_rng(i)
            rng.random()
            cutoff = rng.uniform(*cfg["data"]["cutoff_hz_range"])
            assert np.array_equal(out, bandwidth_limit(x, RATE, cutoff))
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
    assert sidecar["config"] == full_config(TINY, "tiny")
    assert sidecar["extra"]["step"] == 3 and len(sidecar["manifests"]) == 1
    assert sidecar["extra"]["templates"] == [t for task in TEMPLATES.values() for t in task]
    model = IBAR(sidecar["config"])
    model.load_state_dict(state)
    summary = json.loads((trained.parent / "summary.json").read_text())
    assert summary["steps"] == 3 and summary["parameters"] == sidecar["extra"]["parameters"]
    assert (trained.parent / "log.csv").read_text().count("\n") == 4  # header + 3 steps
    again = train(TINY, tmp_path / "again", manifests=list(sidecar["manifests"]), threads=1,
                  source="tiny.yaml", progress=False)  # fmt: skip
    state2, _ = load_weights(tmp_path / "again" / again["final_checkpoint"], "ibar")
    assert all(torch.equal(state[k], state2[k]) for k in state)


class _Killed(Exception):
    pass


def test_load_needs_a_vocoder(trained) -> None:
    with pytest.raises(BaselineError, match="--vocoder"):
        load(trained, {})
    with pytest.raises(BaselineError, match="not found"):
        load(trained, {"vocoder": "/nonexistent/voc.safetensors"})


# -- restoration ----------------------------------------------------------------------------


def test_inpainting_keeps_known_audio_on_a_long_file(trained, vocoder_path) -> None:
    restorer = load(trained, {"vocoder": str(vocoder_path), "steps": 2})
    assert isinstance(restorer, BaselineRestorer)
    n = 7000  # > 3 segments of 2048 samples
    x = tone(n, seed=3)
    gaps = ((0.05, 0.09), (0.2, 0.3))
    deg = Degradation("inpainting", gaps_s=gaps)
    for a, b in deg.gap_samples(RATE):
        x[a:b] = 0.0
    given = x.astype(np.float64)
    given[deg.gap_samples(RATE)[0][0]] = 0.5  # a non-zero sample inside a gap is the caller's
    kept = given.copy()
    restorer.restore(given, RATE, deg)
    assert np.array_equal(given, kept)  # the input array is not written to
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
        x = bandwidth_limit(tone(5000, rate, seed=4), rate, 3000.0)
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

    manifest = tones(tmp_path / "data", n_files=1, seconds=0.5)
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
