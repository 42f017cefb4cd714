"""A stereo test set made offline from prepared mono test sets (issue 20).

::

    make_stereo_testset.py --in testsets/AAM testsets/CCMixter testsets/MTD --out testsets/Stereo \
        --items 3 --seconds 3.5 --seed 0

Three designs, cycled over the items (item ``k`` uses design ``k mod 3``), each ``[T, 2]``:

- ``panned``: two instruments (the next item of two different input sets) panned left and right
  with the constant-power law ``L = cos(t) x``, ``R = sin(t) x``, ``t = (p + 1) pi / 4`` at
  pan ``p = -/+ PAN`` (the left source's ILD is ``20 log10(cos t / sin t)`` dB);
- ``room``: one centred mono source plus a stereo room reverb: the source convolved with two
  decorrelated exponentially decaying noise responses (one per channel, seeded, ``T60`` =
  :data:`T60_S`), mixed at :data:`WET` (a wide, partly decorrelated image);
- ``centred``: one mono source on both channels (identical channels, zero width).

Sources are taken in order from the input folders (round robin), cut to ``--seconds``; a mix
whose peak exceeds 0.99 is scaled down. Written with :func:`a2sb.io.atomic.atomic_dir` as
32-bit float WAV under ``OUT/audio`` with ``OUT/items.csv`` (design, sources and their sha256,
licence: the corpus's own, since every item is derived from it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.signal import fftconvolve

from a2sb.io.atomic import atomic_dir, write_text
from a2sb.io.audio import read_audio, write_audio
from a2sb.io.provenance import file_sha256
from metrics.evaluate import rows_to_csv

DESIGNS = ("panned", "room", "centred")
PAN = 0.6  # |p| of the two panned instruments (0: centre, 1: hard)
T60_S = 0.5  # reverb decay time of the room responses
WET = 0.5  # reverb share of the room mix (dry = 1 - WET)


def pan(x: np.ndarray, p: float) -> np.ndarray:
    """Constant-power pan of mono ``x`` [T] to [T, 2]; ``p`` in [-1, 1], -1 hard left."""
    theta = (p + 1) * np.pi / 4
    return np.stack([np.cos(theta) * x, np.sin(theta) * x], axis=1)


def pan_ild_db(p: float) -> float:
    """The level difference (left over right, dB) that :func:`pan` gives a source at ``p``."""
    theta = (p + 1) * np.pi / 4
    return float(20 * np.log10(np.cos(theta) / np.sin(theta)))


def room_responses(rate: int, rng: np.random.Generator) -> np.ndarray:
    """Two decorrelated exponentially decaying noise impulse responses [N, 2], unit energy each."""
    n = int(round(1.5 * T60_S * rate))
    decay = np.exp(-6.9 * np.arange(n) / (T60_S * rate))  # -60 dB at T60
    ir = rng.standard_normal((n, 2)) * decay[:, None]
    return ir / np.sqrt(np.sum(ir**2, axis=0, keepdims=True))


def room(x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Centred ``x`` [T] in a stereo room: dry on both channels plus each channel's reverb."""
    ir = room_responses(rate, rng)
    wet = np.stack([fftconvolve(x, ir[:, c])[: len(x)] for c in range(2)], axis=1)
    return (1 - WET) * np.stack([x, x], axis=1) + WET * wet


def centred(x: np.ndarray) -> np.ndarray:
    """Mono ``x`` [T] on both channels."""
    return np.stack([x, x], axis=1)


def sources(folders: list[Path]) -> list[list[Path]]:
    """The audio files of each input test set (``<folder>/audio/*.wav``), sorted."""
    out = [sorted((f / "audio").glob("*.wav")) for f in folders]
    for folder, files in zip(folders, out):
        if not files:
            raise ValueError(f"{folder}/audio: no .wav files")
    return out


def make(
    folders: list[Path], out: Path, items: int, seconds: float, seed: int, licence: str
) -> list[dict]:
    """Write ``items`` stereo items under ``out`` (atomically); their rows of items.csv."""
    pools = sources(folders)
    taken = [0] * len(pools)
    rng = np.random.default_rng(seed)

    def take(s: int) -> tuple[np.ndarray, int, Path]:
        s %= len(pools)
        path = pools[s][taken[s] % len(pools[s])]
        taken[s] += 1
        audio, rate = read_audio(path)
        x = audio.mean(axis=0) if audio.shape[0] > 1 else audio[0]
        return x[: int(round(seconds * rate))].astype(np.float64), rate, path

    rows = []
    with atomic_dir(out) as tmp:
        for k in range(items):
            design = DESIGNS[k % len(DESIGNS)]
            first = k  # rotate the input sets so each design meets different instruments
            if design == "panned":
                (a, rate, pa), (b, rate_b, pb) = take(first), take(first + 1)
                if rate_b != rate:
                    raise ValueError(f"{pa} and {pb}: different rates {rate} and {rate_b}")
                n = min(len(a), len(b))
                mix, used = pan(a[:n], -PAN) + pan(b[:n], PAN), [pa, pb]
            else:
                x, rate, pa = take(first)
                mix, used = (room(x, rate, rng) if design == "room" else centred(x)), [pa]
            peak = float(np.max(np.abs(mix)))
            if peak > 0.99:
                mix *= 0.99 / peak
            name = f"stereo_{k:03d}_{design}.wav"
            write_audio(tmp / "audio" / name, mix.T.astype(np.float32), rate, subtype="FLOAT")
            rows.append({"item": name, "design": design,
                         "source": ";".join(str(p) for p in used),
                         "source_sha256": ";".join(file_sha256(p) for p in used),
                         "seconds": round(len(mix) / rate, 3), "licence": licence})  # fmt: skip
        write_text(tmp / "items.csv", rows_to_csv(rows))
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--in", dest="inputs", type=Path, nargs="+", required=True,
                   help="prepared mono test sets (folders with audio/*.wav)")  # fmt: skip
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--items", type=int, default=3)
    p.add_argument("--seconds", type=float, default=3.5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--licence", default="derived from the corpus test sets (the corpus's licence)")
    args = p.parse_args()
    if args.items < 1 or args.seconds <= 0:
        print("make_stereo_testset: error: --items >= 1 and --seconds > 0", file=sys.stderr)
        return 2
    try:
        rows = make(args.inputs, args.out, args.items, args.seconds, args.seed, args.licence)
    except (OSError, ValueError) as exc:
        print(f"make_stereo_testset: error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.out}: {len(rows)} stereo items ({', '.join(r['design'] for r in rows)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
