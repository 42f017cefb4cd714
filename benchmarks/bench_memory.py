"""Memory estimate against measured peaks, and wall time per batch size, of ``a2sb restore``.

For each input length and ``--batch-size`` a fresh process runs the whole CLI (bandwidth
extension at 4 kHz, ``--steps 1``, ``--in-memory``: the whole-file path, whose memory grows with
the length; the streaming default is measured by benchmarks/bench_streaming.py) on a mono
music-like file with a randomly initialised model (default ``tiny``) and reports its peak
resident memory (``ru_maxrss``, the Python/torch runtime included) and the wall time of the
command; the estimate is the one the CLI made (:mod:`a2sb.memory`, printed in its JSON line).
The STFT is the paper's at half size by default (22.05 kHz, n_fft 1024, hop 256, 128-frame
windows: 512 x 128 per window, the same frames per second), so that 60 s runs in a minute;
``--stft paper`` uses the paper's own (1024 x 256 per window, about 4x slower per window). The
one-time calibration is timed first. Wall times on a shared machine vary with its load; the CPU
seconds (user + system, all threads) of each run vary less.

Recorded (2 CPU cores shared with other jobs, load 4-7, torch 2.13 CPU, tiny model, 1 step)::

    half STFT: calibration 14 s; activations 33 MiB + 45.5 MiB per window
    seconds  batch  estimate MiB  peak MiB   error  wall s  CPU s
          5      1           443       451     -2%    12.9   10.3
          5      4           582       538     +8%     8.6    8.2
          5     16           675       640     +5%     6.8    6.1
         20      1           507       464     +9%    37.0   34.7
         20      4           646       634     +2%    27.1   25.1
         20     16          1202      1178     +2%    18.2   17.0
         60      1           679       613    +11%    90.8   82.3
         60      4           818       781     +5%    76.6   68.6
         60     16          1373      1298     +6%    59.8   53.5
    paper STFT (--stft paper --seconds 20): calibration 37 s; 30 MiB + 302 MiB per window
         20      1           850       763    +11%    77.2   71.1
         20      4          1766      1668     +6%    47.2   45.4
         20     16          4514      4437     +2%    37.9   42.0

The estimate lies within -2 % to +11 % of the measured peaks (the 5-s input has 6 windows and
the 20-s one at the paper's STFT 13, so batch 16 runs 6 and 13 there). Batch 1 is the slowest
here at both window sizes; ``auto`` (a2sb.memory.auto_batch_size) picks 6 / 16 / 16 windows for
5 / 20 / 60 s with the half STFT and 3 with the paper's.

    python benchmarks/bench_memory.py                       # 5, 20, 60 s x batch 1, 4, 16
    python benchmarks/bench_memory.py --seconds 20 --batch 1 16 --stft paper
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STFTS = {
    "half": {"sample_rate": 22050, "n_fft": 1024, "hop_length": 256, "win_length": 1024,
             "segment_frames": 128},
    "paper": {"sample_rate": 44100, "n_fft": 2048, "hop_length": 512, "win_length": 2048,
              "segment_frames": 256},
}  # fmt: skip
MIB = 2**20


def child(argv: list[str]) -> None:
    """Run ``a2sb`` with ``argv`` in this fresh process; print its JSON, wall time and peak."""
    import contextlib
    import io

    from a2sb.cli import main

    def cpu_s() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    out = io.StringIO()
    start, cpu = time.perf_counter(), cpu_s()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    wall, cpu = time.perf_counter() - start, cpu_s() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    info = json.loads(out.getvalue().strip().splitlines()[-1]) if code == 0 else {}
    print(json.dumps({"code": code, "wall_s": wall, "cpu_s": cpu, "peak": peak, **info}))


def make_inputs(folder: Path, preset: str, stft: dict, seconds: list[float]) -> Path:
    """A randomly initialised checkpoint and one music-like file per length; the checkpoint."""
    import numpy as np
    import soundfile as sf
    import torch

    import a2sb
    from a2sb.checkpoint import save_checkpoint
    from a2sb.masks import MaskConfig

    torch.manual_seed(0)
    model = a2sb.build_model(preset)
    ckpt = folder / f"{preset}.safetensors"
    extra = {"mask_config": MaskConfig().to_dict(), "beta_max": 1.0}
    save_checkpoint(ckpt, model, model.config.to_dict(), stft, extra=extra)
    rate = stft["sample_rate"]
    for length in seconds:
        t = np.arange(int(length * rate)) / rate
        tones = sum(0.6**k * np.sin(2 * np.pi * 220.0 * (k + 1) * t) for k in range(12))
        sf.write(folder / f"in_{length:g}.wav", (0.3 * tones).astype(np.float32), rate)
    return ckpt


def calibrate_once(ckpt: Path, seconds: list[float]) -> None:
    """Time the one-time calibration the CLI's first run would do (fills the cache) and print
    the batch size ``auto`` picks for each length on this machine's CPU."""
    from a2sb.memory import (
        auto_batch_size,
        available_memory,
        calibrate,
        checkpoint_shape,
        estimate_memory,
    )

    shape = checkpoint_shape(ckpt)
    start = time.perf_counter()
    window = shape.stft.segment_frames
    cost = calibrate(shape.model, shape.stft.n_rows, window)
    wall = time.perf_counter() - start
    print(f"calibration: {wall:.1f} s; activations {cost.fixed / MIB:.0f} MiB + "
          f"{cost.per_window / MIB:.1f} MiB per window")  # fmt: skip
    for length in seconds:
        samples = int(length * shape.stft.sample_rate)

        def estimate_for(batch: int, samples: int = samples):
            return estimate_memory(samples, 1, shape.stft, shape.model, window, window // 2,
                                   batch, activation=cost, weight_bytes=shape.weight_bytes)  # fmt: skip

        print(f"auto batch size for {length:g} s on the CPU: "
              f"{auto_batch_size(estimate_for, available_memory('cpu'), 'cpu')}")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--seconds", type=float, nargs="+", default=[5.0, 20.0, 60.0])
    p.add_argument(
        "--batch", nargs="*", default=["1", "4", "16"], help="integers or auto (none: only the "
        "calibration and the auto choices)",
    )  # fmt: skip
    p.add_argument("--steps", type=int, default=1)
    p.add_argument("--preset", default="tiny")
    p.add_argument("--stft", choices=sorted(STFTS), default="half")
    p.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child is not None:
        child(args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {**os.environ, "A2SB_CACHE_DIR": str(folder / "cache"),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}  # fmt: skip
        os.environ.update(env)
        ckpt = make_inputs(folder, args.preset, STFTS[args.stft], args.seconds)
        calibrate_once(ckpt, args.seconds)
        print(f"{args.preset}, {args.stft} STFT, {args.steps} step(s), "
              f"{os.cpu_count()} CPUs, torch threads default")  # fmt: skip
        print(f"{'seconds':>7} {'batch':>6} {'estimate MiB':>13} {'peak MiB':>9} {'error':>7} "
              f"{'wall s':>7} {'CPU s':>6}")  # fmt: skip
        for seconds in args.seconds:
            for batch in args.batch:
                cli = ["restore", str(folder / f"in_{seconds:g}.wav"), str(folder / "out.wav"),
                       "--task", "bandwidth-extension", "--cutoff-hz", "4000", "--checkpoint",
                       str(ckpt), "--steps", str(args.steps), "--batch-size", batch,
                       "--no-progress", "--in-memory"]  # fmt: skip
                proc = subprocess.run([sys.executable, __file__, "--child", *cli],
                                      capture_output=True, text=True, env=env)  # fmt: skip
                if proc.returncode:
                    print(f"{seconds:>7g} {batch:>6}  failed: {proc.stderr.strip()[-300:]}")
                    continue
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                if r["code"]:
                    print(f"{seconds:>7g} {batch:>6}  exit {r['code']}: {proc.stderr.strip()}")
                    continue
                est, peak = r["memory_estimate_bytes"], r["peak"]
                label = batch if batch != "auto" else f"auto={r['batch_size']}"
                print(f"{seconds:>7g} {label:>6} {est / MIB:>13.0f} {peak / MIB:>9.0f} "
                      f"{(est - peak) / peak:>+7.0%} {r['wall_s']:>7.1f} {r['cpu_s']:>6.1f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
