"""The band correlation of a stereo input (a2sb.band_coherence) and the partly shared noise it
sets (a2sb.noise.MixedKey): block-independent sums, the correlation of known cases, gaps left
out, the rows above a cutoff reading the octave below it, and noise correlated as asked."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import a2sb
from a2sb.band_coherence import (
    ANALYSIS_FFT,
    CrossSpectrumScan,
    cross_spectrum,
    row_correlation,
    third_octave_bins,
)
from a2sb.noise import FrameNoise, MixedKey

RATE = 16000
CFG = a2sb.STFTConfig(sample_rate=RATE, n_fft=256, hop_length=128, win_length=256,
                      segment_frames=64)  # fmt: skip


def noise(seed: int, length: int = 10 * RATE) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(length)


def lowpass(x: np.ndarray, hz: float) -> np.ndarray:
    spec = np.fft.rfft(x)
    spec[np.fft.rfftfreq(x.size, 1 / RATE) >= hz] = 0
    return np.fft.irfft(spec, x.size)


def bands(audio: np.ndarray, **kw) -> list[float]:
    spectrum = cross_spectrum(audio, **kw)
    return [spectrum.correlation(b) for b in third_octave_bins(RATE)]


def test_the_sums_do_not_depend_on_the_blocks():
    audio = np.stack([noise(1, 300_000), noise(2, 300_000)]).astype(np.float32)
    whole = cross_spectrum(audio, exclude=[(1000, 9000)])
    for block in (3001, 65_536, 131_072 + 5):
        scan = CrossSpectrumScan([(1000, 9000)])
        for a in range(0, audio.shape[1], block):
            scan.update(audio[:, a : a + block])
        got = scan.result()
        assert got.frames == whole.frames == 300_000 // ANALYSIS_FFT - 5
        for x, y in zip((got.power_a, got.power_b, got.cross_re),
                        (whole.power_a, whole.power_b, whole.cross_re)):  # fmt: skip
            assert np.array_equal(x, y)


def test_the_correlation_of_known_cases():
    x, y = noise(3), noise(4)
    assert min(bands(np.stack([0.9 * x, 0.3 * x]))) > 0.999  # panned: coherent at any level
    assert max(bands(np.stack([x, y]))) < 0.2  # independent
    assert max(bands(np.stack([x, -x]))) == 0.0  # anti-phase: no shared sign to invent
    assert bands(np.zeros((2, RATE))) == [1.0] * len(third_octave_bins(RATE))  # silent: shared
    half = bands(np.stack([x, (x + y) / np.sqrt(2)]))
    assert all(0.55 < r < 0.85 for r in half), half  # 1/sqrt(2) in every band


def test_the_gaps_are_left_out():
    x, y = noise(5), noise(6)
    left, right = x.copy(), x.copy()
    right[RATE : 3 * RATE] = y[RATE : 3 * RATE]  # unrelated inside the "gap"
    audio = np.stack([left, right])
    assert min(bands(audio)) < 0.9
    assert min(bands(audio, exclude=[(RATE, 3 * RATE)])) > 0.999


def test_rows_above_the_edge_take_the_octave_below_it():
    x, y = noise(7), noise(8)
    low = lowpass(x, 1500.0)  # coherent below 1.5 kHz
    left, right = low + (x - low), low + (y - lowpass(y, 1500.0))  # independent above
    spectrum = cross_spectrum(np.stack([left, right]))
    weights = np.array(row_correlation(spectrum, CFG, edge_hz=4000.0))
    assert weights.shape == (CFG.n_rows,)
    freqs = np.array([CFG.bin_frequency(r + 1) for r in range(CFG.n_rows)])
    above = weights[freqs >= 4000.0]
    assert np.all(above == above[0]) and above[0] < 0.2  # the octave 2-4 kHz: independent
    assert np.all(weights[(freqs > 100) & (freqs < 1200)] > 0.99)  # own bands: coherent
    # the same input with a coherent octave below the edge: the generated rows share
    coherent = cross_spectrum(np.stack([left, 0.5 * left]))
    assert min(row_correlation(coherent, CFG, edge_hz=4000.0)[-10:]) > 0.99
    # no edge (inpainting): every row its own band
    inpaint = np.array(row_correlation(spectrum, CFG, None))
    assert np.all(inpaint[freqs > 2500] < 0.2) and np.all(
        inpaint[(freqs > 100) & (freqs < 1200)] > 0.99
    )


@pytest.mark.parametrize("w", [0.0, 0.3, 0.8, 1.0])
def test_mixed_keys_draw_noise_correlated_row_by_row(w):
    weights = (w, 1.0 - w)
    keys = [MixedKey(0, -1, weights), MixedKey(1, -1, weights)]
    draw = FrameNoise(4, keys, (3, 2)).frames(2, 0, 4000)
    a, b = draw[0].double(), draw[1].double()
    for row, target in enumerate(weights):
        x, y = a[:, row].flatten(), b[:, row].flatten()
        assert abs(float(x.std()) - 1) < 0.03 and abs(float(y.std()) - 1) < 0.03
        assert abs(float(torch.corrcoef(torch.stack([x, y]))[0, 1]) - target) < 0.03
        assert torch.equal(x, y) == (target == 1.0)
    # a slice drawn alone is the same numbers
    assert torch.equal(FrameNoise(4, keys, (3, 2)).frames(2, 13, 29), draw[..., 13:29])
    with pytest.raises(ValueError, match="3 row weights for 2 rows"):
        FrameNoise(4, [MixedKey(0, -1, (1.0, 1.0, 1.0))], (3, 2))
