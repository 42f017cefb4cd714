"""Audio files and resampling for every package: soundfile for I/O, soxr for resampling.

Layout: channels first, ``[L]`` (mono) or ``[C, L]``, as the model library uses it (soundfile
itself is channels last; the transposes happen here). Errors are one-line
:class:`~a2sb.errors.InputError` messages that start with the file name.

Resampling: one soxr quality for the whole project, :data:`RESAMPLE_QUALITY` = ``"HQ"`` (soxr's
default: 20-bit precision, linear phase, delay compensated). It is what the evaluation's
bandwidth-limited inputs have always been made with (SPEC 8: resampled to ``2 f_c`` and back),
so the degradations the models are scored on, the baselines' rate changes and the training
crops all share it; soxr's HQ engine runs in single precision, so float32 and float64 inputs give
the same samples.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from ..errors import InputError
from .atomic import atomic_write, check_not_inputs, check_output_path

#: soxr quality of every resampling in the project (see the module docstring).
RESAMPLE_QUALITY = "HQ"

#: File extensions treated as audio when a folder is scanned (whatever libsndfile reads).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".aiff", ".aif", ".mp3")

_FORMAT_OF_SUFFIX = {".aif": "AIFF"}


def check_signal(audio: np.ndarray, name: str) -> None:
    """Raise :class:`InputError` for a shape other than ``[L]``/``[C, L]``, an empty signal or
    NaN/Inf samples; ``name`` (a file name) starts the message."""
    if audio.ndim not in (1, 2):
        raise InputError(f"{name}: expected audio of shape [L] or [C, L], got {audio.shape}")
    if audio.shape[-1] == 0 or audio.size == 0:
        raise InputError(f"{name}: audio has zero length")
    bad = int(audio.size - np.count_nonzero(np.isfinite(audio)))
    if bad:
        raise InputError(f"{name}: audio holds {bad} NaN or Inf samples")


def read_audio(
    path: str | os.PathLike[str], dtype: str = "float32", check: bool = True
) -> tuple[np.ndarray, int]:
    """Read a file as ``[C, L]`` (``dtype``) and its sample rate.

    A missing, unreadable or (with ``check``) empty or non-finite file is a one-line
    :class:`InputError` naming it.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not an audio file")
    try:
        data, rate = sf.read(str(path), dtype=dtype, always_2d=True)
    except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError or TypeError
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(f"{path}: not a readable audio file ({reason})") from None
    audio = np.ascontiguousarray(data.T)
    if check:
        check_signal(audio, str(path))
    return audio, int(rate)


def audio_format(path: str | os.PathLike[str]) -> str:
    """The soundfile format of ``path``'s extension (``out.flac`` -> ``FLAC``); an
    :class:`InputError` for an extension soundfile cannot write."""
    suffix = Path(path).suffix.lower()
    fmt = _FORMAT_OF_SUFFIX.get(suffix, suffix.lstrip(".").upper())
    if not fmt or fmt not in sf.available_formats():
        raise InputError(f"{path}: cannot write audio format {suffix or '(no extension)'!r}")
    return fmt


#: the subtype written when none is asked for: float WAV (restored audio can exceed full scale),
#: 24-bit FLAC; other formats take soundfile's default
_DEFAULT_SUBTYPES = {"WAV": "FLOAT", "FLAC": "PCM_24", "AIFF": "FLOAT", "W64": "FLOAT"}


def default_subtype(path: str | os.PathLike[str]) -> str:
    """The subtype an output at ``path`` gets when none is given (FLOAT for WAV, PCM_24 for FLAC)."""
    fmt = audio_format(path)
    return _DEFAULT_SUBTYPES.get(fmt) or sf.default_subtype(fmt)


def clipping_note(
    path: str | os.PathLike[str], audio: np.ndarray, subtype: str | None
) -> str | None:
    """A one-line note when ``audio`` exceeds full scale and ``path``'s subtype is an integer one
    (which would clip it); None otherwise. Float subtypes keep such peaks."""
    chosen = subtype or default_subtype(path)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak <= 1.0 or not chosen.startswith(("PCM", "ULAW", "ALAW", "DPCM", "DWVW")):
        return None
    return (
        f"{path}: peaks at {peak:.3f} ({20 * np.log10(peak):+.1f} dBFS), which {chosen} clips; "
        f"write a float format (.wav, --subtype FLOAT) or lower the level"
    )


def check_writable(path: str | os.PathLike[str], subtype: str | None = None) -> str:
    """Check, before any work, that audio can be written to ``path``: a known format for its
    extension, a ``subtype`` that format takes, not a folder. Returns the format."""
    fmt = audio_format(path)
    if subtype is not None and not sf.check_format(fmt, subtype):
        raise InputError(f"{path}: subtype {subtype} is not valid for {fmt}")
    check_output_path(path)
    return fmt


def write_audio(
    path: str | os.PathLike[str], audio: np.ndarray, rate: int, subtype: str | None = None
) -> Path:
    """Write ``[L]`` or ``[C, L]`` atomically in the format of ``path``'s extension.

    ``subtype`` (e.g. ``"FLOAT"``, ``"PCM_16"``) defaults to :func:`default_subtype`; one the
    format cannot take is an :class:`InputError` raised before anything is written.
    """
    fmt = check_writable(path, subtype)
    subtype = subtype or default_subtype(path)
    data = audio.T if audio.ndim == 2 else audio
    return atomic_write(
        path,
        lambda tmp: sf.write(str(tmp), data, rate, subtype=subtype, format=fmt),
        suffix=Path(path).suffix,
    )


def audio_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Audio files below ``folder``, sorted; hidden ones (such as an interrupted atomic write's
    temporary file) left out."""
    return sorted(
        p
        for p in Path(folder).rglob("*")
        if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file() and not p.name.startswith(".")
    )


def plan_outputs(
    paths: list[str],
    in_dir: str | os.PathLike[str] | None,
    out_dir: str | os.PathLike[str] | None,
    subtype: str | None,
) -> list[tuple[Path, Path]]:
    """The ``(input, output)`` pairs of a command that takes ``IN OUT`` or ``--in-dir`` and
    ``--out-dir`` (the folder mirrored), checked before any work: no output is an input, every
    output can be written with ``subtype``. One-line :class:`InputError` otherwise."""
    if in_dir is not None or out_dir is not None:
        if in_dir is None or out_dir is None or paths:
            raise InputError("folder mode takes both --in-dir and --out-dir and no IN OUT")
        in_dir, out_dir = Path(in_dir), Path(out_dir)
        if not in_dir.is_dir():
            raise InputError(f"{in_dir}: input folder not found")
        sources = audio_files(in_dir)
        if not sources:
            raise InputError(f"{in_dir}: no audio files")
        jobs = [(p, out_dir / p.relative_to(in_dir)) for p in sources]
    else:
        if len(paths) != 2:
            raise InputError("give IN OUT (or --in-dir and --out-dir)")
        jobs = [(Path(paths[0]), Path(paths[1]))]
    check_not_inputs([target for _, target in jobs], [source for source, _ in jobs])
    for _, target in jobs:
        check_writable(target, subtype)
    return jobs


def fit_length(audio: np.ndarray, length: int, axis: int = -1) -> np.ndarray:
    """Cut or zero-pad ``audio`` along ``axis`` to exactly ``length`` samples."""
    n = audio.shape[axis]
    if n >= length:
        cut = [slice(None)] * audio.ndim
        cut[axis] = slice(0, length)
        return audio[tuple(cut)]
    pad = [(0, 0)] * audio.ndim
    pad[axis] = (0, length - n)
    return np.pad(audio, pad)


def resample(audio: np.ndarray, rate_in: float, rate_out: float, axis: int = -1) -> np.ndarray:
    """Resample along ``axis`` with soxr at :data:`RESAMPLE_QUALITY`.

    ``[L]``, ``[C, L]`` (``axis=-1``) or ``[T, C]`` (``axis=0``); float32 stays float32, other
    dtypes come back as float64. The output has soxr's own length, ``L * rate_out / rate_in``
    rounded to the nearest sample (a caller that needs another length uses
    :func:`fit_length`); equal rates return the input unchanged.
    """
    if rate_in == rate_out:
        return audio
    x = np.asarray(audio)
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float64)
    frames_first = np.moveaxis(x, axis, 0)  # soxr: [T] or [T, C]
    if frames_first.ndim > 2:
        raise ValueError(f"resample: expected 1 or 2 dimensions, got shape {x.shape}")
    y = soxr.resample(
        np.ascontiguousarray(frames_first), rate_in, rate_out, quality=RESAMPLE_QUALITY
    )
    return np.ascontiguousarray(np.moveaxis(y, 0, axis))
