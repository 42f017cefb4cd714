"""Tile the audio files of a folder into one mono file of exactly --seconds (Figure 7 input)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import soundfile as sf


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--in-dir", type=Path, required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    parts, rate = [], None
    for f in sorted(args.in_dir.glob("*.wav")):
        audio, rate = sf.read(str(f), dtype="float32", always_2d=True)
        parts.append(audio.mean(axis=1))
    if not parts:
        print(f"make_long_input: error: no .wav files in {args.in_dir}", file=sys.stderr)
        return 2
    base = np.concatenate(parts)
    n = int(round(args.seconds * rate))
    out = np.tile(base, n // len(base) + 1)[:n]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp.wav")
    sf.write(str(tmp), out, rate, subtype="FLOAT")
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
