"""Stereo image measures: does the restored region keep the reference's stereo image?

Per-channel restoration with independent noise invents panning (a centred instrument's new
treble wanders between the speakers); LSD, SiSpec and ViSQOL cannot see it, they downmix. These
measures compare, band by band over the restored region, the estimate's inter-channel coherence
(ICC) and level difference (ILD) with the reference's, and the side/mid energy ratio (width).
No reference implementation: the definitions are the usual ones of parametric stereo coding
(ICC and ILD per band, e.g. MPEG parametric stereo), computed as follows.

**Input**: 2-channel float arrays ``[T, 2]`` (channels last, L then R, as :mod:`metrics.audio`),
both at ``sample_rate``, cut to the shorter length. Any other channel count raises
:class:`~metrics.errors.MetricUndefined` (no stereo image to measure).

**STFT**: the frame layout of :mod:`metrics.stft` (``n_fft = int(2048 / (44100 / rate))``,
``hop = int(rate / 100)``: 2048 and 441 at 44.1 kHz; periodic Hann; frame j centred on sample
``j * hop``), only the frames whose window lies inside the signal (no padding), complex, and
scaled by ``1 / sqrt(sum w^2)`` so that white noise of variance s^2 has ``E|X|^2 = s^2`` in
every bin at every rate (only the silence threshold sees the scale). L and R are the STFTs of
the two channels; bin k has frequency ``k * rate / n_fft``.

**Region** (the cells that were restored):

- bandwidth extension, ``cutoff_hz``: every frame whose window lies inside the signal (the
  padded end frames of :mod:`metrics.stft` are left out: reflecting the signal there spreads
  its low band over every bin), bins at or above the cutoff;
- inpainting, ``gaps`` [(start_s, end_s), ...]: the frames whose whole window lies inside a
  gap, samples ``round(start * rate)`` to ``round(end * rate)`` (end exclusive, as
  :func:`metrics.degradations.apply_gaps`), bins from :data:`LOW_HZ`;
- neither: the frames inside the signal, bins from :data:`LOW_HZ` (50 Hz).

**Bands**: third octaves from the region's lowest frequency f0 (the cutoff, or 50 Hz): edges
``f0 * 2^(k/3)`` for k >= 1 below ``nyquist / 2^(1/6)``, and the top band ends at Nyquist
(inclusive), so it spans 1/6 to 1/2 octave. A band with fewer than :data:`MIN_BINS` (4) bins
is merged with the band above (the top band with the one below). At 44.1 kHz and a 4 kHz
cutoff: 4000, 5040, 6350, 8000, 10079, 12699, 16000-22050 Hz.

**Per band b**, with sums over the region's frames t and the band's bins f (N_b cells)::

    P_L = sum |L|^2      P_R = sum |R|^2      C = sum L conj(R)
    E_M = sum |(L + R) / 2|^2 = (P_L + P_R + 2 Re C) / 4
    E_S = sum |(L - R) / 2|^2 = (P_L + P_R - 2 Re C) / 4
    d_b = REL_FLOOR (P_L + P_R),   d'_b = REL_FLOOR (E_M + E_S),   REL_FLOOR = 1e-6 (-60 dB)

    ICC_b   = |C| / sqrt((P_L + d_b) (P_R + d_b))              in [0, 1]
    ILD_b   = 10 log10((P_L + d_b) / (P_R + d_b))              dB, + = left louder
    width_b = 10 log10((E_S + d'_b) / (E_M + d'_b))            dB

ILD and width are clipped to +-:data:`LEVEL_LIMIT_DB` (60 dB). The relative floor d makes all
three scale-invariant and finite: a channel (or side/mid component) 60 dB below the other
counts as absent. So identical channels (a centred source) give ICC = 1 - 2e-6, ILD = 0 and
width = -60 dB (the floor: E_S = 0); L = -R gives width +60 dB (the ceiling: E_M = 0); a source
panned with gains (g_L, g_R) gives ILD = 20 log10(g_L / g_R) in every band and ICC ~ 1 (0.95
at 50 dB of panning, 0.71 at 60 dB, towards 0 beyond: hard panning has no coherence to speak
of); independent noise in the two
channels gives ICC near 0 (about ``1 / sqrt(independent cells)``: biased up over few cells,
alike for reference and estimate).

A band is **silent** in a signal when its mean power per cell and channel,
``(P_L + P_R) / (2 N_b)``, is at most ``EPS_POWER = 1e-12`` (-120 dB re white noise of variance
1); a silent band has ICC = 0, ILD = 0 dB, width = 0 dB: an estimate that leaves a band silent
has lost its image. Above that the measures ignore level (LSD judges it): a copy of the
reference 80 dB down scores the same as the reference (errors ~1e-15).

The **width** of a signal is the same ratio over the whole region (sums over every band; 0 dB
when the region is silent).

**Errors** (lower is better, 0 when estimate == reference), over the *scored* bands, those
where the reference is not silent (a band without reference content has no image to keep)::

    icc_err   = mean_b |ICC_b(est) - ICC_b(ref)|             in [0, 1]
    ild_err   = mean_b |ILD_b(est) - ILD_b(ref)|             dB
    width_err = |width(est) - width(ref)|                    dB (whole region)

Undefined (:class:`~metrics.errors.MetricUndefined`) when the reference is silent in every band
of the region, or when no STFT frame lies wholly inside the gaps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .audio import check_finite
from .degradations import gap_samples
from .errors import AudioError, MetricUndefined
from .stft import _window, stft_params

#: Lowest band edge (Hz) for inpainting and the whole signal.
LOW_HZ = 50.0
#: Bands per octave.
BANDS_PER_OCTAVE = 3
#: Fewest STFT bins in a band; narrower bands are merged with a neighbour.
MIN_BINS = 4
#: A band whose mean power per STFT cell and channel (normalised STFT) is at or below this
#: (-120 dB) is silent.
EPS_POWER = 1e-12
#: Relative floor of ICC, ILD and width: a component this far (-60 dB) below counts as absent.
REL_FLOOR = 1e-6
#: ILD and width are clipped to +- this many dB.
LEVEL_LIMIT_DB = 60.0

# Frames transformed per rfft call (per channel): bounds memory for any input length.
_CHUNK_FRAMES = 1024


@dataclass(frozen=True, eq=False)
class StereoMeasures:
    """Per-band values (arrays [B]) and the scalar errors of :func:`stereo_measures`."""

    band_edges_hz: np.ndarray  # [B + 1]; band b is [edges[b], edges[b + 1]) (top one closed)
    band_bins: np.ndarray  # [B] number of STFT bins in each band
    active: np.ndarray  # [B] bool: the reference is not silent in the band (scored)
    icc_ref: np.ndarray  # [B] in [0, 1]
    icc_est: np.ndarray
    ild_ref: np.ndarray  # [B] dB, + = left louder
    ild_est: np.ndarray
    width_band_ref: np.ndarray  # [B] dB, side/mid energy ratio
    width_band_est: np.ndarray
    width_ref: float  # dB over the whole region
    width_est: float
    icc_err: float
    ild_err: float  # dB
    width_err: float  # dB
    n_frames: int  # STFT frames in the region
    region: str  # e.g. "above 4000 Hz", "2 gaps", "whole signal"
    sample_rate: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record: the scalars and one dict per band."""
        n_fft, hop = stft_params(self.sample_rate)
        bands = [
            {
                "low_hz": float(self.band_edges_hz[b]),
                "high_hz": float(self.band_edges_hz[b + 1]),
                "bins": int(self.band_bins[b]),
                "active": bool(self.active[b]),
                "icc_ref": float(self.icc_ref[b]),
                "icc_est": float(self.icc_est[b]),
                "ild_ref_db": float(self.ild_ref[b]),
                "ild_est_db": float(self.ild_est[b]),
                "width_ref_db": float(self.width_band_ref[b]),
                "width_est_db": float(self.width_band_est[b]),
            }
            for b in range(len(self.band_bins))
        ]
        return {
            "region": self.region,
            "sample_rate": self.sample_rate,
            "n_fft": n_fft,
            "hop": hop,
            "frames": self.n_frames,
            "icc_err": self.icc_err,
            "ild_err_db": self.ild_err,
            "width_ref_db": self.width_ref,
            "width_est_db": self.width_est,
            "width_err_db": self.width_err,
            "bands": bands,
        }


def check_stereo(audio: np.ndarray, what: str = "audio") -> np.ndarray:
    """``audio`` as float64 [T, 2] with finite samples; :class:`MetricUndefined` for another
    channel count, :class:`AudioError` for a channels-first [2, T] array, NaN/Inf or no samples."""
    x = np.asarray(audio, dtype=np.float64)
    channels = 1 if x.ndim == 1 else x.shape[-1] if x.ndim == 2 else 0
    if x.ndim == 2 and x.shape[0] == 2 and x.shape[1] > 2:
        raise AudioError(f"{what} has shape {x.shape}: pass [T, 2] (channels last)")
    if x.ndim not in (1, 2):
        raise AudioError(f"{what} must be [T] or [T, C], got shape {x.shape}")
    if channels != 2:
        raise MetricUndefined(
            f"stereo measures undefined: {what} has {channels} channel(s), they need 2"
        )
    if x.shape[0] == 0:
        raise AudioError(f"{what} is empty")
    check_finite(x, what)
    return x


def stereo_bands(sample_rate: int, low_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Band edges [B + 1] (Hz) and first bins [B + 1] (the last one exclusive) of the
    third-octave bands from ``low_hz`` to Nyquist, after merging bands of < MIN_BINS bins."""
    n_fft, _ = stft_params(sample_rate)
    nyquist = sample_rate / 2
    if not 0 < low_hz < nyquist:
        raise ValueError(
            f"cutoff must lie in (0, {nyquist:g}) Hz at {sample_rate} Hz, got {low_hz:g}"
        )
    edges = [float(low_hz)]
    k = 1
    while low_hz * 2 ** (k / BANDS_PER_OCTAVE) < nyquist / 2 ** (0.5 / BANDS_PER_OCTAVE):
        edges.append(low_hz * 2 ** (k / BANDS_PER_OCTAVE))
        k += 1
    edges.append(nyquist)
    n_bins = n_fft // 2 + 1
    freqs = np.arange(n_bins) * sample_rate / n_fft
    # first bin of each band; the top band takes every bin up to and including Nyquist
    starts = [int(np.searchsorted(freqs, e, side="left")) for e in edges[:-1]] + [n_bins]
    if starts[0] >= n_bins:
        raise ValueError(f"no STFT bin at or above {low_hz:g} Hz at {sample_rate} Hz")
    while len(edges) > 2:
        counts = np.diff(starts)
        narrow = np.flatnonzero(counts < MIN_BINS)
        if not narrow.size:
            break
        b = int(narrow[0])
        drop = b + 1 if b + 1 < len(counts) else b  # merge with the band above, else below
        del edges[drop], starts[drop]
    return np.asarray(edges), np.asarray(starts)


def region_frames(
    n_samples: int, sample_rate: int, gaps: Sequence[tuple[float, float]] | None
) -> np.ndarray:
    """Indices of the STFT frames (of the centred STFT of ``n_samples`` samples) whose whole
    window lies inside the signal, or inside one of ``gaps`` (seconds)."""
    n_fft, hop = stft_params(sample_rate)
    half = n_fft // 2
    n_frames = 1 + (n_samples + 2 * half - n_fft) // hop
    starts = np.arange(n_frames) * hop - half  # first sample of each frame's window
    spans = [(0, n_samples)] if gaps is None else gap_samples(list(gaps), sample_rate)
    inside = np.zeros(n_frames, dtype=bool)
    for a, b in spans:
        inside |= (starts >= max(a, 0)) & (starts + n_fft <= min(b, n_samples))
    return np.flatnonzero(inside)


def _check_length(n_samples: int, sample_rate: int) -> None:
    n_fft = stft_params(sample_rate)[0]
    if n_samples < n_fft:
        raise AudioError(
            f"audio too short for the stereo measures: {n_samples} samples, need at least "
            f"{n_fft} (one STFT window) at {sample_rate} Hz"
        )


def check_gaps(gaps: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """``gaps`` as float pairs; ``ValueError`` unless each is finite with 0 <= start < end."""
    out = []
    for gap in gaps:
        start, end = (float(v) for v in gap)
        if not (math.isfinite(start) and math.isfinite(end) and 0 <= start < end):
            raise ValueError(f"gap {start:g}-{end:g} s: need 0 <= start < end (seconds)")
        out.append((start, end))
    if not out:
        raise ValueError("gaps: the list is empty")
    return out


def band_sums(
    audio: np.ndarray, sample_rate: int, frames: np.ndarray, starts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(P_L, P_R, C)`` [B] of ``audio`` [T, 2] over ``frames`` (indices of the centred
    STFT's frames, centre ``frame * hop``, each window inside the signal: no padding) and the
    bands whose first bins are ``starts`` [B + 1] (normalised complex STFT, module docstring)."""
    n_fft, hop = stft_params(sample_rate)
    firsts = np.asarray(frames) * hop - n_fft // 2  # first sample of each window
    if firsts.size and (firsts.min() < 0 or firsts.max() + n_fft > audio.shape[0]):
        raise ValueError("band_sums: a frame's window reaches outside the signal")
    window = _window(n_fft)
    scale = 1.0 / math.sqrt(float(np.sum(window**2)))
    lo, hi = int(starts[0]), int(starts[-1])
    views = [
        np.lib.stride_tricks.sliding_window_view(np.ascontiguousarray(audio[:, c]), n_fft)
        for c in (0, 1)
    ]
    power_l = np.zeros(hi - lo)
    power_r = np.zeros(hi - lo)
    cross = np.zeros(hi - lo, dtype=np.complex128)
    for i in range(0, len(firsts), _CHUNK_FRAMES):
        idx = firsts[i : i + _CHUNK_FRAMES]
        left, right = (
            np.fft.rfft(v[idx] * window, n=n_fft, axis=-1)[:, lo:hi] * scale for v in views
        )
        power_l += np.sum(left.real**2 + left.imag**2, axis=0)
        power_r += np.sum(right.real**2 + right.imag**2, axis=0)
        cross += np.sum(left * np.conj(right), axis=0)
    offsets = np.asarray(starts[:-1]) - lo
    return (
        np.add.reduceat(power_l, offsets),
        np.add.reduceat(power_r, offsets),
        np.add.reduceat(cross, offsets),
    )


def _level_db(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """10 log10((num + d) / (den + d)), d = REL_FLOOR (num + den), clipped; 0 where both are 0."""
    floor = REL_FLOOR * (num + den)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = 10.0 * np.log10((num + floor) / (den + floor))
    return np.clip(np.nan_to_num(ratio, nan=0.0), -LEVEL_LIMIT_DB, LEVEL_LIMIT_DB)


def _image(
    p_l: np.ndarray, p_r: np.ndarray, c: np.ndarray, eps: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """ICC, ILD (dB) and width (dB) per band, and the width of all bands together, from the
    band sums; 0 in silent bands (mean power per cell and channel <= EPS_POWER)."""
    total, twice_re = p_l + p_r, 2.0 * c.real
    mid = np.maximum(total + twice_re, 0.0) / 4
    side = np.maximum(total - twice_re, 0.0) / 4
    sounding = total > 2 * eps
    floor = REL_FLOOR * total
    with np.errstate(invalid="ignore", divide="ignore"):
        icc = np.abs(c) / np.sqrt((p_l + floor) * (p_r + floor))
    icc = np.where(sounding, np.minimum(icc, 1.0), 0.0)
    ild = np.where(sounding, _level_db(p_l, p_r), 0.0)
    width_band = np.where(sounding, _level_db(side, mid), 0.0)
    width = float(_level_db(side.sum(), mid.sum())) if total.sum() > 2 * eps.sum() else 0.0
    return icc, ild, width_band, width


def stereo_measures(
    reference: np.ndarray,
    estimate: np.ndarray,
    sample_rate: int,
    cutoff_hz: float | None = None,
    gaps: Sequence[tuple[float, float]] | None = None,
) -> StereoMeasures:
    """ICC, ILD and width per band of ``estimate`` against ``reference`` (both [T, 2]) over the
    region above ``cutoff_hz`` or inside ``gaps`` (seconds), else the whole signal.

    Raises :class:`MetricUndefined` for input that is not 2-channel, a reference silent in the
    region, or gaps holding no whole STFT frame; :class:`AudioError` for NaN/Inf or too short
    input; ``ValueError`` for a cutoff outside (0, Nyquist), both a cutoff and gaps, or bad gaps.
    """
    ref = check_stereo(reference, "reference")
    est = check_stereo(estimate, "estimate")
    if cutoff_hz is not None and gaps is not None:
        raise ValueError("give a cutoff (bandwidth extension) or gaps (inpainting), not both")
    n = min(ref.shape[0], est.shape[0])
    ref, est = ref[:n], est[:n]
    _check_length(n, sample_rate)
    if cutoff_hz is not None:
        cutoff_hz = float(cutoff_hz)
        edges, starts = stereo_bands(sample_rate, cutoff_hz)
        frames, region = region_frames(n, sample_rate, None), f"above {cutoff_hz:g} Hz"
    else:
        edges, starts = stereo_bands(sample_rate, LOW_HZ)
        if gaps is None:
            frames, region = region_frames(n, sample_rate, None), "whole signal"
        else:
            gaps = check_gaps(gaps)
            frames = region_frames(n, sample_rate, gaps)
            region = f"{len(gaps)} gap(s)"
            if not frames.size:
                raise MetricUndefined(
                    "stereo measures undefined: no STFT frame lies wholly inside the gaps "
                    f"({stft_params(sample_rate)[0]}-sample window)"
                )
    bins = np.diff(starts)
    eps = EPS_POWER * bins * len(frames)
    sums = {
        "ref": band_sums(ref, sample_rate, frames, starts),
        "est": band_sums(est, sample_rate, frames, starts),
    }
    p_l, p_r, _ = sums["ref"]
    active = p_l + p_r > 2 * eps
    if not active.any():
        raise MetricUndefined(f"stereo measures undefined: reference is silent ({region})")
    icc, ild, width_band, width = {}, {}, {}, {}
    for which, (p_l, p_r, c) in sums.items():
        icc[which], ild[which], width_band[which], width[which] = _image(p_l, p_r, c, eps)
    return StereoMeasures(
        band_edges_hz=edges,
        band_bins=bins,
        active=active,
        icc_ref=icc["ref"],
        icc_est=icc["est"],
        ild_ref=ild["ref"],
        ild_est=ild["est"],
        width_band_ref=width_band["ref"],
        width_band_est=width_band["est"],
        width_ref=width["ref"],
        width_est=width["est"],
        icc_err=float(np.mean(np.abs(icc["est"] - icc["ref"])[active])),
        ild_err=float(np.mean(np.abs(ild["est"] - ild["ref"])[active])),
        width_err=abs(width["est"] - width["ref"]),
        n_frames=len(frames),
        region=region,
        sample_rate=sample_rate,
    )
