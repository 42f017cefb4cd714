"""Seconds per 10 s of audio for each metric on this machine.

    python benchmarks/bench_metrics.py [--duration 30] [--repeats 3] [--json out.json]

Scores a synthetic 44.1 kHz signal (a music-like mix for LSD, SiSpec and ViSQOL; a piano-like
rendering of a score for MIDI-F1) against a 4 kHz bandwidth-limited copy. Each metric runs once
on a short signal first, so one-time costs (numba compilation, model loading) are excluded and
reported separately; the figure is the median over the repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metrics import bandwidth_limit, lsd, midi_f1, sispec, visqol  # noqa: E402
from metrics.midi_f1 import Note  # noqa: E402
from metrics.synthetic import example_score, music_like, render_piano, write_midi  # noqa: E402

SR = 44100


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of audio")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    x = music_like(args.duration, SR, seed=0)
    y = bandwidth_limit(x, SR, 4000)
    score: list[Note] = []
    for k in range(int(np.ceil(args.duration / 8.0))):
        score += [
            Note(n.start + 8.0 * k, n.end + 8.0 * k, n.pitch, n.amplitude) for n in example_score(k)
        ]
    score = [n for n in score if n.end <= args.duration]
    piano = render_piano(score, SR, duration_s=args.duration)
    piano_low = bandwidth_limit(piano, SR, 4000)

    with tempfile.TemporaryDirectory() as tmp:
        midi_path = Path(tmp) / "score.mid"
        write_midi(score, midi_path)
        cases: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
            "lsd": (lambda: lsd(x[:SR], y[:SR], SR), lambda: lsd(x, y, SR)),
            "sispec": (lambda: sispec(x[:SR], y[:SR], SR), lambda: sispec(x, y, SR)),
            "visqol": (lambda: visqol(x[: 2 * SR], y[: 2 * SR], SR), lambda: visqol(x, y, SR)),
            "midi_f1": (
                lambda: midi_f1(piano_low[: 2 * SR], SR, midi_path),
                lambda: midi_f1(piano_low, SR, midi_path),
            ),
        }
        results = {}
        for name, (warm, run) in cases.items():
            first = _timed(warm)
            times = [_timed(run) for _ in range(args.repeats)]
            per10 = statistics.median(times) / args.duration * 10.0
            results[name] = {"seconds_per_10s": per10, "first_call_seconds": first}

    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"python {platform.python_version()}; {args.duration:g} s at {SR} Hz, "
        f"median of {args.repeats}"
    )
    print(f"{'metric':<8} {'s per 10 s audio':>17} {'first call (s)':>15}")
    for name, r in results.items():
        print(f"{name:<8} {r['seconds_per_10s']:>17.3f} {r['first_call_seconds']:>15.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
