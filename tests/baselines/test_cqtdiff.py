"""CQTDiff: exact CQT, EDM pieces, guided sampling, restoration, training and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from baseline_helpers import CQTDIFF_TINY as TINY
from baseline_helpers import write_manifest

from baselines.common import load_weights
from baselines.cqtdiff import load, train
from baselines.cqtdiff.config import DEFAULTS, full_config
from baselines.cqtdiff.cqt import NSGT, CQTLayout
from baselines.cqtdiff.edm import EDM, Churn, heun_sample
from baselines.cqtdiff.guidance import GuidedDenoiser, lowpass, masking
from baselines.cqtdiff.network import build_network
from baselines.cqtdiff.restore import CQTDiffRestorer, gap_regions
from baselines.interface import BaselineError, BaselineRestorer, Degradation

ROOT = Path(__file__).resolve().parents[2]


def tiny_restorer(**sampler) -> CQTDiffRestorer:
    cfg = full_config(TINY)
    cfg["diffusion"]["sigma_data"] = 0.1
    cfg["sampler"].update(sampler)
    torch.manual_seed(0)
    return CQTDiffRestorer(build_network(cfg), cfg)


def tiny_manifest(folder: Path, music, rate: int = 16000) -> Path:
    """Two 1-s files of synthetic music at the tiny model's rate."""
    return write_manifest(folder, [music(rate, rate, seed=i) for i in range(2)], rate)


# -- the transform ------------------------------------------------------------------------------
@pytest.mark.parametrize("rate,bins,octaves", [(44100, 12, 8), (16000, 4, 3), (22050, 24, 6)])
def test_cqt_round_trip(rate: int, bins: int, octaves: int) -> None:
    layout = CQTLayout(rate, bins, octaves)
    nsgt = NSGT(layout, layout.fit_length(rate // 2))
    x = torch.randn(2, nsgt.length, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    coefs = nsgt(x)
    assert [tuple(c.shape[-2:]) for c in coefs] == list(nsgt.shapes)
    assert [c.shape[-2] for c in coefs] == list(layout.rows)
    assert (nsgt.inverse(coefs) - x).abs().max() < 1e-10
    x32 = x.float()
    assert (nsgt.inverse(nsgt(x32)) - x32).abs().max() < 1e-4
    assert all(c.dtype == torch.complex64 for c in nsgt(x32))


def test_cqt_is_constant_q() -> None:
    """A sinusoid lands in the row whose centre frequency is nearest to it."""
    layout = CQTLayout(44100, 12, 8)
    nsgt = NSGT(layout, layout.fit_length(22050))
    t = torch.arange(nsgt.length, dtype=torch.float64) / 44100
    centres = layout.centres()[1:-1]
    for k in (5, 40, 90):
        coefs = nsgt(torch.sin(2 * np.pi * centres[k] * t))
        j = (layout.n_bins - 1 - k) // 12  # octave (top first)
        energy = [c.abs().pow(2).mean(-1) for c in coefs]
        assert int(np.argmax([e.max() for e in energy])) == j
        row = int(energy[j].argmax())
        offset = 1 if j == layout.octaves - 1 else 0  # the low-pass row comes first there
        assert row - offset == k - (layout.n_bins - (j + 1) * 12)


# -- EDM ------------------------------------------------------------------------------------------
def test_edm_preconditioning_and_schedule() -> None:
    edm = EDM(sigma_data=0.5, sigma_min=1e-3, sigma_max=10.0, rho=7.0)
    sigma = torch.tensor([0.5])
    c_skip, c_out, c_in, c_noise = edm.coefficients(sigma)
    assert torch.allclose(c_skip, torch.tensor([0.5]))
    assert torch.allclose(c_out, torch.tensor([0.5 / 2**0.5]))
    assert torch.allclose(c_in, torch.tensor([1 / (0.5 * 2**0.5)]))
    assert torch.allclose(c_noise, torch.log(sigma) / 4)
    s = edm.schedule(5)
    assert s.shape == (6,) and s[0] == pytest.approx(10.0) and s[4] == pytest.approx(1e-3)
    assert s[5] == 0 and torch.all(s[:-1] > s[1:])
    gen = torch.Generator().manual_seed(0)
    for kind in ("rho", "lognormal"):
        t = EDM(0.5, train_sigma=kind).train_sigmas(1000, gen)
        assert t.min() >= 1e-4 * 0.999 and t.max() <= 10.0 * 1.001


def test_training_steps_lower_the_loss() -> None:
    cfg = full_config(TINY)
    torch.manual_seed(0)
    net = build_network(cfg)
    edm = EDM(sigma_data=0.2, sigma_max=1.0)
    length = net.layout.fit_length(2000)
    t = torch.arange(length) / 16000
    x0 = 0.2 * torch.stack([torch.sin(2 * np.pi * 440 * t), torch.sin(2 * np.pi * 1250 * t)])
    gen = torch.Generator().manual_seed(1)
    sigma, noise = torch.tensor([0.05, 0.3]), torch.randn(x0.shape, generator=gen)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    with torch.no_grad():
        before = float(edm.loss(net, x0, sigma, noise))
    for _ in range(5):
        opt.zero_grad()
        edm.loss(net, x0, sigma, noise).backward()
        opt.step()
    with torch.no_grad():
        after = float(edm.loss(net, x0, sigma, noise))
    assert after < before


# -- guided sampling with known denoisers -------------------------------------------------------
def _clean(n: int = 1024) -> torch.Tensor:
    t = torch.arange(n) / 16000
    return (0.3 * torch.sin(2 * np.pi * 500 * t) + 0.2 * torch.sin(2 * np.pi * 5000 * t))[None]


def _sample(denoise, op, y, xi=0.2, consistency=True, steps=4) -> torch.Tensor:
    guided = GuidedDenoiser(denoise, op, y, xi=xi, consistency=consistency)
    sigmas = EDM(0.2, sigma_max=1.0).schedule(steps)
    return heun_sample(guided, tuple(y.shape), sigmas, Churn(), torch.Generator().manual_seed(0))


def test_perfect_denoiser_returns_known_samples_inpainting() -> None:
    clean = _clean()
    mask = torch.ones(clean.shape[-1])
    mask[400:600] = 0
    y = clean * mask
    out = _sample(lambda x, s: clean.expand_as(x), masking(mask), y)
    assert torch.allclose(out[:, mask > 0], y[:, mask > 0], atol=1e-5)
    assert torch.allclose(out, clean, atol=1e-5)
    # a useless denoiser (always zero) still returns the known samples, by data consistency
    zero = _sample(lambda x, s: torch.zeros_like(x), masking(mask), y)
    assert torch.allclose(zero[:, mask > 0], y[:, mask > 0], atol=1e-5)


def test_perfect_denoiser_returns_known_band_bwe() -> None:
    clean = _clean()
    op = lowpass(16000, 2000.0)
    y = op(clean)
    out = _sample(lambda x, s: clean.expand_as(x), op, y)
    assert torch.allclose(op(out), y, atol=1e-5)
    assert torch.allclose(out, clean, atol=1e-5)
    zero = _sample(lambda x, s: torch.zeros_like(x), op, y)
    assert torch.allclose(op(zero), y, atol=1e-5)


def test_guidance_pulls_towards_observation() -> None:
    """Without data consistency, guidance alone lowers the measurement error."""
    clean = _clean()
    mask = torch.ones(clean.shape[-1])
    mask[300:700] = 0
    y = clean * mask
    denoise = lambda x, s: x / (1 + s[:, None] ** 2)  # noqa: E731  (differentiable, ignorant)
    err = [
        float(
            torch.linalg.vector_norm(
                (y - _sample(denoise, masking(mask), y, xi=xi, consistency=False)) * mask
            )
        )
        for xi in (0.0, 0.5)
    ]
    assert err[1] < err[0]


# -- restoration ----------------------------------------------------------------------------------
def test_restore_inpainting_long_file_keeps_known_audio(music) -> None:
    r = tiny_restorer()
    assert isinstance(r, BaselineRestorer)
    rate = 44100
    x = music(int(1.3 * rate), rate, seed=3).astype(np.float32)  # > the 0.4-s segment
    gaps = ((0.3, 0.35), (0.9, 1.15))
    deg = Degradation("inpainting", gaps_s=gaps)
    holed = x.copy()
    inside = np.zeros(len(x), bool)
    for a, b in deg.gap_samples(rate):
        holed[a:b] = 0
        inside[a:b] = True
    stereo = np.stack([holed, 0.5 * holed])
    out = r.restore(stereo, rate, deg)
    assert out.shape == stereo.shape and out.dtype == np.float32 and np.all(np.isfinite(out))
    assert np.array_equal(out[:, ~inside], stereo[:, ~inside])
    assert np.abs(out[:, inside]).max() > 0  # something was generated
    assert np.array_equal(r.restore(stereo, rate, deg), out)  # seeded


def test_restore_bwe_long_file_keeps_low_band(music) -> None:
    r = tiny_restorer()
    rate = 22050
    x = music(int(1.0 * rate), rate, seed=4)
    spec = np.fft.rfft(x)
    below = np.fft.rfftfreq(len(x), 1 / rate) < 3000.0
    spec[~below] = 0
    low = np.fft.irfft(spec, n=len(x)).astype(np.float32)
    out = r.restore(low, rate, Degradation("bandwidth-extension", cutoff_hz=3000.0))
    assert out.shape == low.shape and np.all(np.isfinite(out))
    fo = np.fft.rfft(out.astype(np.float64))
    assert np.allclose(fo[below], np.fft.rfft(low.astype(np.float64))[below], atol=1e-3)
    assert np.sum(np.abs(fo[~below]) ** 2) > 0
    with pytest.raises(BaselineError, match="Nyquist"):
        r.restore(np.zeros(44100, np.float32), 44100, Degradation("bandwidth-extension", 9000.0))


def test_gap_regions_merge() -> None:
    assert gap_regions([(100, 200), (250, 300), (900, 950)], 1000, 60) == [(40, 360), (840, 1000)]


def test_config_validation() -> None:
    with pytest.raises(BaselineError, match=r"cfg\.yaml: unknown key 'model\.widht'"):
        full_config({"model": {"widht": 3}}, "cfg.yaml")
    with pytest.raises(BaselineError, match=r"cfg\.yaml: unknown key 'epochs'"):
        full_config({"epochs": 3}, "cfg.yaml")
    with pytest.raises(BaselineError, match="channels"):
        full_config({"model": {"depth": 3, "channels": [1, 2]}}, "cfg.yaml")
    with pytest.raises(BaselineError, match="integer"):
        full_config({"train": {"steps": 1.5}}, "cfg.yaml")
    with pytest.raises(BaselineError, match="model.dilations must be a list of numbers"):
        full_config({"model": {"dilations": [1, "two"]}}, "cfg.yaml")
    with pytest.raises(BaselineError, match="train.optimizer must be one of"):
        full_config({"train": {"optimizer": "sgd"}}, "cfg.yaml")
    with pytest.raises(BaselineError, match="sigma_data must be a number or null"):
        full_config({"diffusion": {"sigma_data": "big"}}, "cfg.yaml")
    with pytest.raises(BaselineError, match=r"train\.ema must lie in \[0, 1\)"):
        full_config({"train": {"ema": 1.0}}, "cfg.yaml")
    with pytest.raises(BaselineError, match="max_wall_s"):
        full_config({"train": {"max_wall_s": "soon"}}, "cfg.yaml")
    assert full_config({}) == DEFAULTS and full_config(None) == DEFAULTS
    assert full_config({"train": {"ema": None}})["train"]["ema"] is None  # no EMA
    assert DEFAULTS["train"]["checkpoint_every"] > 0  # every run is resumable
    import yaml

    for profile in ("default", "paper", "ci"):
        path = ROOT / "config" / "baselines" / "cqtdiff" / f"{profile}.yaml"
        full_config(yaml.safe_load(path.read_text()), str(path))
    default = yaml.safe_load((ROOT / "config/baselines/cqtdiff/default.yaml").read_text())
    assert full_config(default) == DEFAULTS  # the default profile spells out the defaults


# -- training and loading -----------------------------------------------------------------------
def test_train_writes_loadable_checkpoint(tmp_path: Path, music) -> None:
    manifest = tiny_manifest(tmp_path / "data", music)
    cfg = dict(TINY, train=dict(TINY["train"], checkpoint_every=1))
    summary = train(cfg, tmp_path / "run", manifests=[str(manifest)], threads=1,
                    source="tiny.yaml", progress=False)  # fmt: skip
    assert summary["steps"] == 2 and np.isfinite(summary["final_loss"])
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["steps"] == 2
    final = tmp_path / "run" / "final.safetensors"
    state, side = load_weights(final, "cqtdiff")
    assert side["config"]["diffusion"]["sigma_data"] == pytest.approx(summary["sigma_data"])
    assert side["seed"] == 0 and str(manifest) in side["manifests"] and side["sha256"]
    assert side["extra"]["step"] == 2 and side["extra"]["weights"] == "ema"
    assert side["extra"]["segment_samples"] == summary["segment_samples"]
    step1 = tmp_path / "run" / "checkpoints" / "step_00000001.safetensors"
    assert step1.is_file() and load_weights(step1, "cqtdiff")[1]["extra"]["weights"] == "raw"
    assert (tmp_path / "run" / "log.csv").read_text().count("\n") == 3
    r = load(final, {"steps": 1, "seed": 3, "vocoder": "ignored"})
    assert r.steps == 1 and r.seed == 3
    # deterministic: a second run gives the same weights
    again = train(TINY, tmp_path / "run2", manifests=[str(manifest)], threads=1,
                  source="tiny.yaml", progress=False)  # fmt: skip
    state2, _ = load_weights(tmp_path / "run2" / "final.safetensors", "cqtdiff")
    assert again["final_loss"] == summary["final_loss"]
    assert all(torch.equal(state[k], state2[k]) for k in state)
    with pytest.raises(BaselineError, match="tiny.yaml: unknown key"):
        train({"bogus": 1}, tmp_path / "bad", manifests=[str(manifest)], source="tiny.yaml")


def test_cli_train_and_restore(tmp_path: Path, music, capsys) -> None:
    import yaml

    from baselines.cli import main

    manifest = tiny_manifest(tmp_path / "data", music)
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    res = subprocess.run(
        [sys.executable, "-m", "baselines", "train", "--method", "cqtdiff", "--config", str(config),
         "--manifest", str(manifest), "--out", str(tmp_path / "run"), "--threads", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    ckpt = tmp_path / "run" / "final.safetensors"
    assert json.loads(ckpt.with_suffix(".json").read_text())["method"] == "cqtdiff"
    rate = 44100
    x = music(int(0.8 * rate), rate, seed=5).astype(np.float32)
    x[round(0.4 * rate) : round(0.5 * rate)] = 0
    sf.write(tmp_path / "in.wav", x, rate, subtype="FLOAT")
    restore = ["restore", "--method", "cqtdiff", "--quiet"]
    assert main([*restore, "--checkpoint", str(ckpt), "--task", "inpainting", "--gaps", "0.4-0.5",
                 "--steps", "1", str(tmp_path / "in.wav"), str(tmp_path / "out.wav")]) == 0  # fmt: skip
    out, out_rate = sf.read(tmp_path / "out.wav", dtype="float32")
    keep = np.ones(len(x), bool)
    keep[round(0.4 * rate) : round(0.5 * rate)] = False
    assert out_rate == rate and out.shape == x.shape and np.array_equal(out[keep], x[keep])
    assert main([*restore, "--checkpoint", str(ckpt), "--task", "bandwidth-extension",
                 "--cutoff-hz", "4000", "--steps", "1", str(tmp_path / "out.wav"),
                 str(tmp_path / "bwe.wav")]) == 0  # fmt: skip
    assert sf.read(tmp_path / "bwe.wav")[0].shape == x.shape
    capsys.readouterr()
    assert main([*restore, "--checkpoint", str(tmp_path / "nope.safetensors"), "--task",
                 "inpainting", "--gaps", "0.1-0.2", str(tmp_path / "in.wav"),
                 str(tmp_path / "o2.wav")]) == 2  # fmt: skip
    assert capsys.readouterr().err.startswith("baselines: error:")
    assert not (tmp_path / "o2.wav").exists()
