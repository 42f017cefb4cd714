"""Audio input for evaluation: loading with one-line errors, mono downmix, finiteness checks.

Arrays are float64, shape ``[T]`` (mono) or ``[T, C]`` (channels last, as soundfile returns).
Stereo handling for every metric: downmix to mono by averaging channels, as the reference tools
do when they read files (ssr_eval and basic-pitch call ``librosa.load(mono=True)``, visqol-python
``load_as_mono``).

Files are read, resampled and written by the project's torch-free :mod:`a2sb.io.audio`
(channels first there; the transposes happen here): one soxr quality for every resampling
(``"HQ"``), atomic writes. Its :class:`~a2sb.errors.InputError` becomes :class:`AudioError`
with the same one-line message, which starts with the file name.
"""

from __future__ import annotations

import os

import numpy as np

from a2sb.errors import InputError
from a2sb.io.audio import read_audio

from .errors import AudioError


def load_audio(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Read an audio file as float64 ``[T]`` (one channel) or ``[T, C]`` and its sample rate.

    Raises :class:`AudioError` with a one-line reason naming the file for a missing,
    unreadable or empty file, or one holding NaN or Inf samples.
    """
    try:
        audio, rate = read_audio(path, dtype="float64")
    except InputError as exc:
        raise AudioError(str(exc)) from None
    return (audio[0] if audio.shape[0] == 1 else np.ascontiguousarray(audio.T)), rate


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
