"""Estimated true bandwidth of a recording (the manifest's ``estimated_true_sr``).

What is known of the official approach: the official A2SB loader reads an integer
``estimated_true_sr`` column from ``<NAME>_manifest.csv`` and, with ``apply_sr_loss_mask``,
skips rows below 32000 (16 kHz of real bandwidth), so that a sampled cutoff never lies above a
file's real content. The estimator that produced the column is not published in the official
repository, so this module defines its own and documents it:

1. Long-term average power spectrum (LTAS): Hann-windowed frames of ``n_fft`` = 2048 samples
   with hop ``n_fft/2`` (at most ``max_frames`` frames, evenly spread over the file), power
   averaged over frames and channels.
2. The LTAS is smoothed with a moving average over ``smooth_bins`` bins (linear power).
3. The bandwidth is the highest frequency whose smoothed LTAS is within ``threshold_db``
   (default -80 dB) of the LTAS peak (DC excluded). Content that stops at a lossy encoder's
   lowpass or at the Nyquist frequency of an upsampled file falls far below that threshold,
   while 16-bit quantisation noise of a loud recording stays below it.
4. ``estimated_true_sr = min(sample_rate, 2 x bandwidth)``, rounded to whole Hz. A silent or
   empty signal gives 0.

Also :func:`energy_share_above` (share of power above a frequency, used by the corpus report).
"""

from __future__ import annotations

import numpy as np

DEFAULT_N_FFT = 2048
DEFAULT_THRESHOLD_DB = -80.0
DEFAULT_SMOOTH_BINS = 9
DEFAULT_MAX_FRAMES = 4096


def _as_channels(audio: np.ndarray) -> np.ndarray:
    """``[C, N]`` float64 view of ``[N]``, ``[N, C]`` (soundfile layout) or ``[C, N]`` (C <= 8)."""
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 1:
        return x[None, :]
    if x.ndim != 2:
        raise ValueError(f"audio must be [N], [N, C] or [C, N], got shape {x.shape}")
    if x.shape[0] <= 8 and x.shape[0] < x.shape[1]:
        return x
    return x.T


class SpectrumAccumulator:
    """Sums frame power spectra over blocks of audio (for long files and whole sets)."""

    def __init__(
        self, sample_rate: int, n_fft: int = DEFAULT_N_FFT, hop: int | None = None
    ) -> None:
        self.sample_rate, self.n_fft = int(sample_rate), int(n_fft)
        self.hop = int(hop or self.n_fft // 2)
        self.window = np.hanning(self.n_fft + 1)[:-1]
        self.power_sum = np.zeros(self.n_fft // 2 + 1)
        self.frames = 0

    def add(self, audio: np.ndarray, max_frames: int | None = None) -> None:
        """Add the frames of ``audio`` (zero-padded to one frame if shorter)."""
        x = _as_channels(audio)
        n = x.shape[1]
        if n == 0:
            return
        hop = self.hop
        if n < self.n_fft:
            x = np.pad(x, ((0, 0), (0, self.n_fft - n)))
            n = self.n_fft
        starts = np.arange(0, n - self.n_fft + 1, hop)
        if max_frames is not None and len(starts) > max_frames:
            starts = starts[np.linspace(0, len(starts) - 1, max_frames).round().astype(int)]
        for i in range(0, len(starts), 512):  # bounded memory
            idx = starts[i : i + 512, None] + np.arange(self.n_fft)[None, :]
            frames = x[:, idx] * self.window  # [C, F, n_fft]
            spec = np.fft.rfft(frames, axis=-1)
            self.power_sum += (spec.real**2 + spec.imag**2).sum(axis=(0, 1)) / x.shape[0]
        self.frames += len(starts)

    @property
    def freqs(self) -> np.ndarray:
        return np.fft.rfftfreq(self.n_fft, 1.0 / self.sample_rate)

    def mean_power(self) -> np.ndarray:
        """The LTAS: mean power per bin (zeros before any frame was added)."""
        return self.power_sum / max(self.frames, 1)

    def energy_share_above(self, freq: float) -> float:
        """Share of the summed power in bins above ``freq`` Hz (0 for silence)."""
        total = self.power_sum.sum()
        return float(self.power_sum[self.freqs > freq].sum() / total) if total > 0 else 0.0

    def estimate_true_sr(
        self, threshold_db: float = DEFAULT_THRESHOLD_DB, smooth_bins: int = DEFAULT_SMOOTH_BINS
    ) -> float:
        """See the module docstring."""
        p = self.mean_power()
        if smooth_bins > 1:
            p = np.convolve(p, np.ones(smooth_bins) / smooth_bins, mode="same")
        p[0] = 0.0
        peak = p.max()
        if not np.isfinite(peak) or peak <= 0:
            return 0.0
        above = np.nonzero(p >= peak * 10 ** (threshold_db / 10))[0]
        top = above[-1]
        if top >= len(p) - 1 - smooth_bins // 2:
            return float(self.sample_rate)
        return float(min(self.sample_rate, round(2 * self.freqs[top])))


def estimate_true_sr(
    audio: np.ndarray,
    sample_rate: int,
    *,
    threshold_db: float = DEFAULT_THRESHOLD_DB,
    n_fft: int = DEFAULT_N_FFT,
    smooth_bins: int = DEFAULT_SMOOTH_BINS,
    max_frames: int = DEFAULT_MAX_FRAMES,
) -> float:
    """Estimated true sample rate in Hz (2 x bandwidth, capped at ``sample_rate``).

    ``audio``: ``[N]``, ``[N, C]`` or ``[C, N]`` samples. See the module docstring for the
    method; 0.0 for empty or silent audio.
    """
    acc = SpectrumAccumulator(sample_rate, n_fft)
    acc.add(audio, max_frames=max_frames)
    return acc.estimate_true_sr(threshold_db, smooth_bins)


def energy_share_above(
    audio: np.ndarray, sample_rate: int, freq: float, n_fft: int = DEFAULT_N_FFT
) -> float:
    """Share of the signal's power above ``freq`` Hz (0 for silence)."""
    acc = SpectrumAccumulator(sample_rate, n_fft)
    acc.add(audio)
    return acc.energy_share_above(freq)
