"""Spectral band replication (SBR) for bandwidth extension, a classical reference method.

Idea of MPEG-4 HE-AAC's SBR (Dietz et al., 2002) without its side information: the band above
the cutoff is filled by copying the highest known octave ``[fc / 2, fc)`` of the STFT upwards
(repeatedly, in octave-wide patches), with magnitudes shaped by a power-law roll-off fitted to
the long-term spectrum of the known band's upper octaves. The result is added to the input
through a brick-wall high-pass at the cutoff (a whole-signal FFT), so every frequency below the
cutoff is the input's, exactly.

Parameters: STFT n_fft 2048, hop 512, Hann window (scaled to the sample rate), roll-off exponent
clamped to [-6, -0.5] (magnitude ~ f^alpha), an extra ``extra_rolloff_db`` per octave above fc.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from ..interface import Degradation, per_channel


def _highpass_fft(x: np.ndarray, sample_rate: int, cutoff_hz: float) -> np.ndarray:
    """Brick-wall high-pass of ``[L]`` by zeroing rfft bins below ``cutoff_hz``."""
    spec = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1.0 / sample_rate)
    spec[freqs < cutoff_hz] = 0.0
    return np.fft.irfft(spec, n=len(x))


class SpectralBandReplication:
    """Copy-up of the highest known octave with a fitted spectral-envelope roll-off."""

    name = "sbr"

    def __init__(self, n_fft: int = 2048, hop: int = 512, extra_rolloff_db: float = 3.0) -> None:
        self.n_fft = n_fft
        self.hop = hop
        self.extra_rolloff_db = extra_rolloff_db

    def restore(self, audio: np.ndarray, sample_rate: int, degradation: Degradation) -> np.ndarray:
        degradation.check(audio, sample_rate)
        cutoff = float(degradation.cutoff_hz)  # type: ignore[arg-type]
        return per_channel(
            np.asarray(audio, dtype=np.float64), lambda x: self._channel(x, sample_rate, cutoff)
        ).astype(audio.dtype if np.issubdtype(audio.dtype, np.floating) else np.float32)

    def _channel(self, x: np.ndarray, sample_rate: int, cutoff: float) -> np.ndarray:
        n_fft = max(256, int(round(self.n_fft * sample_rate / 44100 / 2)) * 2)
        hop = max(1, n_fft * self.hop // self.n_fft)
        if len(x) < n_fft:
            return x.copy()
        _, _, spec = signal.stft(x, fs=sample_rate, nperseg=n_fft, noverlap=n_fft - hop)
        freqs = np.arange(spec.shape[0]) * sample_rate / n_fft
        kc = int(np.searchsorted(freqs, cutoff))  # first bin at or above the cutoff
        ks = max(1, kc // 2)  # source octave [ks, kc)
        if kc >= spec.shape[0] or kc - ks < 2:
            return x.copy()
        alpha = self._rolloff(np.abs(spec), freqs, ks, kc)
        width = kc - ks
        target = np.arange(kc, spec.shape[0])
        src = ks + (target - kc) % width  # octave-wide patches, repeated upwards
        ratio = freqs[target] / freqs[src]
        gain = ratio**alpha * 10 ** (-self.extra_rolloff_db * np.log2(freqs[target] / cutoff) / 20)
        out = np.zeros_like(spec)
        out[target] = spec[src] * gain[:, None]  # shifted copies keep the source's phase evolution
        _, gen = signal.istft(out, fs=sample_rate, nperseg=n_fft, noverlap=n_fft - hop)
        gen = np.pad(gen, (0, max(0, len(x) - len(gen))))[: len(x)]
        return x + _highpass_fft(gen, sample_rate, cutoff)

    @staticmethod
    def _rolloff(mag: np.ndarray, freqs: np.ndarray, ks: int, kc: int) -> float:
        """Power-law exponent of the mean magnitude over the known band's top octave(s)."""
        lo = max(1, ks // 2)
        hi = max(lo + 2, int(kc * 0.9))  # the resampler's transition band is left out
        mean = mag[lo:hi].mean(axis=1) + 1e-12
        f = freqs[lo:hi]
        if len(f) < 2 or not np.all(np.isfinite(np.log(mean))):
            return -1.0
        alpha = float(np.polyfit(np.log(f), np.log(mean), 1)[0])
        return float(np.clip(alpha, -6.0, -0.5))
