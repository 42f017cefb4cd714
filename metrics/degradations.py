"""The evaluation degradations (SPEC 8), shared by every method and the pipeline.

- Bandwidth extension at cutoff ``f_c``: the ground truth resampled to ``2 f_c`` and back to its
  rate by :func:`a2sb.io.audio.resample` (soxr, quality "HQ", linear phase, delay compensated),
  trimmed or zero-padded to the input length. soxr's anti-aliasing filter removes the content
  above ``f_c`` (its pass band ends a little below ``f_c``).
- Inpainting with gaps of ``g`` seconds: for i = 0, 1, ... the gap
  ``[5 i + (5 - g) / 2, 5 i + (5 + g) / 2]`` s (centred in each 5-s segment), for every i whose
  gap ends within the file; samples ``round(start * rate)`` (inclusive) to ``round(end * rate)``
  (exclusive) are set to zero. The gap list is written beside the degraded file as JSON
  (:func:`write_gaps_json`).

Audio arrays are ``[T]`` or ``[T, C]``; channels are degraded alike.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from a2sb.io.atomic import write_text
from a2sb.io.audio import fit_length, resample

#: Length of the segments whose centres hold the inpainting gaps, in seconds.
GAP_PERIOD_S = 5.0

#: Suffix of the JSON gap list written beside an inpainting input (``song.wav`` -> ``song.gaps.json``).
GAPS_SUFFIX = ".gaps.json"


def bandwidth_limit(audio: np.ndarray, sample_rate: int, cutoff_hz: float) -> np.ndarray:
    """Resample ``audio`` [T] or [T, C] to ``2 * cutoff_hz`` and back; same shape and dtype."""
    if not 0 < cutoff_hz < sample_rate / 2:
        raise ValueError(
            f"cutoff must lie in (0, {sample_rate / 2:g}) Hz at {sample_rate} Hz, got {cutoff_hz:g}"
        )
    x = np.asarray(audio)
    low_rate = 2 * cutoff_hz
    if float(low_rate).is_integer():
        low_rate = int(low_rate)
    low = resample(x, sample_rate, low_rate, axis=0)
    back = resample(low, low_rate, sample_rate, axis=0)
    return fit_length(back, x.shape[0], axis=0).astype(x.dtype, copy=False)


def inpainting_gaps(
    duration_s: float, gap_ms: float, period_s: float = GAP_PERIOD_S
) -> list[tuple[float, float]]:
    """Gaps ``(start_s, end_s)`` centred in each ``period_s`` segment whose end lies within
    ``duration_s`` (SPEC 8)."""
    gap_s = gap_ms / 1000.0
    if not 0 < gap_s <= period_s:
        raise ValueError(f"gap must lie in (0, {period_s * 1000:g}] ms, got {gap_ms:g}")
    gaps = []
    i = 0
    while period_s * i + (period_s + gap_s) / 2 <= duration_s + 1e-9:
        gaps.append((period_s * i + (period_s - gap_s) / 2, period_s * i + (period_s + gap_s) / 2))
        i += 1
    return gaps


def gap_samples(gaps: list[tuple[float, float]], sample_rate: int) -> list[tuple[int, int]]:
    """Sample ranges ``[round(start * rate), round(end * rate))`` of ``gaps``."""
    return [(round(s * sample_rate), round(e * sample_rate)) for s, e in gaps]


def apply_gaps(audio: np.ndarray, sample_rate: int, gaps: list[tuple[float, float]]) -> np.ndarray:
    """Copy of ``audio`` [T] or [T, C] with the samples of ``gaps`` (seconds) set to zero."""
    out = np.array(audio, copy=True)
    for start, stop in gap_samples(gaps, sample_rate):
        out[max(start, 0) : max(stop, 0)] = 0
    return out


def gaps_json_path(audio_path: str | os.PathLike[str]) -> Path:
    """Where the gap list of ``audio_path`` lives: same folder, suffix ``.gaps.json``."""
    return Path(audio_path).with_suffix(GAPS_SUFFIX)


def write_gaps_json(
    audio_path: str | os.PathLike[str],
    gaps: list[tuple[float, float]],
    gap_ms: float,
    sample_rate: int,
    period_s: float = GAP_PERIOD_S,
) -> Path:
    """Write ``{"gaps_s", "gap_ms", "period_s", "sample_rate"}`` beside ``audio_path``
    atomically; returns the JSON path."""
    path = gaps_json_path(audio_path)
    record: dict[str, Any] = {
        "gaps_s": [[float(s), float(e)] for s, e in gaps],
        "gap_ms": gap_ms,
        "period_s": period_s,
        "sample_rate": sample_rate,
    }
    write_text(path, json.dumps(record, indent=1) + "\n")
    return path


def read_gaps_json(path: str | os.PathLike[str]) -> list[tuple[float, float]]:
    """The gap list of a ``.gaps.json`` file (or of the audio file it sits beside)."""
    path = Path(path)
    if not str(path).endswith(GAPS_SUFFIX):
        path = gaps_json_path(path)
    record = json.loads(path.read_text(encoding="utf-8"))
    return [(float(s), float(e)) for s, e in record["gaps_s"]]
