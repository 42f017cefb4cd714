"""Restoration benchmark: seconds per sampling step and peak memory versus input length and steps.

Runs the real restoration path (encode, mask, bridge sampler with MultiDiffusion, decode) with the
``bench-small`` preset (the paper's wiring, widths [32, 64, 64, 128, 128, 256], 2 heads) at the
paper's STFT, windows of 256 frames with hop 128, bandwidth extension at 4 kHz. Each case runs in
a fresh process; peak memory is that process's high-water mark of resident memory (VmHWM),
which includes the ~0.3 GB of the Python/torch runtime and the model.

    python benchmarks/bench_sampling.py                 # 10 s and 60 s, 2 and 8 steps, batch 1
    python benchmarks/bench_sampling.py --batch 1 16 --steps 2 50 --seconds 10 60
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time


def peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def child(seconds: float, steps: int, batch: int, preset: str, threads: int) -> dict:
    import numpy as np
    import torch

    import a2sb
    from a2sb.multidiffusion import WindowConfig
    from a2sb.restoration import Restorer
    from a2sb.sampler import PartitionRouter

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = a2sb.build_model(preset).eval()
    restorer = Restorer(
        router=PartitionRouter([(model, (0.0, 1.0))]), stft=a2sb.STFTConfig(), kind="factorized"
    )
    rate = 44100
    t = np.arange(int(seconds * rate)) / rate
    audio = sum(
        0.1 * np.sin(2 * np.pi * f * t) for f in (220.0, 330.0, 440.0, 1320.0, 2500.0)
    ).astype(np.float32)
    window = WindowConfig(window_frames=256, hop_frames=128, batch_size=batch)
    base = peak_rss_mb()
    start = time.perf_counter()
    out = a2sb.restore(
        audio,
        rate,
        task="bandwidth-extension",
        cutoff_hz=4000.0,
        checkpoint=restorer,
        steps=steps,
        seed=0,
        window=window,
    )
    wall = time.perf_counter() - start
    assert out.shape == audio.shape and np.isfinite(out).all()
    frames = len(audio) // 512 + 1
    from a2sb.multidiffusion import window_starts

    return {
        "seconds": seconds,
        "steps": steps,
        "batch": batch,
        "windows": len(window_starts(frames, window)[0]),
        "wall_s": round(wall, 2),
        "s_per_step": round(wall / steps, 2),
        "peak_mb": round(peak_rss_mb(), 1),
        "runtime_and_model_mb": round(base, 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--seconds", type=float, nargs="+", default=[10.0, 60.0])
    p.add_argument("--steps", type=int, nargs="+", default=[2, 8])
    p.add_argument("--batch", type=int, nargs="+", default=[1])
    p.add_argument("--preset", default="bench-small")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(
            json.dumps(
                child(args.seconds[0], args.steps[0], args.batch[0], args.preset, args.threads)
            )
        )
        return
    print(
        f"{'seconds':>8} {'steps':>6} {'batch':>6} {'windows':>8} {'s/step':>8} {'peak MB':>9} {'base MB':>8}"
    )
    for batch in args.batch:
        for seconds in args.seconds:
            for steps in args.steps:
                cmd = [
                    sys.executable,
                    __file__,
                    "--child",
                    "--seconds",
                    str(seconds),
                    "--steps",
                    str(steps),
                    "--batch",
                    str(batch),
                    "--preset",
                    args.preset,
                    "--threads",
                    str(args.threads),
                ]
                res = subprocess.run(cmd, capture_output=True, text=True)
                if res.returncode:
                    print(
                        f"{seconds:>8g} {steps:>6} {batch:>6}  failed: {res.stderr.strip().splitlines()[-1:]}"
                    )
                    continue
                r = json.loads(res.stdout.strip().splitlines()[-1])
                print(
                    f"{r['seconds']:>8g} {r['steps']:>6} {r['batch']:>6} {r['windows']:>8} {r['s_per_step']:>8} "
                    f"{r['peak_mb']:>9} {r['runtime_and_model_mb']:>8}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
