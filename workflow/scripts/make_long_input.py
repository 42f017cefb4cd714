"""Tile the audio files of a folder into one mono file of exactly --seconds (Figure 7 input)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from a2sb.io.audio import read_audio, write_audio


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--in-dir", type=Path, required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    parts, rate = [], None
    for f in sorted(args.in_dir.glob("*.wav")):
        audio, rate = read_audio(f)
        parts.append(audio.mean(axis=0))
    if not parts:
        print(f"make_long_input: error: no .wav files in {args.in_dir}", file=sys.stderr)
        return 2
    base = np.concatenate(parts)
    n = int(round(args.seconds * rate))
    out = np.tile(base, n // len(base) + 1)[:n]
    write_audio(args.out, out, rate, subtype="FLOAT")
    return 0


if __name__ == "__main__":
    sys.exit(main())
