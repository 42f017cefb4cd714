"""Effective bandwidth of an audio input, for ``a2sb restore --cutoff-hz auto``.

Bandwidth extension regenerates every STFT row whose bin centre lies at or above the cutoff, so
the cutoff should sit where the input's content ends. :func:`estimate_cutoff` looks for the
band limit itself (a steep, sustained drop of the long-term spectrum), not for where the
music's energy lies:

1. Long-term average power spectrum (LTAS): periodic-Hann frames of ``n_fft`` samples (default
   2048), hop ``n_fft / 4``, no padding; power ``|rfft|^2`` averaged over all frames and
   channels; in dB, floored at 200 dB below its maximum (so digital silence stays finite).
2. Edge strength at every candidate bin ``k`` (the first bin above the edge): the mean dB level
   of the :data:`EDGE_BINS` (16) bins below ``k`` minus that of the 16 bins above, each band
   kept :data:`GUARD_BINS` (2) bins away from the edge so that window leakage does not blur
   the step: ``D[k] = mean L[k-18 .. k-3] - mean L[k+2 .. k+17]``. A mean of dB values (a
   geometric mean of power) is little moved by single strong partials, so harmonic spectra
   do not fake a step. Candidates run from :data:`MIN_CUTOFF_HZ` (1 kHz) up to where 8 bins
   above the guard still fit below Nyquist (the upper band is truncated there); at 2048
   points and 44.1 kHz a bin is 21.5 Hz, each band 345 Hz, the highest candidate 21.86 kHz.
3. The edge is the candidate with the largest ``D``; if ``D`` is under :data:`MIN_DROP_DB`
   (20 dB) there is no band limit and :class:`~a2sb.errors.InputError` says the input looks
   full-band.
4. Placement, biased low: the pass-band level ``ref`` is the highest median of ``L`` over
   16-bin reference bands, the first one ending at the guard below the edge and the others
   stepped down by 4 bins as far as :data:`LOOKBACK` (12 %) of the edge frequency below it.
   The highest one is the level before the transition starts (a filter's transition band
   can be wider than one band: soxr's is ~9 % of its cutoff); a median is robust to the
   partials and the gaps between them in a line spectrum. The cutoff is where the level last
   falls below ``ref - DROP_DB`` (6 dB) between the lowest reference band and the top of the
   upper band: after the last bin ``j`` at or above that threshold, linearly interpolated in
   dB between bins ``j`` and ``j + 1``. Rows regenerated below the true edge hold real
   content; rows kept above it would be attenuated "known" rows, so this errs low: for a
   brick wall at ``f_c`` it lands ~0.25 bin above ``f_c`` (the LTAS of a step is at -3 dB on
   the step, -6 dB just above it), for a filter with a transition band at the filter's own
   -6 dB point (~0.95 ``f_c`` for ``metrics.bandwidth_limit``), for a line spectrum after the
   last partial above the threshold (up to ~300 Hz low on the test signals), and for a gentle
   roll-off of a few dB just below a steep drop on the drop.

Returns Hz (float), strictly below ``sample_rate / 2``. Limits: a band limit shallower than
20 dB (a -15 dB shelf, a stop band that noise fills to within 20 dB of the pass band) or one
that falls gradually (Butterworth low-passes run forwards and backwards: order 8 at 4-16 kHz,
-6 dB at ``f_c`` and ~-30 dB at 1.2 ``f_c``, or order 16 at 8 kHz) is not an edge and reads as
full-band; where a gradual one is found (order 16 at 4 or 16 kHz), or a transition is wider
than 12 % of its frequency, the cutoff can land inside the transition, above its -6 dB point
(-30..+130 Hz seen for order 16, +400 Hz for order 8 at 16 kHz on the line spectrum); a
spectrum that drops by more than 20 dB within ~350 Hz for musical reasons (a sparse, stationary
tonal input such as one sustained note over silence) can give a false edge; edges below 1 kHz
or in the top ~200 Hz below Nyquist are not searched. The cutoff is a property of the whole
input: a file whose bandwidth changes over time gets the edge of its average spectrum.

:func:`rolloff_cutoff` is the estimator of the official upsampling API
(``inference/A2SB_upsample_api.py``), written here from its description (librosa's
``spectral_rolloff`` at ``roll_percent`` 0.99, averaged over frames): it tracks where 99 % of
each frame's spectral magnitude lies, not where the band ends, so it lies below the band limit,
by kilohertz for music whose high band is weak (``benchmarks/bench_cutoff.py`` shows how much).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from .data.bandwidth import SpectrumAccumulator
from .errors import InputError

#: Width in bins of the bands compared on each side of a candidate edge.
EDGE_BINS = 16
#: Bins left out on each side of the candidate edge (the Hann main lobe's half width).
GUARD_BINS = 2
#: A smaller largest edge strength (dB) means no band limit: the input is full-band.
MIN_DROP_DB = 20.0
#: The cutoff is where the level falls this far (dB) below the pass-band level.
DROP_DB = 6.0
#: Percentile of each reference band taken as its level (the median).
REF_PERCENTILE = 50.0
#: The reference bands reach down this fraction of the edge frequency below the edge.
LOOKBACK = 0.12
#: Lowest candidate edge in Hz.
MIN_CUTOFF_HZ = 1000.0
#: Floor of the LTAS in dB below its maximum.
FLOOR_DB = 200.0
_BLOCK_FRAMES = 256


def _channels(audio: np.ndarray, name: str) -> np.ndarray:
    """``[C, L]`` float64 from ``[L]`` or ``[C, L]``."""
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise InputError(f"{name}: audio must be [L] or [C, L], got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise InputError(f"{name}: audio holds NaN or infinite samples")
    return x


def _hann(n_fft: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)


def _frame_spectra(x: np.ndarray, n_fft: int, hop: int) -> Iterator[np.ndarray]:
    """Yield ``|rfft|`` of Hann-windowed frames ``[C, F, n_fft/2 + 1]``, in blocks of frames."""
    window = _hann(n_fft)
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft, axis=-1)[:, ::hop]
    for i in range(0, frames.shape[1], _BLOCK_FRAMES):
        yield np.abs(np.fft.rfft(frames[:, i : i + _BLOCK_FRAMES] * window, axis=-1))


def average_spectrum_db(audio: np.ndarray, n_fft: int = 2048, name: str = "input") -> np.ndarray:
    """LTAS in dB (step 1 of the module docstring). ``[L]`` or ``[C, L]`` -> ``[n_fft/2 + 1]``."""
    x = _channels(audio, name)
    if x.shape[1] < n_fft:
        raise InputError(
            f"{name}: {x.shape[1]} samples are too short to estimate its bandwidth "
            f"(needs at least {n_fft})"
        )
    if not np.any(x):
        raise InputError(f"{name}: silent input, cannot estimate its bandwidth")
    ltas = SpectrumAccumulator(1, n_fft, hop=n_fft // 4)  # the rate only labels its freqs
    ltas.add(x)
    power = ltas.mean_power()
    peak = power.max()
    if not peak > 0:
        raise InputError(f"{name}: silent input, cannot estimate its bandwidth")
    return 10.0 * np.log10(np.maximum(power, peak * 10.0 ** (-FLOOR_DB / 10.0)))


def edge_strength(level_db: np.ndarray, k_lo: int) -> tuple[np.ndarray, np.ndarray]:
    """``(k, D[k])`` for the candidates ``k >= k_lo`` (step 2 of the module docstring)."""
    g, w = GUARD_BINS, EDGE_BINS
    n = level_db.shape[0]
    cum = np.concatenate([[0.0], np.cumsum(level_db)])
    k = np.arange(max(k_lo, 1 + g + w), n - g - w // 2 + 1)
    below = (cum[k - g] - cum[k - g - w]) / w
    top = np.minimum(k + g + w, n)
    above = (cum[top] - cum[k + g]) / (top - k - g)
    return k, below - above


def estimate_cutoff(
    audio: np.ndarray, sample_rate: int, n_fft: int = 2048, *, name: str = "input"
) -> float:
    """Estimated cutoff in Hz of ``audio`` (``[L]`` or ``[C, L]``): where its band limit starts.

    See the module docstring for the method. Raises :class:`~a2sb.errors.InputError` for a
    silent or too-short input and for one without a band limit (full-band), with ``name`` as
    the message prefix.
    """
    if n_fft < 128 or n_fft % 2:
        raise ValueError(f"n_fft must be even and >= 128, got {n_fft}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    level = average_spectrum_db(audio, n_fft, name)
    bin_hz = sample_rate / n_fft
    k, strength = edge_strength(level, math.ceil(MIN_CUTOFF_HZ / bin_hz))
    if k.size == 0:
        raise ValueError(f"n_fft {n_fft} at {sample_rate} Hz leaves no candidate edge")
    best = int(np.argmax(strength))
    if not strength[best] >= MIN_DROP_DB:
        raise InputError(
            f"{name}: no band limit found: the input looks full-band up to "
            f"{k[-1] * bin_hz:.0f} Hz (steepest drop {strength[best]:.1f} dB at "
            f"{k[best] * bin_hz:.0f} Hz, {MIN_DROP_DB:g} dB needed); give --cutoff-hz"
        )
    edge = int(k[best])
    g, w = GUARD_BINS, EDGE_BINS
    lookback = int(LOOKBACK * edge)
    starts = np.arange(edge - g - w - lookback, edge - g - w + 1)
    starts = starts[starts >= 1][::-1][:: w // 4]  # from the band next to the edge downwards
    ref = max(float(np.percentile(level[s : s + w], REF_PERCENTILE)) for s in starts)
    threshold = ref - DROP_DB
    lo, hi = int(starts[-1]), min(edge + g + w, level.shape[0] - 1)
    # Half the bins of the band whose median is ref lie at or above the threshold.
    j = lo + int(np.nonzero(level[lo:hi] >= threshold)[0][-1])
    fall = level[j] - level[j + 1]
    frac = float(np.clip((level[j] - threshold) / fall, 0.0, 1.0)) if fall > 0 else 0.0
    return float(min((j + frac) * bin_hz, np.nextafter(sample_rate / 2, 0.0)))


def rolloff_cutoff(
    audio: np.ndarray,
    sample_rate: int,
    roll_percent: float = 0.99,
    n_fft: int = 2048,
    hop_length: int = 512,
) -> float:
    """The official upsampling API's cutoff: mean spectral roll-off frequency, truncated to Hz.

    Mono mix (mean of channels); magnitude STFT with centred periodic-Hann frames (``n_fft / 2``
    zeros padded at both ends, ``1 + L // hop_length`` frames); per frame the roll-off is the
    smallest bin centre frequency whose cumulative magnitude over bins ``0 .. k`` reaches
    ``roll_percent`` of the frame's total (0 Hz for an all-zero frame); the result is
    ``int(mean over frames)``. It follows where the energy lies, not the band limit: see the
    module docstring.
    """
    if not 0.0 < roll_percent < 1.0:
        raise ValueError(f"roll_percent must lie in (0, 1), got {roll_percent}")
    x = _channels(audio, "input").mean(axis=0)
    if x.shape[0] == 0:
        raise InputError("input: empty audio, cannot estimate its bandwidth")
    padded = np.pad(x, (n_fft // 2, n_fft // 2))[None, :]
    freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    total, frames = 0.0, 0
    for mag in _frame_spectra(padded, n_fft, hop_length):
        cum = np.cumsum(mag[0], axis=-1)
        first = np.argmax(cum >= roll_percent * cum[:, -1:], axis=-1)
        total += float(freqs[first].sum())
        frames += first.shape[0]
    return float(int(total / frames))
