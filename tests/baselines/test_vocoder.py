"""The shared mel vocoder: shapes, training, resume, checkpoints, chunked vocoding, released
weights."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch
from baseline_helpers import VOCODER_TINY as TINY
from baseline_helpers import tiny_vocoder_config as tiny_config
from baseline_helpers import write_manifest

from a2sb.checkpoint import sidecar_path
from baselines.interface import BaselineError
from baselines.mel import MelConfig, log_mel
from baselines.registry import METHODS, Kind
from baselines.vocoder import Vocoder, build_vocoder, load, load_vocoder, train, vocode
from baselines.vocoder.losses import MultiResolutionSTFTLoss, MultiScaleMelLoss
from baselines.vocoder.model import kaiser_sinc
from baselines.vocoder.released import map_released

RATE = 44100
HOP = 512


def manifest_of(folder: Path, music, n: int = 2) -> str:
    return str(write_manifest(folder, [music(RATE, RATE, seed=i) for i in range(n)], RATE))


def final_weights(run: Path) -> dict[str, torch.Tensor]:
    return safetensors.torch.load_file(str(run / "final.safetensors"))


def peak_hz(wave: np.ndarray) -> float:
    """Frequency of the largest spectral peak above 50 Hz."""
    wave = wave - wave.mean()
    spec = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    freqs = np.fft.rfftfreq(len(wave), 1 / RATE)
    spec[freqs < 50] = 0
    return float(freqs[spec.argmax()])


def test_component_and_shapes() -> None:
    assert METHODS["vocoder"].kind is Kind.COMPONENT and METHODS["vocoder"].tasks == ()
    with pytest.raises(BaselineError, match="component"):
        load(None, {})
    torch.manual_seed(0)
    voc = build_vocoder({"model": TINY})
    assert isinstance(voc, Vocoder) and voc.mel == MelConfig()
    assert voc(torch.randn(2, 128, 5)).shape == (2, 5 * HOP)
    aa = build_vocoder({"model": {**TINY, "anti_alias": True, "activation": "snake"}})
    assert aa(torch.randn(1, 128, 3)).shape == (1, 3 * HOP)


def test_kaiser_filter_is_a_unit_gain_lowpass() -> None:
    h = kaiser_sinc(0.25, 0.3, 12)[0, 0].double().numpy()
    assert h.shape == (12,) and abs(h.sum() - 1) < 1e-6 and np.allclose(h, h[::-1])
    response = np.abs(np.fft.rfft(h, 512))
    assert response[-1] < 0.01  # Nyquist of the doubled rate is rejected


def test_config_errors_name_file_and_key(tmp_path) -> None:
    with pytest.raises(BaselineError, match=r"cfg\.yaml.*model\.bogus"):
        train({"model": {"bogus": 1}}, tmp_path, manifests=[], source="cfg.yaml")
    with pytest.raises(BaselineError, match=r"cfg\.yaml.*hop"):
        build_vocoder({"model": {**TINY, "upsample_rates": [8, 8, 4]}}, source="cfg.yaml")
    with pytest.raises(BaselineError, match=r"cfg\.yaml.*bogus"):
        build_vocoder({"bogus": {}}, source="cfg.yaml")
    with pytest.raises(BaselineError, match="cfg.yaml"):
        train({"train": {"steps": "many"}}, tmp_path, manifests=[], source="cfg.yaml")
    with pytest.raises(BaselineError, match=r"cfg\.yaml.*train\.clip_grad_norm"):  # now grad_clip
        train({"train": {"clip_grad_norm": 1.0}}, tmp_path, manifests=[], source="cfg.yaml")
    with pytest.raises(BaselineError, match=r"cfg\.yaml.*gan_start"):
        train({"train": {"gan_start": -1}}, tmp_path, manifests=[], source="cfg.yaml")
    assert not any(tmp_path.iterdir())  # nothing written for a bad config


def test_one_step_lowers_the_loss_on_a_fixed_batch(music) -> None:
    torch.manual_seed(0)
    voc = build_vocoder({"model": TINY})
    wave = torch.from_numpy(
        np.stack([music(4096, RATE, seed=s) for s in (1, 2)]).astype(np.float32)
    )
    spec = log_mel(wave, voc.mel)
    mel_loss = MultiScaleMelLoss(RATE, [512, 2048], [40, 80])
    stft_loss = MultiResolutionSTFTLoss([[1024, 120, 600]])
    opt = torch.optim.Adam(voc.parameters(), lr=1e-3)

    def loss() -> torch.Tensor:
        out = voc(spec)
        return 45 * mel_loss(out, wave) + stft_loss(out, wave)

    before = loss()
    opt.zero_grad()
    before.backward()
    opt.step()
    with torch.no_grad():
        after = loss()
    assert after.item() < before.item()


def test_vocoder_reconstructs_a_tones_pitch() -> None:
    """A tiny vocoder with the Griffin-Lim prior (as the default profile), fit for a few dozen
    steps on two tones, gives back each tone's pitch from its mel."""
    torch.manual_seed(0)
    voc = build_vocoder({"model": {**TINY, "prior_iters": 32}})
    f0s = (440.0, 1000.0)
    t = np.arange(8 * HOP) / RATE
    mel_loss = MultiScaleMelLoss(RATE, [512, 2048], [40, 80])
    stft_loss = MultiResolutionSTFTLoss([[1024, 120, 600], [2048, 240, 1200]])
    opt = torch.optim.Adam(voc.parameters(), lr=5e-4)
    rng = np.random.default_rng(0)
    for _ in range(20):
        wave = torch.tensor(
            np.stack([0.5 * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) for f in f0s]),
            dtype=torch.float32,
        )
        out = voc(log_mel(wave, voc.mel))
        loss = 45 * mel_loss(out, wave) + stft_loss(out, wave)
        opt.zero_grad()
        loss.backward()
        opt.step()
    long_t = np.arange(40 * HOP) / RATE
    for f0 in f0s:
        x = (0.5 * np.sin(2 * np.pi * f0 * long_t)).astype(np.float32)
        y = vocode(voc, log_mel(torch.from_numpy(x), voc.mel))
        assert y.shape == x.shape and y.dtype == np.float32
        assert abs(peak_hz(y) / f0 - 1) < 0.03, (f0, peak_hz(y))
        assert 0.3 < y.std() / x.std() < 3


def test_train_writes_a_deterministic_loadable_checkpoint(tmp_path, music) -> None:
    manifest = manifest_of(tmp_path, music)
    cfg = tiny_config(gan_start=1)
    summary = train(cfg, tmp_path / "a", manifests=[manifest], threads=1, progress=False)
    assert summary["steps"] == 2 and np.isfinite(summary["final_loss"])
    assert np.isfinite(summary["final_mel_loss"])
    ckpt = tmp_path / "a" / "final.safetensors"
    side = json.loads(sidecar_path(ckpt).read_text())
    assert side["method"] == "vocoder" and manifest in side["manifests"]
    with open(tmp_path / "a" / "log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and np.isfinite(float(rows[-1]["mel_loss"]))
    train(cfg, tmp_path / "b", manifests=[manifest], threads=1, progress=False)
    a, b = final_weights(tmp_path / "a"), final_weights(tmp_path / "b")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    voc = load_vocoder(ckpt)
    assert not voc.training
    ref = build_vocoder({"model": TINY})
    ref.load_state_dict(a)
    spec = log_mel(torch.from_numpy(music(10 * HOP, RATE, seed=3).astype(np.float32)), voc.mel)
    assert np.array_equal(vocode(voc, spec), vocode(ref, spec))
    with pytest.raises(BaselineError, match="not found"):
        load_vocoder(tmp_path / "missing.safetensors")


def test_chunked_vocoding_matches_one_pass(music) -> None:
    torch.manual_seed(0)
    voc = build_vocoder({"model": TINY}).eval()
    spec = log_mel(torch.from_numpy(music(60 * HOP, RATE, seed=4).astype(np.float32)), voc.mel)
    whole = vocode(voc, spec, chunk_frames=1000)
    parts = vocode(voc, spec, chunk_frames=16)
    assert whole.shape == (60 * HOP,)
    assert np.allclose(whole, parts, atol=1e-5)
    with pytest.raises(BaselineError, match="mel"):
        vocode(voc, torch.zeros(80, 4))


# ------------------------------------------------------------------ released BigVGAN weights
RELEASED_TINY = {
    "resblock": "1",
    "upsample_rates": [8, 8, 8],
    "upsample_kernel_sizes": [16, 16, 16],
    "upsample_initial_channel": 32,
    "resblock_kernel_sizes": [3, 5],
    "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5]],
    "activation": "snakebeta",
    "snake_logscale": True,
    "use_tanh_at_final": False,
    "use_bias_at_final": False,
    "num_mels": 128,
    "n_fft": 2048,
    "hop_size": 512,
    "win_size": 2048,
    "sampling_rate": 44100,
    "fmin": 0,
    "fmax": None,
}


def released_state(h: dict, plain: bool = False) -> dict[str, torch.Tensor]:
    """A random generator state dict with BigVGAN's own names and shapes (written from its
    module layout: conv_pre, ups.i.0, resblocks.n.{convs1,convs2,activations}, activation_post,
    conv_post; weight-normalised convs as weight_g / weight_v)."""
    gen = torch.Generator().manual_seed(0)
    out: dict[str, torch.Tensor] = {}

    def conv(name: str, shape: tuple[int, ...], bias: int | None) -> None:
        v = torch.randn(shape, generator=gen) * 0.1
        if plain:
            out[f"{name}.weight"] = v
        else:
            out[f"{name}.weight_g"] = torch.rand((shape[0], 1, 1), generator=gen) + 0.5
            out[f"{name}.weight_v"] = v
        if bias is not None:
            out[f"{name}.bias"] = torch.randn(bias, generator=gen) * 0.01

    def act(name: str, c: int) -> None:
        out[f"{name}.act.alpha"] = torch.randn(c, generator=gen) * 0.1
        out[f"{name}.act.beta"] = torch.randn(c, generator=gen) * 0.1
        taps = kaiser_sinc(0.25, 0.3, 12)
        out[f"{name}.upsample.filter"] = taps.clone()
        out[f"{name}.downsample.lowpass.filter"] = taps.clone()

    c = h["upsample_initial_channel"]
    conv("conv_pre", (c, h["num_mels"], 7), c)
    n = 0
    for i, k in enumerate(h["upsample_kernel_sizes"]):
        conv(f"ups.{i}.0", (c, c // 2, k), c // 2)  # ConvTranspose1d weight [in, out, k]
        c //= 2
        for kk, ds in zip(h["resblock_kernel_sizes"], h["resblock_dilation_sizes"]):
            for j in range(len(ds)):
                conv(f"resblocks.{n}.convs1.{j}", (c, c, kk), c)
                conv(f"resblocks.{n}.convs2.{j}", (c, c, kk), c)
            for m in range(2 * len(ds)):
                act(f"resblocks.{n}.activations.{m}", c)
            n += 1
    act("activation_post", c)
    conv("conv_post", (1, c, 7), None)
    return out


def test_released_names_map_onto_ours(tmp_path, music) -> None:
    state = released_state(RELEASED_TINY)
    mapped = map_released(state, n_kernels=2)
    # the second activation of unit 1 of block 1 (kernel 5) in stage 2 = resblocks.5.activations.3
    assert torch.equal(
        mapped["stages.2.blocks.1.units.1.act2.alpha"], state["resblocks.5.activations.3.act.alpha"]
    )
    assert torch.equal(
        mapped["stages.0.up.parametrizations.weight.original1"], state["ups.0.0.weight_v"]
    )
    # .pt with {"generator": ...} (weights_only) and .safetensors, with config.json beside them
    (tmp_path / "config.json").write_text(json.dumps(RELEASED_TINY))
    torch.save({"generator": state}, tmp_path / "bigvgan_generator.pt")
    safetensors.torch.save_file(state, str(tmp_path / "bigvgan_generator.safetensors"))
    a = load_vocoder(tmp_path / "bigvgan_generator.pt")
    b = load_vocoder(tmp_path / "bigvgan_generator.safetensors")
    assert a.model_config["anti_alias"] and a.model_config["initial_channels"] == 32
    w = state["conv_pre.weight_v"]
    g = state["conv_pre.weight_g"]
    expected = g * w / w.flatten(1).norm(dim=1).view(-1, 1, 1)
    assert torch.allclose(a.input_conv.weight, expected, atol=1e-6)
    spec = log_mel(torch.from_numpy(music(6 * HOP, RATE, seed=5).astype(np.float32)), a.mel)
    ya, yb = vocode(a, spec), vocode(b, spec)
    assert np.array_equal(ya, yb) and np.all(np.isfinite(ya))
    # a file whose weight norm was removed (plain weights) gives the same network function
    plain_dir = tmp_path / "plain"
    plain_dir.mkdir()
    (plain_dir / "config.json").write_text(json.dumps(RELEASED_TINY))
    plain = {}
    for k, v in state.items():
        if k.endswith(".weight_v"):
            base = k[: -len("weight_v")]
            g = state[base + "weight_g"]
            plain[base + "weight"] = g * v / v.flatten(1).norm(dim=1).view(-1, 1, 1)
        elif not k.endswith(".weight_g"):
            plain[k] = v
    torch.save(plain, plain_dir / "g.pt")
    assert np.allclose(vocode(load_vocoder(plain_dir / "g.pt"), spec), ya, atol=1e-4)


def test_released_shape_mismatch_and_bad_files(tmp_path) -> None:
    state = released_state(RELEASED_TINY)
    torch.save({"generator": state}, tmp_path / "g.pt")  # no config.json: the 1536-channel shape
    with pytest.raises(BaselineError, match="expected shape"):
        load_vocoder(tmp_path / "g.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a pickle")
    with pytest.raises(BaselineError, match="weights-only"):
        load_vocoder(tmp_path / "junk.pt")


@pytest.mark.parametrize("profile", ["default", "paper", "ci"])
def test_profile_configs_are_valid(profile) -> None:
    import yaml

    from baselines.vocoder import DEFAULTS, full_config

    path = (
        Path(__file__).resolve().parents[2] / "config" / "baselines" / "vocoder" / f"{profile}.yaml"
    )
    cfg = full_config(yaml.safe_load(path.read_text()), str(path))
    assert cfg["train"]["checkpoint_every"] > 0  # every run can resume
    if profile == "default":
        assert cfg == DEFAULTS  # the code's defaults are the default profile
    if profile == "paper":
        from baselines.vocoder.released import RELEASED_44K_512X

        assert cfg["model"] == RELEASED_44K_512X
