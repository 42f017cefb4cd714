"""The gap's starting phase (a2sb.phase_prior, fill_prior "context-phase"): a steady partial's
phase carried across the gap from both sides, only known frames read, borders handled."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from a2sb.masks import MaskConfig, apply_mask, gap_mask
from a2sb.phase_prior import gap_phase
from a2sb.representation import STFTConfig, encode

CFG = STFTConfig(sample_rate=16000, n_fft=512, hop_length=128, win_length=512, segment_frames=64)


def tone(freq: float, seconds: float = 1.5) -> torch.Tensor:
    t = torch.arange(int(seconds * CFG.sample_rate), dtype=torch.float64) / CFG.sample_rate
    return (0.5 * torch.sin(2 * torch.pi * freq * t)).float()


@pytest.mark.parametrize("freq", [1000.0, 1234.5])  # on a bin centre, between two
def test_a_steady_partial_keeps_its_phase_across_the_gap(freq):
    x = encode(tone(freq), CFG, "factorized")  # [3, N, W]
    mask = gap_mask(CFG, x.shape[-1], [(0.6, 0.9)])
    cos, sin, filled = gap_phase(x[1] * (1 - mask), x[2] * (1 - mask), mask)
    row = CFG.row_of_frequency(freq)
    gap = mask[0] > 0
    assert gap.sum() > 10 and torch.equal(filled[:, gap], torch.ones_like(filled[:, gap]))
    err = torch.atan2(sin[row, gap] * x[1, row, gap] - cos[row, gap] * x[2, row, gap],
                      cos[row, gap] * x[1, row, gap] + sin[row, gap] * x[2, row, gap])  # fmt: skip
    assert float(err.abs().max()) < 0.05  # radians, in every frame of the gap
    assert torch.allclose(cos**2 + sin**2, filled, atol=1e-5)  # unit vectors, 0 outside
    assert torch.equal(cos[:, ~gap], torch.zeros_like(cos[:, ~gap]))


def test_only_known_frames_are_read_and_borders_use_one_side():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 257, 40, generator=gen)
    mask = torch.zeros(2, 257, 40)
    mask[0, :, 10:20] = 1  # inside
    mask[1, :, :5] = 1  # at the start: the right side only
    mask[1, :, 39:] = 1  # at the end, one frame: the left side only
    changed = x.clone()
    changed[:, 1:][mask.unsqueeze(1).expand_as(x[:, 1:]) > 0] = 5.0
    got = gap_phase(x[:, 1], x[:, 2], mask)
    assert all(
        torch.equal(a, b) for a, b in zip(got, gap_phase(changed[:, 1], changed[:, 2], mask))
    )
    assert torch.equal(got[2], mask)  # every gap had a usable side
    phase = torch.atan2(x[1, 2], x[1, 1]).double()
    advance = phase[:, 6] - phase[:, 5]
    want = phase[:, 5] - advance * 1  # frame 4, one before the right edge
    assert torch.allclose(got[0][1, :, 4].double(), torch.cos(want), atol=1e-5)
    whole = torch.ones(1, 257, 40)
    assert not gap_phase(x[0, 1:2], x[0, 2:3], whole)[2].any()  # no side: noise stays


def test_apply_mask_adds_the_phase_and_keeps_the_trend_magnitude():
    gen = torch.Generator().manual_seed(1)
    x0 = encode(tone(800.0) + 0.01 * torch.randn(24000, generator=gen), CFG, "factorized")
    mask = gap_mask(CFG, x0.shape[-1], [(0.5, 0.8)])
    noise = torch.randn(x0.shape, generator=gen)
    trend = apply_mask(x0, mask, 0.1, noise, prior="context-trend")
    phase = apply_mask(x0, mask, 0.1, noise, prior="context-phase")
    assert torch.equal(phase[0], trend[0])
    cos, sin, _ = gap_phase(x0[1] * (1 - mask), x0[2] * (1 - mask), mask)
    assert torch.allclose(phase[1], trend[1] + cos) and torch.allclose(phase[2], trend[2] + sin)
    assert MaskConfig(fill_prior="context-phase").fill_prior == "context-phase"
    # the complex representation takes the estimate's angle in the gap
    xc = encode(tone(800.0), CFG, "complex")
    yc = apply_mask(xc, mask, 0.0, torch.zeros_like(xc), prior="context-phase")
    row, gap = CFG.row_of_frequency(800.0), mask[0] > 0
    err = torch.angle(torch.complex(yc[0, row, gap], yc[1, row, gap])
                      * torch.complex(xc[0, row, gap], -xc[1, row, gap]))  # fmt: skip
    assert float(err.abs().max()) < 0.05
    assert np.isfinite(phase.numpy()).all()
