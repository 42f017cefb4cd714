"""Log-spectral distance, LSD (paper eq. 21). Lower is better; 0 for identical signals.

Reference: ssr_eval ``AudioMetrics.lsd`` (the code the official A2SB evaluation calls), with the
magnitude STFT of :mod:`metrics.stft` (n_fft 2048, hop 441 at 44.1 kHz, periodic Hann, centred
with reflect padding; both signals cut to the shorter length), ``EPS = 1e-12``::

    LSD = mean_frames sqrt( mean_bins ( log10( S^2 / (S_hat + EPS)^2 + EPS ) )^2 )

S is the reference, S_hat the estimate. Not symmetric. Every bin where the reference magnitude
is exactly 0 contributes ``log10(EPS)^2 = 144`` whatever the estimate (reference behaviour):
an all-zero reference frame (digital silence) adds 12 to the frame sum, and a silent reference
scores LSD = 12, finite. Stereo inputs are downmixed to mono first (see :mod:`metrics.audio`).
"""

from __future__ import annotations

import numpy as np

from .audio import prepare
from .stft import paired_spectra

EPS = 1e-12


def lsd_from_spectra(spec_ref: np.ndarray, spec_est: np.ndarray) -> float:
    """LSD of magnitude spectrograms [frames, bins] of equal shape (eq. 21)."""
    if spec_ref.shape != spec_est.shape:
        raise ValueError(f"spectrogram shapes differ: {spec_ref.shape} vs {spec_est.shape}")
    log_ratio = np.log10(spec_ref**2 / (spec_est + EPS) ** 2 + EPS)
    return float(np.mean(np.sqrt(np.mean(log_ratio**2, axis=1))))


def lsd(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """LSD (eq. 21) of ``estimate`` against ``reference``, [T] or [T, C] at ``sample_rate``."""
    spec_ref, spec_est = paired_spectra(
        prepare(reference, "reference"), prepare(estimate, "estimate"), sample_rate
    )
    return lsd_from_spectra(spec_ref, spec_est)
