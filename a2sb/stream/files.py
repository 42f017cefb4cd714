"""Block reading (with soxr's streaming resampler) and atomic block writing of audio files.

:func:`open_source` reads a file's header and returns its length and channels at the model's
rate and an iterator of ``[K, n]`` float32 blocks: soundfile block reads, resampled by one
``soxr.ResampleStream`` at :data:`a2sb.io.audio.RESAMPLE_QUALITY` when the rate differs (the
same samples, and the same count, as :func:`a2sb.io.audio.resample` of the whole file). The input
is never loaded whole. :func:`write_blocks` writes blocks to a temporary file beside the target
and renames it over the target once all are in (:func:`a2sb.io.atomic.atomic_write`), so a
failure or Ctrl-C leaves no half-written output.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from ..errors import InputError
from ..io.atomic import atomic_write
from ..io.audio import RESAMPLE_QUALITY, audio_format, default_subtype

#: samples per soundfile read (at the file's rate)
READ_BLOCK = 1 << 16


@dataclass(frozen=True)
class Source:
    """An audio file opened for block reading at ``rate`` (the model's)."""

    path: Path
    frames: int  # at the file's own rate
    channels: int
    file_rate: int
    rate: int

    @property
    def length(self) -> int:
        """Samples at the model's rate: soxr's count, ``frames / (file_rate / rate)`` rounded as
        soxr rounds it in double precision (checked against ``soxr.resample`` for 4999 lengths
        and 8 rate pairs: halves go either way with the rounding of the ratio)."""
        if self.file_rate == self.rate:
            return self.frames
        return int(self.frames / (self.file_rate / self.rate) + 0.5)

    def blocks(self, block: int = READ_BLOCK) -> Iterator[np.ndarray]:
        """``[K, n]`` float32 blocks at the model's rate, checked for NaN / Inf."""
        stream = None
        if self.file_rate != self.rate:
            stream = soxr.ResampleStream(self.file_rate, self.rate, self.channels,
                                         dtype="float32", quality=RESAMPLE_QUALITY)  # fmt: skip
        read = 0
        try:
            with sf.SoundFile(str(self.path)) as f:
                while True:
                    data = f.read(block, dtype="float32", always_2d=True)
                    last = data.shape[0] < block
                    read += data.shape[0]
                    if not np.isfinite(data).all():
                        bad = int(data.size - np.count_nonzero(np.isfinite(data)))
                        raise InputError(f"{self.path}: audio holds {bad} NaN or Inf samples "
                                         f"(near {read / self.file_rate:.1f} s)")  # fmt: skip
                    if stream is not None:
                        data = stream.resample_chunk(data, last=last)
                    if data.shape[0]:
                        yield np.ascontiguousarray(data.T)
                    if last:
                        break
        except InputError:
            raise
        except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise InputError(f"{self.path}: reading failed ({reason})") from None
        if read != self.frames:
            raise InputError(
                f"{self.path}: the header announces {self.frames} samples but {read} were read"
            )


def open_source(path: str | os.PathLike[str], rate: int) -> Source:
    """The header of ``path`` (nothing decoded); one-line :class:`InputError` for a missing,
    unreadable or empty file."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not an audio file")
    try:
        info = sf.info(str(path))
    except Exception as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(f"{path}: not a readable audio file ({reason})") from None
    if info.frames <= 0:
        raise InputError(f"{path}: audio has zero length")
    return Source(path, int(info.frames), int(info.channels), int(info.samplerate), int(rate))


def write_blocks(
    path: str | os.PathLike[str],
    rate: int,
    channels: int,
    produce: Callable[[Callable[[np.ndarray], None]], None],
    subtype: str | None = None,
) -> Path:
    """Write the ``[K, n]`` blocks that ``produce(write)`` passes to ``write`` into ``path``,
    atomically."""
    fmt = audio_format(path)
    subtype = subtype or default_subtype(path)

    def write(tmp: Path) -> None:
        with sf.SoundFile(str(tmp), "w", rate, channels, subtype, format=fmt) as f:
            produce(lambda block: f.write(np.ascontiguousarray(block.T)))

    return atomic_write(path, write, suffix=Path(path).suffix)
