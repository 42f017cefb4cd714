"""The bridge's starting point decoded with no network (a2sb.restoration.starting_point, eq. 8):
the known region of the input, the fill prior in the masked region, the sampler's own X1."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import a2sb
from a2sb import restoration
from a2sb.network import A2SBUNet
from a2sb.restoration import CROSSFADE_S, Restorer, starting_point
from metrics.degradations import apply_gaps, bandwidth_limit
from tests.conftest import music_like, trend_checkpoint

STFT = a2sb.STFTConfig(
    sample_rate=16000, n_fft=256, hop_length=128, win_length=256, segment_frames=64
)
RATE = STFT.sample_rate
CUTOFF = 3000.0
GAP = (1.0, 1.3)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A tiny model trained (as far as its sidecar says) with the default profile's fill."""
    return trend_checkpoint(tmp_path_factory.mktemp("ckpt") / "trend.safetensors", STFT)


@pytest.fixture
def no_network(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the starting point called the network")

    monkeypatch.setattr(A2SBUNet, "forward", refuse)


def audio(seed: int = 7) -> np.ndarray:
    return music_like(RATE * 3, RATE, seed=seed, lowest_hz=300).astype(np.float32)


def spectrum(x: np.ndarray) -> torch.Tensor:
    """|STFT| [bins, frames] with 4x overlap."""
    return torch.stft(torch.from_numpy(np.ascontiguousarray(x)), 256, 64,
                      window=torch.hann_window(256), return_complex=True).abs()  # fmt: skip


def test_bandwidth_extension_keeps_the_low_band_and_fills_the_high_one(checkpoint, no_network):
    degraded = bandwidth_limit(audio(), RATE, CUTOFF)
    out = starting_point(degraded, RATE, task="bandwidth-extension", cutoff_hz=CUTOFF,
                         checkpoint=checkpoint)  # fmt: skip
    assert out.shape == degraded.shape and out.dtype == np.float32 and np.isfinite(out).all()
    s_in, s_out = spectrum(degraded)[:, 4:-4], spectrum(out)[:, 4:-4]
    low = slice(1, int(0.9 * CUTOFF / RATE * 256))  # known rows, clear of the cutoff's transition
    assert float((s_out[low] - s_in[low]).abs().max() / s_in[low].max()) < 0.05
    high = slice(int(1.2 * CUTOFF / RATE * 256), None)
    # the degraded input is empty above the cutoff; the starting point holds the prior's band
    energy_in, energy_out = float((s_in[high] ** 2).sum()), float((s_out[high] ** 2).sum())
    assert energy_out > 100 * energy_in and energy_out > 1e-4 * float((s_out[low] ** 2).sum())


def test_inpainting_keeps_the_samples_outside_the_gaps_and_fills_them(checkpoint, no_network):
    degraded = apply_gaps(audio(), RATE, [GAP])
    out = starting_point(degraded, RATE, task="inpainting", gaps=[GAP], checkpoint=checkpoint)
    fade = round(CROSSFADE_S * RATE)
    start, stop = round(GAP[0] * RATE), round(GAP[1] * RATE)
    keep = np.ones(degraded.size, dtype=bool)
    keep[start - fade : stop + fade] = False
    assert np.array_equal(out[keep], degraded[keep])
    inside = out[start:stop]
    assert not np.any(degraded[start:stop]) and np.sqrt(np.mean(inside**2)) > 0.01


def test_it_is_the_point_the_sampler_starts_from(checkpoint, monkeypatch):
    """restore() with a sampler that returns its X1 unchanged writes the starting point, bit for
    bit, in both tasks and in every channel (each channel's own keyed fill noise)."""
    starts = []

    def start_only(eps_fn, x1, mask, schedule, **kwargs):
        starts.append(x1.clone())
        return x1

    monkeypatch.setattr(restoration, "sample", start_only)
    stereo = np.stack([audio(7), audio(8)])
    for kwargs in ({"task": "bandwidth-extension", "cutoff_hz": CUTOFF},
                   {"task": "inpainting", "gaps": [GAP]}):  # fmt: skip
        restored = a2sb.restore(stereo, RATE, checkpoint=checkpoint, steps=2, seed=3, **kwargs)
        start = starting_point(stereo, RATE, checkpoint=checkpoint, seed=3, **kwargs)
        assert start.shape == stereo.shape and np.array_equal(restored, start)
    assert len(starts) == 4 and not torch.equal(starts[0], starts[1])


def test_same_seed_same_output_and_the_seed_draws_the_fill(checkpoint, no_network):
    x = bandwidth_limit(audio(), RATE, CUTOFF)
    kwargs = {"task": "bandwidth-extension", "cutoff_hz": CUTOFF, "checkpoint": checkpoint}
    a, b = starting_point(x, RATE, seed=5, **kwargs), starting_point(x, RATE, seed=5, **kwargs)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, starting_point(x, RATE, seed=6, **kwargs))
    with pytest.raises(AssertionError, match="called the network"):  # the guard is live
        a2sb.restore(x, RATE, steps=1, seed=5, **kwargs)


def test_a_loaded_restorer_is_reused_and_bad_inputs_are_one_line_errors(checkpoint, no_network):
    model = Restorer.from_checkpoint(checkpoint)
    x = audio()
    assert starting_point(x, RATE, task="inpainting", gaps=[GAP], checkpoint=model).shape == x.shape
    with pytest.raises(a2sb.InputError, match="outside the file"):
        starting_point(x, RATE, task="inpainting", gaps=[(2.9, 3.5)], checkpoint=model)
    with pytest.raises(a2sb.InputError, match="needs a cutoff"):
        starting_point(x, RATE, task="bandwidth-extension", checkpoint=model)
    with pytest.raises(a2sb.InputError, match="no checkpoint"):
        starting_point(x, RATE, task="inpainting", gaps=[GAP])
