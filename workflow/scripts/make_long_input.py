"""Tile the audio files of a folder into one mono file of exactly --seconds (Figure 7 input).

The files (``*.wav``, sorted by name, each averaged to mono) are read only until their total
reaches the output's length, then repeated; the output (FLOAT WAV at their common rate) is
written block by block to a temporary file beside it that is renamed when complete, so an hour
of audio costs the memory of one tile and one block, not of the whole file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from a2sb.errors import InputError
from a2sb.io.atomic import atomic_write
from a2sb.io.audio import read_audio

#: samples per block written (about 24 s at 44.1 kHz, 4 MiB of float32)
BLOCK = 1 << 20


def read_tile(files: list[Path], seconds: float) -> tuple[np.ndarray, int, int]:
    """The mono concatenation of ``files`` in order, read only until it covers ``seconds``, its
    sample rate (the files must share one) and the output's length in samples."""
    parts: list[np.ndarray] = []
    rate, n, total = 0, 0, 0
    for f in files:
        audio, r = read_audio(f)
        if parts and r != rate:
            raise InputError(f"{f}: sample rate {r} Hz differs from the first file's {rate} Hz")
        rate, n = r, int(round(seconds * r))
        parts.append(audio.mean(axis=0, dtype=np.float32))
        total += parts[-1].size
        if total >= n:
            break
    return np.concatenate(parts), rate, n


def write_tiled(path: Path, tile: np.ndarray, n: int, rate: int) -> None:
    """Write ``n`` samples of ``tile`` repeated, :data:`BLOCK` samples at a time, atomically
    (RF64, the WAV that may exceed 4 GiB, past 4 GiB of samples)."""
    fmt = "RF64" if 4 * n > 0xFFFF0000 else "WAV"

    def write(tmp: Path) -> None:
        with sf.SoundFile(str(tmp), "w", samplerate=rate, channels=1, subtype="FLOAT",
                          format=fmt) as out:  # fmt: skip
            written = 0
            while written < n:
                m = min(BLOCK, n - written)
                start = written % tile.size
                idx = np.arange(start, start + m) % tile.size
                out.write(tile[idx])
                written += m

    atomic_write(path, write, suffix=path.suffix)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--in-dir", type=Path, required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    try:
        if not args.seconds > 0:
            raise InputError(f"--seconds {args.seconds:g}: must be positive")
        if args.out.suffix.lower() != ".wav":
            raise InputError(f"{args.out}: the output must be a .wav file")
        files = sorted(args.in_dir.glob("*.wav"))
        if not files:
            raise InputError(f"no .wav files in {args.in_dir}")
        tile, rate, n = read_tile(files, args.seconds)
        if not tile.size:
            raise InputError(f"{args.in_dir}: the .wav files hold no samples")
        write_tiled(args.out, tile, n, rate)
    except InputError as exc:
        print(f"make_long_input: error: {exc}", file=sys.stderr)
        return 2
    print(f"make_long_input: {args.out}: {n} samples ({n / rate:g} s) at {rate} Hz, mono, "
          f"tiled from {tile.size / rate:.1f} s of {args.in_dir}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
