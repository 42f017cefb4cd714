"""Cutoff estimators on band-limited test signals: ``estimate_cutoff`` against the official one.

    python benchmarks/bench_cutoff.py [--duration 4] [--seed 0] [--kinds white,pink,harmonic,music]
        [--filters brickwall,elliptic,resampled] [--json out.json]

Signals (``benchmarks/cutoff_signals.py``, 44.1 kHz): white noise, pink noise, a harmonic
music-like mix and ``music`` (``metrics.synthetic.music_like``: piano-like notes plus hi-hat
noise up to Nyquist). Each is band-limited at 2, 4, 6, 8, 11.025, 12 and 16 kHz by every filter
(FFT brick wall; order-10 elliptic low-pass run forwards and backwards; ``resampled``: the
project's evaluation degradation, soxr HQ to twice the cutoff and back), then MP3-like cases
(shelves of -30, -40 and -50 dB above 11.025 and 16 kHz; a 6 dB roll-off over the 500 Hz below
16 kHz, then nothing) and the unfiltered signal (full-band: ``estimate_cutoff`` should refuse);
every signal gets a -90 dBFS noise floor. ``edge`` is where the degradation's own gain falls
6 dB (what ``estimate_cutoff`` aims at; the nominal cutoff for a brick wall or a shelf, ~0.95 x
it for soxr). Prints one row per case (errors in Hz, estimate minus nominal cutoff and, for
``estimate_cutoff``, minus the edge) and a summary per estimator and degradation: mean absolute
error, largest error (signed) and misses (a band limit reported as full-band).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from a2sb.cutoff import estimate_cutoff, rolloff_cutoff  # noqa: E402
from a2sb.errors import InputError  # noqa: E402
from benchmarks import cutoff_signals as cs  # noqa: E402

CUTOFFS = (2000.0, 4000.0, 6000.0, 8000.0, 11025.0, 12000.0, 16000.0)
SHELF_CUTOFFS = (11025.0, 16000.0)
SHELVES_DB = (-30.0, -40.0, -50.0)


def music(duration_s: float, sample_rate: int, seed: int) -> np.ndarray:
    from metrics.synthetic import music_like

    return 0.5 / 0.8 * music_like(duration_s, sample_rate, seed)


def cases(
    filters: list[str],
) -> list[tuple[str, float | None, Callable[[np.ndarray, int, float], np.ndarray] | None]]:
    """``(degradation name, cutoff, function)``; the full-band case has no cutoff."""
    out: list = []
    for name in filters:
        out += [(name, fc, cs.FILTERS[name]) for fc in CUTOFFS]
    for db in SHELVES_DB:
        for fc in SHELF_CUTOFFS:
            out.append((f"shelf{db:g}dB", fc, lambda x, sr, f, db=db: cs.shelf(x, sr, f, db)))
    out.append(("rolloff+drop", 16000.0, cs.rolloff_then_drop))
    out.append(("none", None, None))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per signal")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kinds", default="white,pink,harmonic,music")
    parser.add_argument("--filters", default=",".join(cs.FILTERS))
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    kinds = args.kinds.split(",")
    filters = args.filters.split(",")
    generators = {**cs.GENERATORS, "music": music}
    sr = cs.SR
    start = time.perf_counter()

    edges: dict[tuple[str, float], float] = {}
    rows = []
    print(
        f"# {args.duration:g} s at {sr} Hz, seed {args.seed}, -90 dBFS floor; errors in Hz; "
        "ours: estimate_cutoff, official: rolloff_cutoff (roll_percent 0.99)"
    )
    print(
        f"{'signal':<9} {'degradation':<13} {'cutoff':>7} {'edge':>7} {'ours':>9} "
        f"{'-cutoff':>7} {'-edge':>6} {'official':>9} {'-cutoff':>7}"
    )
    for kind in kinds:
        clean = generators[kind](args.duration, sr, args.seed)
        for name, fc, fn in cases(filters):
            if fn is None:
                x = cs.dither(clean)
                edge = None
            else:
                x = cs.dither(fn(clean, sr, fc))
                if (name, fc) not in edges:
                    edges[name, fc] = cs.edge_hz(fn, fc, sr)
                edge = edges[name, fc]
            try:
                ours: float | None = estimate_cutoff(x, sr)
            except InputError:
                ours = None
            official = rolloff_cutoff(x, sr)
            rows.append(
                {
                    "signal": kind,
                    "degradation": name,
                    "cutoff": fc,
                    "edge": edge,
                    "ours": ours,
                    "official": official,
                }
            )

            def fmt(v: float | None, width: int, digits: int = 0) -> str:
                return f"{'-':>{width}}" if v is None else f"{v:>{width}.{digits}f}"

            def err(v: float | None, ref: float | None, width: int) -> str:
                if v is None or ref is None:
                    return f"{'-':>{width}}"
                return f"{v - ref:>+{width}.0f}"

            print(
                f"{kind:<9} {name:<13} {fmt(fc, 7)} {fmt(edge, 7)} "
                f"{'full-band' if ours is None else fmt(ours, 9)} {err(ours, fc, 7)} "
                f"{err(ours, edge, 6)} {fmt(official, 9)} {err(official, fc, 7)}"
            )

    print()
    print(
        f"{'estimator':<9} {'degradation':<13} {'cases':>5} {'MAE':>6} {'max err':>8} "
        f"{'MAE/edge':>8} {'max/edge':>8} {'misses':>6}"
    )
    groups = list(dict.fromkeys(r["degradation"] for r in rows if r["cutoff"] is not None))
    for est in ("ours", "official"):
        for group in [*groups, "all"]:
            sel = [
                r
                for r in rows
                if r["cutoff"] is not None and (group == "all" or r["degradation"] == group)
            ]
            hit = [r for r in sel if r[est] is not None]
            e_nom = np.array([r[est] - r["cutoff"] for r in hit])
            e_edge = np.array([r[est] - r["edge"] for r in hit])
            worst = e_nom[np.argmax(np.abs(e_nom))] if hit else np.nan
            worst_edge = e_edge[np.argmax(np.abs(e_edge))] if hit else np.nan
            print(
                f"{est:<9} {group:<13} {len(sel):>5} {np.mean(np.abs(e_nom)):>6.0f} "
                f"{worst:>+8.0f} {np.mean(np.abs(e_edge)):>8.0f} {worst_edge:>+8.0f} "
                f"{len(sel) - len(hit):>6}"
            )
    full = [r for r in rows if r["cutoff"] is None]
    refused = sum(r["ours"] is None for r in full)
    print(
        f"full-band inputs: ours refused {refused}/{len(full)} (wants --cutoff-hz); official "
        f"gave " + ", ".join(f"{r['signal']} {r['official']:.0f} Hz" for r in full)
    )
    print(f"# {time.perf_counter() - start:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
