"""LSD (eq. 21) and SiSpec (eq. 22): identities, hand-checked values, reference agreement."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics import bandwidth_limit, lsd, sispec
from metrics.errors import AudioError, MetricUndefined
from metrics.lsd import lsd_from_spectra
from metrics.sispec import sispec_from_spectra
from metrics.stft import magnitude_stft, stft_params
from metrics.synthetic import music_like

SR = 44100
EPS = 1e-12


@pytest.fixture(scope="module")
def music() -> np.ndarray:
    return music_like(4.0, SR, seed=1)


def _naive_magnitude_stft(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Independent |STFT|: mirrored padding by index, periodic Hann by formula, explicit DFT."""
    half = n_fft // 2
    n = len(x)
    idx = np.arange(-half, n + half)
    idx = np.where(idx < 0, -idx, idx)
    idx = np.where(idx >= n, 2 * (n - 1) - idx, idx)
    padded = x[idx]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    kernel = np.exp(-2j * np.pi * np.outer(np.arange(n_fft // 2 + 1), np.arange(n_fft)) / n_fft)
    frames = []
    start = 0
    while start + n_fft <= len(padded):
        frames.append(np.abs(kernel @ (padded[start : start + n_fft] * window)))
        start += hop
    return np.array(frames)


def _naive_lsd(s: np.ndarray, s_hat: np.ndarray) -> float:
    total = 0.0
    for f in range(s.shape[0]):
        acc = 0.0
        for k in range(s.shape[1]):
            acc += np.log10(s[f, k] ** 2 / (s_hat[f, k] + EPS) ** 2 + EPS) ** 2
        total += np.sqrt(acc / s.shape[1])
    return total / s.shape[0]


def _naive_sispec(s: np.ndarray, s_hat: np.ndarray) -> float:
    dot = sum(a * b for a, b in zip(s_hat.ravel(), s.ravel()))
    target = dot / (float((s**2).sum()) + EPS) * s
    return 10 * np.log10(
        float((target**2).sum()) / (float(((s_hat - target) ** 2).sum()) + EPS) + EPS
    )


def test_stft_params_follow_ssr_eval() -> None:
    assert stft_params(44100) == (2048, 441)
    assert stft_params(48000) == (2229, 480)
    assert stft_params(22050) == (1024, 220)


def test_magnitude_stft_matches_independent_dft() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(441)
    n_fft, hop = stft_params(4410)
    ours = magnitude_stft(x, 4410)
    assert ours.shape == (1 + 441 // hop, n_fft // 2 + 1)
    np.testing.assert_allclose(ours, _naive_magnitude_stft(x, n_fft, hop), rtol=1e-9, atol=1e-9)


def test_magnitude_stft_matches_torch_and_librosa_reflect() -> None:
    torch = pytest.importorskip("torch")
    librosa = pytest.importorskip("librosa")
    x = music_like(0.5, SR, seed=3)
    ours = magnitude_stft(x, SR)
    ref_torch = torch.stft(
        torch.from_numpy(x),
        n_fft=2048,
        hop_length=441,
        window=torch.hann_window(2048, periodic=True, dtype=torch.float64),
        center=True,
        pad_mode="reflect",
        return_complex=True,
    ).abs()
    np.testing.assert_allclose(ours, ref_torch.numpy().T, rtol=1e-7, atol=1e-9)
    ref_librosa = np.abs(librosa.stft(x, n_fft=2048, hop_length=441, pad_mode="reflect")).T
    np.testing.assert_allclose(ours, ref_librosa, rtol=1e-6, atol=1e-8)


def test_hand_checked_spectra() -> None:
    # LSD: bins log10(1/100) = -2 and log10(4/4) = 0 -> sqrt((4 + 0) / 2) = sqrt(2).
    assert lsd_from_spectra(np.array([[1.0, 2.0]]), np.array([[10.0, 2.0]])) == pytest.approx(
        np.sqrt(2), rel=1e-9
    )
    # SiSpec: <S_hat, S> = 2, ||S||^2 = 2 -> T = S, noise = [[0, 1], [0, 0]] -> 10 log10(2).
    s = np.array([[1.0, 0.0], [0.0, 1.0]])
    s_hat = np.array([[1.0, 1.0], [0.0, 1.0]])
    assert sispec_from_spectra(s, s_hat) == pytest.approx(10 * np.log10(2), rel=1e-9)


def test_lsd_and_sispec_match_independent_computation() -> None:
    rng = np.random.default_rng(1)
    rate = 4410
    x = rng.standard_normal(500)
    y = 0.7 * x + 0.3 * rng.standard_normal(500)
    n_fft, hop = stft_params(rate)
    s, s_hat = _naive_magnitude_stft(x, n_fft, hop), _naive_magnitude_stft(y, n_fft, hop)
    assert lsd(x, y, rate) == pytest.approx(_naive_lsd(s, s_hat), rel=1e-9)
    assert sispec(x, y, rate) == pytest.approx(_naive_sispec(s, s_hat), rel=1e-9)


def test_lsd_of_scaled_copy_is_log_ratio(music: np.ndarray) -> None:
    # S_hat = 10 S in every bin: log10(S^2 / (10 S)^2) = -2 -> LSD = 2 (to the EPS terms).
    assert lsd(music, 10 * music, SR) == pytest.approx(2.0, abs=1e-6)


def test_lsd_identity(music: np.ndarray) -> None:
    assert lsd(music, music, SR) == pytest.approx(0.0, abs=1e-6)
    assert lsd(music, music, SR) >= 0


@settings(max_examples=15, deadline=None)
@given(scale=st.floats(min_value=1e-2, max_value=1e2))
def test_sispec_of_scaled_copy_is_very_high(scale: float) -> None:
    x = music_like(1.0, 22050, seed=2)
    assert sispec(x, scale * x, 22050) >= 100.0


def test_metrics_worsen_as_cutoff_drops(music: np.ndarray) -> None:
    cutoffs = [16000, 12000, 8000, 4000, 2000]
    degraded = [bandwidth_limit(music, SR, c) for c in cutoffs]
    lsds = [lsd(music, y, SR) for y in degraded]
    sispecs = [sispec(music, y, SR) for y in degraded]
    assert all(a < b for a, b in zip(lsds, lsds[1:])), lsds
    assert all(a > b for a, b in zip(sispecs, sispecs[1:])), sispecs


def test_signals_are_cut_to_the_shorter_length(music: np.ndarray) -> None:
    short = music[:-5000]
    assert lsd(music, short, SR) == pytest.approx(0.0, abs=1e-6)
    assert lsd(short, music, SR) == pytest.approx(0.0, abs=1e-6)
    assert sispec(music, short, SR) >= 100.0


def test_stereo_is_downmixed(music: np.ndarray) -> None:
    stereo = np.stack([music, music], axis=1)
    assert lsd(stereo, music, SR) == pytest.approx(0.0, abs=1e-6)
    assert sispec(music, stereo, SR) >= 100.0


def test_silence(music: np.ndarray) -> None:
    silent = np.zeros_like(music)
    # Every zero reference bin contributes log10(EPS)^2 = 144: LSD = 12, finite.
    assert lsd(silent, music, SR) == pytest.approx(12.0, rel=1e-9)
    assert np.isfinite(lsd(music, silent, SR))
    with pytest.raises(MetricUndefined, match="reference is silent"):
        sispec(silent, music, SR)
    with pytest.raises(MetricUndefined, match="estimate is silent"):
        sispec(music, silent, SR)


def test_non_finite_and_too_short_inputs_raise(music: np.ndarray) -> None:
    bad = music.copy()
    bad[10] = np.nan
    bad[20] = np.inf
    with pytest.raises(AudioError, match="2 non-finite samples"):
        lsd(music, bad, SR)
    with pytest.raises(AudioError, match="too short"):
        sispec(music[:100], music[:100], SR)
