"""The context estimate of missing magnitudes (a2sb.context_prior) and its use in apply_mask."""

from __future__ import annotations

import pytest
import torch

from a2sb.context_prior import context_prior
from a2sb.masks import MaskConfig, apply_mask, bandwidth_mask, gap_mask
from a2sb.representation import STFTConfig

CFG = STFTConfig(sample_rate=44100, n_fft=1024, hop_length=512, win_length=1024, segment_frames=128)
N, W = CFG.n_rows, 128


def power_law(exponent: float = -0.5) -> torch.Tensor:
    """``|S|^rho`` of a power-law spectrum whose level rises over time: [N, W]."""
    rows = torch.arange(1, N + 1, dtype=torch.float64)
    return ((rows**exponent)[:, None] * torch.linspace(0.5, 1.5, W)[None, :].double()).float()


@pytest.mark.parametrize("cutoff", [2000.0, 4000.0, 8000.0, 12000.0])
def test_bandwidth_prior_extends_a_power_law_frame_by_frame(cutoff):
    mag = power_law()
    mask = bandwidth_mask(CFG, W, cutoff)
    est = context_prior(mag, mask)
    r = CFG.row_of_frequency(cutoff)
    assert torch.all(est[:r] == 0)
    assert torch.allclose(est[r:], mag[r:], rtol=0.02)


def test_bandwidth_prior_never_rises_above_the_cutoff():
    mag = power_law(exponent=+0.3)  # a rising spectrum: the slope is clamped to flat
    mask = bandwidth_mask(CFG, W, 4000.0)
    r = CFG.row_of_frequency(4000.0)
    est = context_prior(mag, mask)[r:]
    assert torch.all(est[1:] <= est[:-1] + 1e-6)


def test_gap_prior_interpolates_between_the_edges():
    mag = torch.zeros(N, W)
    mag[:, :64] = 1.0
    mag[:, 64:] = 3.0
    mask = gap_mask(CFG, W, [(0.5, 0.9)])
    cols = torch.nonzero(mask[0]).flatten()
    a, b = int(cols[0]), int(cols[-1]) + 1
    est = context_prior(mag, mask)
    inside = est[0, a:b]
    assert (
        torch.all(inside[1:] > inside[:-1]) and 1.0 < float(inside[0]) and float(inside[-1]) < 3.0
    )
    assert torch.all(est[:, :a] == 0) and torch.all(est[:, b:] == 0)


def test_gap_at_a_border_takes_the_one_known_side():
    mag = torch.full((N, W), 2.0)
    mask = torch.zeros(N, W)
    mask[:, :10] = 1
    assert torch.allclose(context_prior(mag, mask)[:, :10], torch.full((N, 10), 2.0))


def decaying_into_a_gap() -> tuple[torch.Tensor, torch.Tensor, int, int]:
    """``|S|^0.25`` whose power falls 1 dB per frame up to a gap and is steady after it."""
    frames = torch.arange(W, dtype=torch.float64)
    power_db = torch.where(frames < 64, -frames, torch.full_like(frames, -64.0))
    mag = (10.0 ** (power_db / 10.0)).pow(0.125)[None, :].expand(N, W).float().contiguous()
    mask = torch.zeros(N, W)
    mask[:, 64:96] = 1.0
    return mag, mask, 64, 96


def test_trend_prior_carries_a_decaying_edge_into_the_gap():
    mag, mask, a, b = decaying_into_a_gap()
    plain = context_prior(mag, mask, trend=0)[0, a:b]
    trend = context_prior(mag, mask, trend=8)[0, a:b]
    # the left edge keeps falling ~1 dB/frame (0.1 dB dead zone): below the interpolation
    assert torch.all(trend < plain)
    first_db = 80 * torch.log10(trend[0] / mag[0, a - 3 : a].mean())
    assert -1.6 < float(first_db) < -0.4
    # near the right edge, whose level is steady, it meets the right edge's level
    assert abs(float(trend[-1] / plain[-1]) - 1.0) < 0.1


def test_trend_prior_keeps_the_interpolation_for_steady_or_rising_edges():
    mag = torch.zeros(N, W)
    mag[:, :64] = torch.linspace(0.5, 1.0, 64)  # a rise into the gap: not extrapolated upwards
    mag[:, 64:] = 2.0
    mask = gap_mask(CFG, W, [(0.5, 0.9)])
    assert torch.allclose(context_prior(mag, mask, trend=8), context_prior(mag, mask, trend=0))


def test_trend_prior_decays_at_most_the_bounded_rate():
    frames = torch.arange(W, dtype=torch.float64)
    mag = (10.0 ** (-20.0 * frames / 10.0)).pow(0.125)[None, :].expand(N, W).float().contiguous()
    mag = mag.clamp_min(1e-30)
    mask = torch.zeros(N, W)
    mask[:, 4:] = 1.0  # a gap to the end: the left side alone, 20 dB/frame, bounded to 3
    est = context_prior(mag, mask, trend=8)[0, 4:6].double()
    step_db = 80 * torch.log10(est[1] / est[0])
    assert abs(float(step_db) + 3.0) < 1e-3


@pytest.mark.parametrize("channels", [3, 2])
@pytest.mark.parametrize("prior", ["context", "context-trend", "context-phase"])
def test_apply_mask_never_reads_the_missing_region(channels, prior):
    gen = torch.Generator().manual_seed(0)
    x0 = torch.rand(4, channels, N, W, generator=gen)
    noise = torch.randn(x0.shape, generator=gen)
    masks = torch.stack([bandwidth_mask(CFG, W, 6000.0), gap_mask(CFG, W, [(0.4, 0.9)])] * 2)
    x1 = apply_mask(x0, masks, 0.1, noise, prior=prior)
    changed = x0.clone()
    changed[masks.unsqueeze(1).expand_as(x0) > 0] = 7.0  # only the truth in the missing region
    assert torch.equal(apply_mask(changed, masks, 0.1, noise, prior=prior), x1)
    known = masks.unsqueeze(1).expand_as(x0) == 0
    assert torch.equal(x1[known], x0[known])
    plain = apply_mask(x0, masks, 0.1, noise)
    assert not torch.allclose(plain, x1)


def test_a_mask_config_rejects_an_unknown_prior():
    assert MaskConfig(fill_prior="context").fill_prior == "context"
    assert MaskConfig(fill_prior="context-trend").fill_prior == "context-trend"
    with pytest.raises(ValueError, match="fill_prior"):
        MaskConfig(fill_prior="zeros")
    with pytest.raises(ValueError, match="prior"):
        apply_mask(torch.zeros(3, N, W), torch.zeros(N, W), 0.1, prior="zeros")
