"""Scale-invariant spectrogram-to-noise ratio, SiSpec in dB (paper eq. 22). Higher is better.

Reference: ssr_eval ``AudioMetrics.sispec`` on linear magnitudes (the code the official A2SB
evaluation calls), with the magnitude STFT of :mod:`metrics.stft` (n_fft 2048, hop 441 at
44.1 kHz, periodic Hann, centred with reflect padding; both signals cut to the shorter length),
norms over the whole spectrogram, ``EPS = 1e-12``::

    T      = (<S_hat, S> / (||S||^2 + EPS)) S
    SiSpec = 10 log10( ||T||^2 / (||S_hat - T||^2 + EPS) + EPS )

S is the reference, S_hat the estimate. A scaled copy ``a x`` (a > 0) scores about
``120 + 10 log10(a^2 ||S||^2)`` dB (the EPS floor), i.e. far above 100 dB for audible signals.

Undefined (raises :class:`metrics.errors.MetricUndefined`, written as an empty value with the
reason) when the reference or the estimate is silent, ``||S||^2 <= EPS`` or
``||S_hat||^2 <= EPS``: the formula then returns its -120 dB floor, which measures nothing.
Stereo inputs are downmixed to mono first (see :mod:`metrics.audio`).
"""

from __future__ import annotations

import numpy as np

from .audio import prepare
from .errors import MetricUndefined
from .stft import paired_spectra

EPS = 1e-12


def sispec_from_spectra(spec_ref: np.ndarray, spec_est: np.ndarray) -> float:
    """SiSpec in dB of magnitude spectrograms [frames, bins] of equal shape (eq. 22)."""
    if spec_ref.shape != spec_est.shape:
        raise ValueError(f"spectrogram shapes differ: {spec_ref.shape} vs {spec_est.shape}")
    energy_ref = float(np.sum(spec_ref**2))
    if energy_ref <= EPS:
        raise MetricUndefined("SiSpec undefined: reference is silent (||S||^2 <= 1e-12)")
    if float(np.sum(spec_est**2)) <= EPS:
        raise MetricUndefined("SiSpec undefined: estimate is silent (||S_hat||^2 <= 1e-12)")
    target = (float(np.sum(spec_est * spec_ref)) / (energy_ref + EPS)) * spec_ref
    noise = spec_est - target
    ratio = float(np.sum(target**2)) / (float(np.sum(noise**2)) + EPS)
    return float(10.0 * np.log10(ratio + EPS))


def sispec(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """SiSpec (eq. 22) in dB of ``estimate`` against ``reference``, [T] or [T, C].

    Raises :class:`metrics.errors.MetricUndefined` when either signal is silent.
    """
    spec_ref, spec_est = paired_spectra(
        prepare(reference, "reference"), prepare(estimate, "estimate"), sample_rate
    )
    return sispec_from_spectra(spec_ref, spec_est)
