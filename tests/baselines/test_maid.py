"""MAID: masks, one training step, restoration of long/stereo/any-rate files, train/load,
resume, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import soundfile as sf
import torch
from baseline_helpers import MAID_TINY as TINY
from baseline_helpers import save_untrained_vocoder, write_manifest

from a2sb.checkpoint import sidecar_path
from a2sb.tasks import Task
from baselines.interface import BaselineError, BaselineRestorer, Degradation
from baselines.maid import MAIDNet, MAIDRestorer, full_config, load, train
from baselines.maid.diffusion import Diffusion
from baselines.maid.model import frame_mask, gap_frames
from baselines.maid.train import loss_on
from baselines.mel import MelConfig
from baselines.registry import METHODS

RATE = 44100

VOCODER = {
    "upsample_rates": [8, 8, 8],
    "upsample_kernel_sizes": [16, 16, 16],
    "initial_channels": 16,
    "min_channels": 4,
    "resblock_kernel_sizes": [3],
    "resblock_dilations": [[1]],
    "prior_iters": 4,
}


@pytest.fixture
def vocoder_path(tmp_path) -> Path:
    return save_untrained_vocoder(tmp_path / "vocoder.safetensors", VOCODER)


def restorer(vocoder_path: Path) -> MAIDRestorer:
    torch.manual_seed(0)
    cfg = full_config(TINY, "test")
    from baselines.vocoder import load_vocoder

    return MAIDRestorer(MAIDNet(cfg["model"]), cfg, load_vocoder(vocoder_path))


def manifest(folder: Path, music, n: int = 2) -> str:
    return str(write_manifest(folder, [music(RATE, RATE, seed=i) for i in range(n)], RATE))


def final_weights(run: Path) -> dict[str, torch.Tensor]:
    return safetensors.torch.load_file(str(run / "final.safetensors"))


def degrade(x: np.ndarray, rate: int, gaps) -> tuple[np.ndarray, Degradation, np.ndarray]:  # noqa: ANN001
    deg = Degradation("inpainting", gaps_s=tuple(gaps))
    out = x.copy()
    mask = np.zeros(x.shape[-1], bool)
    for a, b in deg.gap_samples(rate):
        out[..., a:b] = 0
        mask[a:b] = True
    return out, deg, mask


def test_gap_frames_cover_every_window_that_sees_the_gap() -> None:
    mel = MelConfig()
    pad = (mel.n_fft - mel.hop_length) // 2
    lo, hi = gap_frames(10000, 12000, 100, mel)
    for j in range(100):
        start = j * mel.hop_length - pad
        touches = start < 12000 and start + mel.n_fft > 10000
        assert touches == (lo <= j < hi)
    assert frame_mask([(0, 1), (40000, 40001)], 100, mel).sum() == 2 + 4


def test_config_errors_name_file_and_key(tmp_path) -> None:
    with pytest.raises(BaselineError, match=r"maid\.yaml.*sample\.bogus"):
        train({"sample": {"bogus": 1}}, tmp_path, manifests=[], source="maid.yaml")
    with pytest.raises(BaselineError, match="maid.yaml.*segment"):
        full_config({"segment": 1000}, "maid.yaml")
    with pytest.raises(BaselineError, match=r"maid\.yaml.*train\.ema_decay"):  # now train.ema
        full_config({"train": {"ema_decay": 0.9}}, "maid.yaml")
    with pytest.raises(BaselineError, match=r"maid\.yaml.*train\.loss"):
        full_config({"train": {"loss": "l3"}}, "maid.yaml")
    assert full_config({"train": {"ema": None}})["train"]["ema"] is None  # no EMA
    assert not any(tmp_path.iterdir())  # nothing written for a bad config


def test_one_training_step_lowers_the_loss_on_a_fixed_batch(music) -> None:
    torch.manual_seed(0)
    cfg = full_config(TINY, "test")
    net = MAIDNet(cfg["model"])
    diffusion = Diffusion("linear", 1000, 1e-4, 0.02)
    x0 = torch.from_numpy(np.stack([music(128 * 32, 1000, seed=s) for s in (1, 2)])).float()
    x0 = x0.reshape(2, 1, 128, 32)
    mask = torch.zeros(2, 1, 1, 32)
    mask[..., 10:20] = 1
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def loss() -> torch.Tensor:
        return loss_on(net, diffusion, x0, mask, torch.Generator().manual_seed(0))

    before = loss()
    opt.zero_grad()
    before.backward()
    opt.step()
    with torch.no_grad():
        assert loss().item() < before.item()


def test_restore_long_file_keeps_known_audio(vocoder_path, music) -> None:
    maid = restorer(vocoder_path)
    assert isinstance(maid, BaselineRestorer) and METHODS["maid"].tasks == (Task.INPAINTING,)
    x = music(3 * RATE, RATE, seed=3).astype(np.float32)  # 3 s, segment 0.37 s
    gaps = [(0.4, 0.5), (1.5, 1.8), (2.9, 3.0)]  # the last one reaches the file's end
    deg_x, deg, mask = degrade(x, RATE, gaps)
    y = maid.restore(deg_x, RATE, deg)
    assert y.shape == x.shape and y.dtype == np.float32 and np.all(np.isfinite(y))
    assert np.array_equal(y[~mask], deg_x[~mask])
    assert np.abs(y[mask]).max() > 0  # something was generated in the gaps
    # deterministic given the seed
    assert np.array_equal(maid.restore(deg_x, RATE, deg), y)


def test_restore_stereo_other_rate_and_long_gap(vocoder_path, music) -> None:
    maid = restorer(vocoder_path)
    rate = 22050
    x = np.stack([music(rate, rate, seed=4), music(rate, rate, seed=5)]).astype(np.float64)
    deg_x, deg, mask = degrade(x, rate, [(0.2, 0.65)])  # longer than half a segment
    y = maid.restore(deg_x, rate, deg)
    assert y.shape == x.shape and y.dtype == np.float64
    assert np.array_equal(y[:, ~mask], deg_x[:, ~mask])
    assert np.all(np.abs(y[:, mask]).max(axis=1) > 0)
    with pytest.raises(BaselineError, match="inpainting"):
        maid.restore(x, rate, Degradation("bandwidth-extension", cutoff_hz=4000))


def test_train_writes_a_loadable_checkpoint(tmp_path, vocoder_path, music) -> None:
    csv = manifest(tmp_path, music)
    summary = train(TINY, tmp_path / "run", manifests=[csv], threads=1, progress=False)
    ckpt = tmp_path / "run" / "final.safetensors"
    assert summary["steps"] == 2 and np.isfinite(summary["final_loss"]) and ckpt.is_file()
    assert summary["ema"] == 0.99 and (tmp_path / "run" / "log.csv").is_file()
    side = json.loads(sidecar_path(ckpt).read_text())
    assert side["method"] == "maid" and side["config"]["sample_rate"] == 44032
    maid = load(ckpt, {"vocoder": str(vocoder_path), "steps": 1, "seed": 3})
    assert maid.steps == 1 and maid.seed == 3
    with pytest.raises(BaselineError, match="--vocoder"):
        load(ckpt, {})
    bad = dict(TINY, mel={"n_mels": 64})
    train(bad, tmp_path / "bad", manifests=[csv], threads=1, progress=False)
    with pytest.raises(BaselineError, match="different mel"):
        load(tmp_path / "bad" / "final.safetensors", {"vocoder": str(vocoder_path)})


class _Killed(Exception):
    """Stands for a kill right after a step checkpoint."""


def test_cli_train_and_restore(tmp_path, vocoder_path, music) -> None:
    import yaml

    from baselines.cli import main

    csv = manifest(tmp_path, music)
    config = tmp_path / "maid.yaml"
    config.write_text(yaml.safe_dump(TINY))
    run = tmp_path / "run"
    argv = ["train", "--method", "maid", "--config", str(config), "--manifest", csv]
    assert main([*argv, "--out", str(run), "--threads", "1", "--quiet"]) == 0
    x = music(RATE, RATE, seed=7).astype(np.float32)
    deg_x, _, mask = degrade(x, RATE, [(0.3, 0.6)])
    src, out = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(src, deg_x, RATE, subtype="FLOAT")
    restore = ["restore", "--method", "maid", "--task", "inpainting", "--gaps", "0.3-0.6"]
    ckpt = str(run / "final.safetensors")
    code = main(
        [
            *restore,
            "--checkpoint",
            ckpt,
            "--vocoder",
            str(vocoder_path),
            "--steps",
            "1",
            "--quiet",
            str(src),
            str(out),
        ]
    )
    assert code == 0
    y, rate = sf.read(out, dtype="float32")
    assert rate == RATE and np.array_equal(y[~mask], deg_x[~mask])
    assert main([*restore, "--checkpoint", ckpt, str(src), str(tmp_path / "o2.wav")]) == 2


@pytest.mark.parametrize("profile", ["default", "paper", "ci"])
def test_profile_configs_are_valid(profile) -> None:
    import yaml

    from baselines import vocoder
    from baselines.maid import DEFAULTS

    folder = Path(__file__).resolve().parents[2] / "config" / "baselines"
    path = folder / "maid" / f"{profile}.yaml"
    cfg = full_config(yaml.safe_load(path.read_text()), str(path))
    assert cfg["sample_rate"] == 44032 and cfg["train"]["checkpoint_every"] > 0
    # the vocoder's config is the one place of the mel: MAID's default is the same mel
    voc = folder / "vocoder" / f"{profile}.yaml"
    assert cfg["mel"] == vocoder.full_config(yaml.safe_load(voc.read_text()), str(voc))["mel"]
    if profile == "default":
        assert cfg == DEFAULTS
    if profile == "paper":
        assert cfg["segment"] == 131072 and cfg["sample"]["steps"] == 50
