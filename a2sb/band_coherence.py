"""The inter-channel correlation of a stereo input per frequency band, and the noise correlation
per representation row that :mod:`a2sb.stereo` ``matched-coherence`` draws from it (issue 20).

**Cross spectrum** (:class:`CrossSpectrumScan`, one pass, block by block): the two channels are
cut into non-overlapping frames of :data:`ANALYSIS_FFT` samples at absolute positions
``j * ANALYSIS_FFT`` (periodic Hann window; the incomplete last frame is left out), and per bin
``k`` the sums over frames of ``|A|^2``, ``|B|^2`` and ``Re(A conj(B))`` are kept in float64.
Frames that overlap an excluded span (an inpainting's gaps: their samples are not known) are
left out. Frames are summed in chunks of :data:`CHUNK_FRAMES` at fixed positions, so the sums
are the same, bit for bit, however the signal is cut into blocks (the in-memory and streaming
paths agree).

**Band correlation**: over a band of bins, ``rho = sum Re(A conj B) / sqrt(sum |A|^2 sum |B|^2)``
clipped to [0, 1] (an anti-phase band counts as uncorrelated: noise correlation cannot be
negative here without inventing a sign); a band where both channels are silent (mean power per
bin and frame at most :data:`EPS_POWER`) counts as fully correlated (``rho = 1``: nothing to
keep apart). Bands are third octaves from :data:`LOW_HZ` (edges ``LOW_HZ * 2^(k/3)``; bins
below ``LOW_HZ`` join the first band), as :mod:`metrics.stereo` scores them.

**Row weights** (:func:`row_correlation`) of a representation with ``N`` rows (row ``r`` is STFT
bin ``r + 1``, :mod:`a2sb.representation`): a row that the task generates takes the
correlation of the known band next to it, a known row its own band's:

- bandwidth extension (``edge_hz``, the guarded cutoff :func:`a2sb.masks.guarded_cutoff`): rows
  at or above the edge take the one band ``[edge / 2, edge)`` (the octave below it); rows below
  the edge their own third octave;
- inpainting (no edge): every row its own third octave, measured outside the gaps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .masks import guarded_cutoff
from .representation import STFTConfig

#: samples per analysis frame (46 ms at 44.1 kHz), frames do not overlap
ANALYSIS_FFT = 2048
#: frames summed together before adding to the totals (fixed positions: block-independent sums)
CHUNK_FRAMES = 64
#: lowest band edge (Hz), as metrics.stereo
LOW_HZ = 50.0
#: mean power per bin, frame and channel at or below which a band is silent
EPS_POWER = 1e-12


@dataclass(frozen=True)
class CrossSpectrum:
    """Per-bin sums over the analysis frames: ``power_a``, ``power_b``, ``cross_re`` ``[F]``
    (``F = ANALYSIS_FFT / 2 + 1``), and the number of frames summed."""

    power_a: np.ndarray
    power_b: np.ndarray
    cross_re: np.ndarray
    frames: int

    def correlation(self, bins: slice) -> float:
        """``rho`` of the module docstring over ``bins``."""
        pa = float(self.power_a[bins].sum())
        pb = float(self.power_b[bins].sum())
        cells = max(1, (bins.stop - bins.start) * self.frames)
        if (pa + pb) / (2 * cells) <= EPS_POWER:
            return 1.0
        if pa <= 0.0 or pb <= 0.0:
            return 0.0
        return float(np.clip(self.cross_re[bins].sum() / np.sqrt(pa * pb), 0.0, 1.0))


class CrossSpectrumScan:
    """:class:`CrossSpectrum` of channels 0 and 1 of a signal given block by block ``[C, n]``.

    ``exclude``: sample spans ``[(start, stop), ...]`` whose frames are left out."""

    def __init__(self, exclude: Sequence[tuple[int, int]] = ()):
        bins = ANALYSIS_FFT // 2 + 1
        self.window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(ANALYSIS_FFT) / ANALYSIS_FFT)
        self.exclude = [(int(a), int(b)) for a, b in exclude]
        self.totals = [np.zeros(bins) for _ in range(3)]
        self.frames = 0
        self.pending = np.zeros((2, 0))
        self.start = 0  # absolute sample index of pending[:, 0]

    def update(self, block: np.ndarray) -> None:
        size = CHUNK_FRAMES * ANALYSIS_FFT
        pos, n = 0, block.shape[-1]
        while pos < n:  # a chunk at a time: a whole file given at once is not copied whole
            take = min(size - self.pending.shape[1], n - pos)
            piece = np.asarray(block[:2, pos : pos + take], dtype=np.float64)
            self.pending = np.concatenate([self.pending, piece], axis=1)
            pos += take
            if self.pending.shape[1] == size:
                self._add(self.pending)
                self.pending = np.zeros((2, 0))
                self.start += size

    def result(self) -> CrossSpectrum:
        """The sums so far, with the complete frames still pending."""
        whole = (self.pending.shape[1] // ANALYSIS_FFT) * ANALYSIS_FFT
        if whole:
            self._add(self.pending[:, :whole])
            self.pending = self.pending[:, whole:]
            self.start += whole
        return CrossSpectrum(*(t.copy() for t in self.totals), frames=self.frames)

    def _add(self, samples: np.ndarray) -> None:
        """Add the frames of ``samples`` ``[2, n * ANALYSIS_FFT]`` starting at ``self.start``."""
        n = samples.shape[1] // ANALYSIS_FFT
        starts = self.start + ANALYSIS_FFT * np.arange(n)
        keep = np.ones(n, dtype=bool)
        for a, b in self.exclude:
            keep &= ~((starts < b) & (starts + ANALYSIS_FFT > a))
        if not keep.any():
            return
        frames = samples.reshape(2, n, ANALYSIS_FFT)[:, keep] * self.window
        spec_a, spec_b = np.fft.rfft(frames, axis=-1)
        self.totals[0] += (np.abs(spec_a) ** 2).sum(axis=0)
        self.totals[1] += (np.abs(spec_b) ** 2).sum(axis=0)
        self.totals[2] += (spec_a * np.conj(spec_b)).real.sum(axis=0)
        self.frames += int(keep.sum())


def cross_spectrum(audio: np.ndarray, exclude: Sequence[tuple[int, int]] = ()) -> CrossSpectrum:
    """:class:`CrossSpectrum` of channels 0 and 1 of ``audio`` ``[C, L]`` (C >= 2)."""
    scan = CrossSpectrumScan(exclude)
    scan.update(audio)
    return scan.result()


def _bin_of(freq_hz: float, rate: int) -> int:
    return int(np.ceil(freq_hz * ANALYSIS_FFT / rate))


def third_octave_bins(rate: int) -> list[slice]:
    """Analysis-bin ranges of the third octaves from :data:`LOW_HZ` (bins 1 .. below LOW_HZ in the
    first; the last ends at Nyquist, inclusive)."""
    top = ANALYSIS_FFT // 2 + 1
    edges = [1]
    k = 1
    while True:
        b = _bin_of(LOW_HZ * 2 ** (k / 3), rate)
        if b >= top - 1:
            break
        if b > edges[-1]:
            edges.append(b)
        k += 1
    edges.append(top)
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]


def row_correlation(
    spectrum: CrossSpectrum, cfg: STFTConfig, edge_hz: float | None = None
) -> tuple[float, ...]:
    """The noise correlation of each of ``cfg``'s ``n_rows`` rows (module docstring)."""
    rate = cfg.sample_rate
    bands = third_octave_bins(rate)
    rho = [spectrum.correlation(b) for b in bands]
    if edge_hz is not None:
        lo = max(1, _bin_of(edge_hz / 2, rate))
        hi = max(lo + 1, min(_bin_of(edge_hz, rate), ANALYSIS_FFT // 2 + 1))
        near = spectrum.correlation(slice(lo, hi))
    weights = []
    for row in range(cfg.n_rows):
        freq = cfg.bin_frequency(row + 1)
        if edge_hz is not None and freq >= edge_hz:
            weights.append(near)
            continue
        k = min(ANALYSIS_FFT // 2, int(round(freq * ANALYSIS_FFT / rate)))
        band = next((i for i, b in enumerate(bands) if k < b.stop), len(bands) - 1)
        weights.append(rho[band])
    return tuple(weights)


def task_correlation(
    spectrum: CrossSpectrum, cfg: STFTConfig, task: str, cutoff_hz: float | None
) -> tuple[float, ...]:
    """:func:`row_correlation` for a task: a bandwidth extension's edge is the guarded cutoff
    the mask uses (:func:`a2sb.masks.guarded_cutoff`); an inpainting has none."""
    if task == "bandwidth-extension":
        return row_correlation(spectrum, cfg, guarded_cutoff(float(cutoff_hz)))  # type: ignore[arg-type]
    return row_correlation(spectrum, cfg, None)


__all__ = [
    "ANALYSIS_FFT",
    "CrossSpectrum",
    "CrossSpectrumScan",
    "cross_spectrum",
    "row_correlation",
    "task_correlation",
    "third_octave_bins",
]
