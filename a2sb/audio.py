"""Audio files in and out: soundfile for I/O, soxr for resampling, clear errors, atomic writes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from .errors import InputError


def check_signal(audio: np.ndarray, name: str) -> None:
    """Raise :class:`InputError` for an empty signal or NaN/Inf samples; ``name`` goes in the message."""
    if audio.ndim not in (1, 2):
        raise InputError(f"{name}: expected audio of shape [L] or [C, L], got {audio.shape}")
    if audio.shape[-1] == 0 or audio.size == 0:
        raise InputError(f"{name}: audio has zero length")
    if not np.all(np.isfinite(audio)):
        raise InputError(f"{name}: audio holds NaN or Inf samples")


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read a file as float32 ``[C, L]`` and its sample rate; one-line :class:`InputError` on failure."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not an audio file")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError or TypeError
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: not a readable audio file ({reason})") from None
    audio = np.ascontiguousarray(data.T)
    check_signal(audio, str(path))
    return audio, int(rate)


def resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample ``[L]`` or ``[C, L]`` with soxr (VHQ); identity when the rates agree."""
    if rate_in == rate_out:
        return audio
    if audio.ndim == 1:
        return soxr.resample(audio, rate_in, rate_out, quality="VHQ").astype(audio.dtype)
    return np.stack([resample(channel, rate_in, rate_out) for channel in audio])


def write_audio(path: str | os.PathLike, audio: np.ndarray, rate: int, subtype: str = "FLOAT") -> None:
    """Write ``[L]`` or ``[C, L]`` atomically: a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = audio.T if audio.ndim == 2 else audio
    suffix = path.suffix or ".wav"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        sf.write(tmp, data, rate, subtype=subtype, format=suffix.lstrip(".").upper())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
