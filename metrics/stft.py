"""Magnitude STFT shared by LSD (eq. 21) and SiSpec (eq. 22).

Reference: ssr_eval's ``AudioMetrics.wav_to_spectrogram`` (Haohe Liu, MIT licence), which the
official A2SB evaluation calls: ``|librosa.stft(x, n_fft, hop_length)|`` with

- ``n_fft = int(2048 / (44100 / rate))``  (2048 at 44.1 kHz, 2229 at 48 kHz),
- ``hop = int(rate / 100)``               (441 at 44.1 kHz: 100 frames per second),
- periodic Hann window of length ``n_fft`` (``scipy.signal.get_window("hann", n_fft)``),
- centred frames: ``n_fft // 2`` samples of reflect padding at both ends (librosa < 0.10's
  default, and ``torch.stft(center=True)``'s; librosa >= 0.10 pads with zeros instead, which
  changes only the first and last frame), no normalisation.

Computed in float64 with numpy (ssr_eval works in float32: differences are ~1e-6 relative).
"""

from __future__ import annotations

import functools

import numpy as np

from .errors import AudioError

#: Padding of the centred STFT (``numpy.pad`` mode).
PAD_MODE = "reflect"

# Frames transformed per rfft call: bounds memory to ~70 MB for any input length.
_CHUNK_FRAMES = 2048


def stft_params(sample_rate: int) -> tuple[int, int]:
    """``(n_fft, hop)`` for ``sample_rate``, with ssr_eval's exact integer rounding."""
    if sample_rate <= 0:
        raise ValueError(f"sample rate must be positive, got {sample_rate}")
    return int(2048 / (44100 / sample_rate)), int(sample_rate / 100)


@functools.lru_cache(maxsize=8)
def _window(n_fft: int) -> np.ndarray:
    """Periodic Hann, ``0.5 - 0.5 cos(2 pi k / n_fft)``: scipy's ``get_window("hann", n_fft)``
    to 1e-15 (written out: importing scipy.signal costs each scoring process a second)."""
    k = np.arange(n_fft, dtype=np.float64)
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * k / n_fft)


def magnitude_stft(audio: np.ndarray, sample_rate: int, pad_mode: str = PAD_MODE) -> np.ndarray:
    """|STFT| of mono ``audio`` [T] -> [frames, n_fft // 2 + 1], frames = 1 + T // hop.

    Raises :class:`AudioError` for non-mono input or input shorter than ``n_fft // 2 + 1``
    samples (reflect padding needs it).
    """
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim != 1:
        raise AudioError(f"magnitude_stft needs mono [T] audio, got shape {x.shape}")
    n_fft, hop = stft_params(sample_rate)
    half = n_fft // 2
    if x.shape[0] <= half:
        raise AudioError(
            f"audio too short for the STFT: {x.shape[0]} samples, need more than {half} "
            f"at {sample_rate} Hz"
        )
    padded = np.pad(x, half, mode=pad_mode)
    n_frames = 1 + (padded.shape[0] - n_fft) // hop
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][:n_frames]
    window = _window(n_fft)
    out = np.empty((n_frames, n_fft // 2 + 1), dtype=np.float64)
    for start in range(0, n_frames, _CHUNK_FRAMES):
        stop = min(start + _CHUNK_FRAMES, n_frames)
        out[start:stop] = np.abs(np.fft.rfft(frames[start:stop] * window, n=n_fft, axis=-1))
    return out


def paired_spectra(
    reference: np.ndarray, estimate: np.ndarray, sample_rate: int
) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude STFTs ``(S, S_hat)`` of both signals cut to the shorter length (ssr_eval)."""
    n = min(len(reference), len(estimate))
    return (
        magnitude_stft(reference[:n], sample_rate),
        magnitude_stft(estimate[:n], sample_rate),
    )
