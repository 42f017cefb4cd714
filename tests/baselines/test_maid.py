"""MAID: masks, one training step, restoration of long/stereo/any-rate files, train/load, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from baselines.cli import main
from baselines.common import save_weights
from baselines.interface import BaselineError, Degradation, Restorer
from baselines.maid import TASKS, MAIDNet, MAIDRestorer, load, train
from baselines.maid.diffusion import Diffusion
from baselines.maid.model import frame_mask, gap_frames, resolve
from baselines.maid.train import loss_on
from baselines.mel import MelConfig
from baselines.vocoder import build_vocoder

RATE = 44100

#: Tiny MAID: 16384-sample segments (32 frames), a two-level UNet of width 8.
TINY = {
    "segment": 16384,
    "model": {
        "channels": 8,
        "mults": [1, 2],
        "res_blocks": 1,
        "attention_levels": [1],
        "heads": 2,
        "groups": 4,
    },
    "mask": {"gap_min_s": 0.05, "gap_max_s": 0.2},
    "train": {"steps": 2, "batch_size": 2},
    "sample": {"steps": 2, "margin_frames": 2},
}
VOCODER = {
    "upsample_rates": [8, 8, 8],
    "upsample_kernel_sizes": [16, 16, 16],
    "initial_channels": 16,
    "min_channels": 4,
    "resblock_kernel_sizes": [3],
    "resblock_dilations": [[1]],
    "prior_iters": 4,
}


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def vocoder_path(tmp_path) -> Path:
    torch.manual_seed(0)
    voc = build_vocoder({"model": VOCODER})
    path = tmp_path / "vocoder.safetensors"
    save_weights(
        path, voc.state_dict(), "vocoder", {"mel": MelConfig().to_dict(), "model": VOCODER}
    )
    return path


def restorer(vocoder_path: Path) -> MAIDRestorer:
    torch.manual_seed(0)
    cfg = resolve(TINY, "test")
    from baselines.vocoder import load_vocoder

    return MAIDRestorer(MAIDNet(cfg["model"]), cfg, load_vocoder(vocoder_path))


def manifest(folder: Path, music, n: int = 2) -> str:
    rows = ["path,split"]
    for i in range(n):
        sf.write(folder / f"m{i}.wav", music(RATE, RATE, seed=i), RATE, subtype="PCM_16")
        rows.append(f"m{i}.wav,train")
    (folder / "train.csv").write_text("\n".join(rows) + "\n")
    return str(folder / "train.csv")


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
        train({"sample": {"bogus": 1}}, tmp_path, manifests=[], threads=None, source="maid.yaml")
    with pytest.raises(BaselineError, match="maid.yaml.*segment"):
        resolve({"segment": 1000}, "maid.yaml")


def test_one_training_step_lowers_the_loss_on_a_fixed_batch(music) -> None:
    torch.manual_seed(0)
    cfg = resolve(TINY, "test")
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
    assert isinstance(maid, Restorer) and TASKS == ("inpainting",)
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
    summary = train(TINY, tmp_path / "run", manifests=[csv], threads=1, source="t", progress=False)
    ckpt = tmp_path / "run" / "final.safetensors"
    assert summary["steps"] == 2 and np.isfinite(summary["final_loss"]) and ckpt.is_file()
    side = json.loads(ckpt.with_suffix(".json").read_text())
    assert side["method"] == "maid" and side["config"]["sample_rate"] == 44032
    maid = load(ckpt, {"vocoder": str(vocoder_path), "steps": 1, "seed": 3})
    assert maid.steps == 1 and maid.seed == 3
    with pytest.raises(BaselineError, match="--vocoder"):
        load(ckpt, {})
    bad = dict(TINY, mel={"n_mels": 64})
    train(bad, tmp_path / "bad", manifests=[csv], threads=1, source="t", progress=False)
    with pytest.raises(BaselineError, match="different mel"):
        load(tmp_path / "bad" / "final.safetensors", {"vocoder": str(vocoder_path)})


def test_cli_train_and_restore(tmp_path, vocoder_path, music) -> None:
    import yaml

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

    from baselines.maid import DEFAULTS

    path = Path(__file__).resolve().parents[2] / "config" / "baselines" / "maid" / f"{profile}.yaml"
    cfg = resolve(yaml.safe_load(path.read_text()), str(path))
    assert cfg["sample_rate"] == 44032
    if profile == "default":
        assert cfg == DEFAULTS
    if profile == "paper":
        assert cfg["segment"] == 131072 and cfg["sample"]["steps"] == 50
