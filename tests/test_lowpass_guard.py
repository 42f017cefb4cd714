"""Bandwidth extension regenerates from a guard below the stated cutoff (a2sb.masks.LOWPASS_GUARD):
a real low-pass attenuates the last few per cent below its cutoff, and read as known content that
transition dimmed the generated band (issue 24). The official protocol keeps the sharp cutoff."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import a2sb
from a2sb import restoration
from a2sb.masks import LOWPASS_GUARD, guarded_cutoff
from a2sb.protocol import Protocol
from a2sb.restoration import Restorer, starting_point
from a2sb.stream.plan import StreamPlan
from metrics.degradations import bandwidth_limit
from tests.conftest import trend_checkpoint

STFT = a2sb.STFTConfig(
    sample_rate=44100, n_fft=1024, hop_length=512, win_length=1024, segment_frames=32
)
RATE = STFT.sample_rate


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return trend_checkpoint(tmp_path_factory.mktemp("ckpt") / "trend.safetensors", STFT)


def white(seconds: float = 3.0) -> np.ndarray:
    return (0.1 * np.random.default_rng(0).standard_normal(int(seconds * RATE))).astype(np.float32)


def band_db(x: np.ndarray, lo_hz: float, hi_hz: float) -> float:
    power = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    f = np.fft.rfftfreq(x.size, 1.0 / RATE)
    return float(10 * np.log10(power[(f >= lo_hz) & (f < hi_hz)].mean()))


def test_the_guard_is_a_fraction_of_the_cutoff():
    assert 0.9 <= LOWPASS_GUARD < 1.0
    assert guarded_cutoff(4000.0) == pytest.approx(LOWPASS_GUARD * 4000.0)
    assert guarded_cutoff(4000.0, guard=1.0) == 4000.0
    with pytest.raises(ValueError, match="guard"):
        guarded_cutoff(4000.0, guard=0.0)


def test_ours_regenerates_from_the_guard_the_official_protocol_from_the_cutoff(checkpoint):
    model = Restorer.from_checkpoint(checkpoint)
    x = white(1.0)
    ours = model._start(x, "bandwidth-extension", 8000.0, None, Protocol.OURS, None, 0, 0)[1]
    official = model._start(x, "bandwidth-extension", 8000.0, None, Protocol.OFFICIAL,
                            torch.Generator().manual_seed(0), 0, 0)[1]  # fmt: skip
    first = int(ours[:, 0].argmax())
    assert first == STFT.row_of_frequency(guarded_cutoff(8000.0))
    assert int(official[:, 0].argmax()) == STFT.row_of_frequency(8000.0) > first
    # the streaming plan masks the same rows
    plan = StreamPlan.build(STFT, x.size, model.window(), model.mask, cutoff_hz=8000.0)
    assert plan.cutoff_row == first


@pytest.mark.parametrize("cutoff", [3000.0, 6000.0])
def test_a_low_passed_input_starts_from_the_level_of_the_band_below(checkpoint, cutoff):
    """White noise low-passed by the test sets' own degradation: the starting point's band just
    above the cutoff lies within 4.5 dB of the clean signal's; read from the cutoff itself (no
    guard), the filter's transition pulls it at least 3 dB lower."""
    clean = white()
    degraded = bandwidth_limit(clean, RATE, cutoff)
    kwargs = {"task": "bandwidth-extension", "cutoff_hz": cutoff, "checkpoint": checkpoint}
    guarded = starting_point(degraded, RATE, **kwargs)
    reference = band_db(clean, cutoff, 1.3 * cutoff)
    assert band_db(guarded, cutoff, 1.3 * cutoff) > reference - 4.5
    original = restoration.guarded_cutoff
    try:
        restoration.guarded_cutoff = lambda c: c
        sharp = starting_point(degraded, RATE, **kwargs)
    finally:
        restoration.guarded_cutoff = original
    assert band_db(guarded, cutoff, 1.3 * cutoff) > band_db(sharp, cutoff, 1.3 * cutoff) + 3.0
    # below the guard the input is kept
    assert abs(band_db(guarded, 0.5 * cutoff, 0.9 * cutoff) - band_db(degraded, 0.5 * cutoff,
                                                                       0.9 * cutoff)) < 0.1  # fmt: skip
