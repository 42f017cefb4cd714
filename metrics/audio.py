"""Audio input/output for evaluation: loading with clear errors, mono downmix, resampling, and
atomic writes.

Arrays are float64, shape ``[T]`` (mono) or ``[T, C]`` (channels last, as soundfile returns).
Stereo handling for every metric: downmix to mono by averaging channels, as the reference tools
do when they read files (ssr_eval and basic-pitch call ``librosa.load(mono=True)``, visqol-python
``load_as_mono``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from .errors import AudioError

#: Extensions the evaluation treats as audio (whatever libsndfile reads).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".aiff", ".aif", ".mp3")

#: soxr quality used for every resampling in this library ("HQ": soxr's default, 20-bit).
SOXR_QUALITY = "HQ"


def load_audio(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Read an audio file as float64 ``[T]`` or ``[T, C]`` and its sample rate.

    Raises :class:`AudioError` with a one-line reason for a missing, unreadable or empty file.
    Non-finite samples are returned as they are (see :func:`check_finite`).
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"missing file: {path}")
    try:
        data, rate = sf.read(str(path), dtype="float64", always_2d=False)
    except Exception as exc:  # libsndfile raises several types; all mean "unreadable"
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise AudioError(f"unreadable audio file {path}: {reason}") from exc
    if data.shape[0] == 0:
        raise AudioError(f"empty audio file (0 samples): {path}")
    return data, int(rate)


def to_mono(audio: np.ndarray) -> np.ndarray:
    """``[T]`` or ``[T, C]`` -> ``[T]`` float64, averaging channels."""
    audio = np.asarray(audio, dtype=np.float64)
    if audio.ndim == 1:
        return audio
    if audio.ndim == 2:
        return audio.mean(axis=1)
    raise AudioError(f"audio must be [T] or [T, C], got shape {audio.shape}")


def check_finite(audio: np.ndarray, what: str = "audio") -> None:
    """Raise :class:`AudioError` if ``audio`` holds NaN or Inf samples."""
    bad = int(np.size(audio) - np.count_nonzero(np.isfinite(audio)))
    if bad:
        raise AudioError(f"{what} has {bad} non-finite samples (NaN or Inf)")


def prepare(audio: np.ndarray, what: str = "audio") -> np.ndarray:
    """Mono float64 ``[T]`` with finite samples and at least one sample, else :class:`AudioError`."""
    mono = to_mono(audio)
    if mono.shape[0] == 0:
        raise AudioError(f"{what} is empty")
    check_finite(mono, what)
    return mono


def resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample ``[T]`` or ``[T, C]`` with soxr (quality :data:`SOXR_QUALITY`, linear phase,
    delay compensated); the output has ``round(T * rate_out / rate_in)`` samples."""
    if rate_in == rate_out:
        return np.asarray(audio)
    return soxr.resample(np.asarray(audio), rate_in, rate_out, quality=SOXR_QUALITY)


def fit_length(audio: np.ndarray, length: int) -> np.ndarray:
    """Trim or zero-pad ``[T, ...]`` along time to exactly ``length`` samples."""
    if audio.shape[0] >= length:
        return audio[:length]
    pad = [(0, length - audio.shape[0])] + [(0, 0)] * (audio.ndim - 1)
    return np.pad(audio, pad)


def _temp_beside(path: str | os.PathLike[str], suffix: str = "") -> tuple[int, str]:
    """Open a temporary file beside ``path`` (same folder, so ``os.replace`` is atomic)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)


def write_audio(
    path: str | os.PathLike[str],
    audio: np.ndarray,
    sample_rate: int,
    subtype: str | None = None,
) -> None:
    """Write audio atomically (temporary file in the same folder, then ``os.replace``).

    The format follows the extension of ``path``; ``subtype`` defaults to soundfile's default
    for that format (PCM_16 for WAV and FLAC), pass e.g. ``"FLOAT"`` to keep full precision.
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").upper()
    if fmt == "AIF":
        fmt = "AIFF"
    if fmt not in sf.available_formats():
        raise AudioError(f"cannot write audio format {path.suffix!r}: {path}")
    if subtype is not None and not sf.check_format(fmt, subtype):
        raise AudioError(f"subtype {subtype} is not valid for {fmt}: {path}")
    fd, tmp = _temp_beside(path, path.suffix)
    os.close(fd)
    try:
        sf.write(tmp, audio, sample_rate, subtype=subtype, format=fmt)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write a text file atomically (temporary file in the same folder, then ``os.replace``)."""
    path = Path(path)
    fd, tmp = _temp_beside(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
