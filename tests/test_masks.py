import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from a2sb.masks import (
    MaskConfig,
    apply_mask,
    bandwidth_mask,
    frames_touching,
    gap_mask,
    quality_mask,
    sample_training_mask,
)
from a2sb.representation import STFTConfig

CFG = STFTConfig()


def test_bandwidth_mask_rows():
    m = bandwidth_mask(CFG, 10, 4000.0)
    first = int(m[:, 0].argmax())
    assert CFG.bin_frequency(first + 1) >= 4000.0 > CFG.bin_frequency(first)
    assert m[first:].eq(1).all() and m[:first].eq(0).all()
    with pytest.raises(ValueError):
        bandwidth_mask(CFG, 10, 22050.0)


def test_gap_mask_covers_every_frame_touching_the_gap():
    n = 200
    m = gap_mask(CFG, n, [(1.0, 1.3)])
    cols = m[0].nonzero().flatten()
    first, stop = frames_touching(CFG, 1.0, 1.3, n)
    assert cols.min() == first and cols.max() == stop - 1
    # frame centre m*hop; window half 1024 samples
    assert (first * 512 + 1024) > 44100 and ((first - 1) * 512 + 1024) <= 44100
    assert m.eq(m[0:1]).all()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_training_masks_follow_the_configured_ranges(seed):
    mc = MaskConfig()
    gen = torch.Generator().manual_seed(seed)
    m, info = sample_training_mask(CFG, mc, 256, gen)
    assert m.shape == (1024, 256)
    if info["task"] == "bandwidth-extension":
        assert 2000.0 <= info["cutoff_hz"] <= 16000.0 + CFG.bin_frequency(1)
        assert m.eq(m[:, :1]).all()  # constant along time
    else:
        a, b = info["gap_frames"]
        seconds = (b - a) * CFG.hop_length / CFG.sample_rate
        assert 0.1 - 0.012 <= seconds <= 1.6 + 0.012
        assert m[:, a:b].eq(1).all() and m.sum() == 1024 * (b - a)


def test_both_tasks_are_drawn_about_half_the_time():
    gen = torch.Generator().manual_seed(0)
    tasks = [sample_training_mask(CFG, MaskConfig(), 64, gen)[1]["task"] for _ in range(400)]
    share = tasks.count("inpainting") / len(tasks)
    assert 0.4 < share < 0.6


def test_apply_mask_fills_noise_only_where_missing():
    x0 = torch.randn(3, 16, 8)
    m = torch.zeros(16, 8)
    m[10:] = 1
    noise = torch.randn_like(x0)
    x1 = apply_mask(x0, m, 0.5, noise)
    torch.testing.assert_close(x1[:, :10], x0[:, :10])
    torch.testing.assert_close(x1[:, 10:], 0.5 * noise[:, 10:])


def test_quality_mask_drops_rows_above_true_bandwidth():
    keep = quality_mask(CFG, 4, 32000.0)
    row = CFG.row_of_frequency(16000.0)
    assert keep[:row].eq(1).all() and keep[row:].eq(0).all()
    assert quality_mask(CFG, 4, 44100.0).eq(1).all()
    assert MaskConfig.from_dict(MaskConfig().to_dict()) == MaskConfig()
