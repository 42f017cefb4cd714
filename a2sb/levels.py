"""Bringing restored audio under full scale: ``--normalize`` (one gain for the whole output)
and ``--limit`` (a sample-wise soft knee, so it works block by block)."""

from __future__ import annotations

import math

import numpy as np

#: --normalize: the peak a louder-than-full-scale output is brought to (dBFS)
NORMALIZE_PEAK_DBFS = -1.0
#: --limit: magnitudes up to this pass unchanged
LIMIT_THRESHOLD = 0.9
#: --limit: the soft knee approaches this magnitude and never exceeds it (the largest 16-bit
#: sample, 32767 / 32768, so every integer subtype holds it without clipping)
LIMIT_CEILING = 1.0 - 2.0**-15


def normalize_peak(audio: np.ndarray) -> tuple[np.ndarray, float]:
    """Scale ``audio`` down to peak at :data:`NORMALIZE_PEAK_DBFS` when its peak exceeds 1.0;
    returns it and the gain in dB (0.0: unchanged)."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak <= 1.0:
        return audio, 0.0
    gain = 10.0 ** (NORMALIZE_PEAK_DBFS / 20.0) / peak
    return (audio * gain).astype(np.float32), 20.0 * math.log10(gain)


def soft_limit(audio: np.ndarray) -> tuple[np.ndarray, int]:
    """Sample-wise soft limiter: magnitudes up to :data:`LIMIT_THRESHOLD` unchanged, above it
    ``T + (C - T) tanh((|x| - T) / (C - T))`` with the sign of ``x`` (``C`` =
    :data:`LIMIT_CEILING` < 1, approached and never exceeded; slope 1 at the threshold, so the
    curve has no corner). Returns the audio and how many samples were changed."""
    out = np.asarray(audio, dtype=np.float64).copy()
    over = np.abs(out) > LIMIT_THRESHOLD
    knee = LIMIT_CEILING - LIMIT_THRESHOLD
    magnitude = LIMIT_THRESHOLD + knee * np.tanh((np.abs(out[over]) - LIMIT_THRESHOLD) / knee)
    out[over] = np.sign(out[over]) * np.minimum(magnitude, LIMIT_CEILING)
    return out.astype(np.float32), int(np.count_nonzero(over))
