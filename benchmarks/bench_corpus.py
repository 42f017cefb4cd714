"""Benchmark the offline corpus build: wall time, CPU time, size and energy shares per profile.

Usage: python benchmarks/bench_corpus.py [--profiles ci default] [--seed 0] [--out DIR] [--json FILE]

Builds each profile into ``DIR/<profile>`` (a temporary directory by default, removed afterwards)
and prints one JSON object: per profile the build wall and CPU seconds, seconds of audio, bytes on
disk, and per set the items, seconds and shares of energy above 8 and 12 kHz. It also records the
machine (CPU count, platform) so numbers are comparable only on the same hardware.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def bench(profiles: list[str], seed: int, out: Path) -> dict:
    from a2sb.data.corpus.build import build_corpus

    result: dict = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "seed": seed,
        "profiles": {},
    }
    for profile in profiles:
        target = out / profile
        if target.exists():
            shutil.rmtree(target)
        wall0, cpu0 = time.perf_counter(), time.process_time()
        report = build_corpus(target, profile, seed, progress=False)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        result["profiles"][profile] = {
            "wall_seconds": round(wall, 2),
            "cpu_seconds": round(cpu, 2),
            "audio_seconds": report["total_seconds"],
            "bytes_on_disk": _du(target),
            "sets": {
                name: {
                    k: s[k]
                    for k in (
                        "items",
                        "total_seconds",
                        "energy_share_above_8k",
                        "energy_share_above_12k",
                        "build_seconds",
                        "bytes",
                    )
                }
                for name, s in report["sets"].items()
            },
        }
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profiles", nargs="+", default=["ci", "default"], choices=["ci", "default"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help="keep the corpora here (default: a temporary directory)",
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the result to this file")
    args = ap.parse_args(argv)
    tmp = None
    if args.out is None:
        tmp = tempfile.mkdtemp(prefix="a2sb-bench-corpus-")
        args.out = Path(tmp)
    try:
        result = bench(args.profiles, args.seed, args.out)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
