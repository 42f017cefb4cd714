"""Training throughput: samples/s and peak memory of training configs (SPEC 6, 11).

Each measurement runs the real trainer (``a2sb.training.trainer.train``: data loading, encoding,
masks, forward, backward, clipping, RAdam) in its own subprocess, on a synthetic corpus written
to a temporary folder at the config's sample rate, with validation off. The first ``--warmup``
steps are excluded from the rate. Peak memory is the subprocess's peak resident set size
(``ru_maxrss``), plus the peak CUDA allocation on a GPU.

    python benchmarks/bench_training.py                         # default config (+ paper step)
    python benchmarks/bench_training.py --config config/train/ci.yaml --steps 5
    python benchmarks/bench_training.py --stft 44100,512,128,256 --stft 44100,1024,256,256
    python benchmarks/bench_training.py --paper                  # paper step without time limit

The paper config (565M parameters, bf16, micro-batch 1) runs one optimiser step of batch 1; on
a CPU it needs about 11 GB of memory and about 5 minutes (2 cores). Without ``--paper`` it is skipped when less
memory is available, and stopped (and reported as such) after ``--paper-timeout`` seconds.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PAPER_MEMORY_GB = 14.0  # measured peak RSS of one paper step on a CPU: about 11 GB (see main)


def _write_corpus(folder: Path, rate: int, n_files: int = 4, seconds: float = 8.0) -> Path:
    """Harmonic tones with noise at ``rate``: a manifest CSV and its files."""
    import numpy as np
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n_files):
        t = np.arange(int(rate * seconds)) / rate
        x = sum(0.1 * np.sin(2 * np.pi * f * t) for f in rng.uniform(80, rate / 2.5, 8))
        x = x + 0.01 * rng.standard_normal(t.size)
        sf.write(folder / f"b{i}.wav", x.astype(np.float32), rate)
        rows.append([f"b{i}.wav", seconds, rate, rate])
    manifest = folder / "manifest.csv"
    with open(manifest, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["split", "path", "duration", "sample_rate", "estimated_true_sr"])
        w.writerows([["train", *r] for r in rows])
    return manifest


def worker(args: argparse.Namespace) -> int:
    """Run one measurement in this process; print a JSON line."""
    import torch

    from a2sb.training.config import load_config
    from a2sb.training.trainer import train

    if args.threads:
        torch.set_num_threads(args.threads)
    changes: dict[str, Any] = json.loads(args.changes)
    with tempfile.TemporaryDirectory(prefix="a2sb-bench-") as tmp:
        probe = load_config(args.worker, {k: v for k, v in changes.items() if k == "stft"})
        manifest = _write_corpus(Path(tmp) / "data", probe.stft_config().sample_rate)
        steps = args.warmup + args.steps
        overrides = {
            "manifests": [str(manifest)],
            "valid_manifests": [],
            "max_steps": steps,
            "checkpoint_every": 10**9,
            "log_every": 1,
            "num_workers": 0,
            **changes,
        }
        cfg = load_config(args.worker, overrides)
        tic = time.perf_counter()
        summary = train(cfg, Path(tmp) / "run", progress=False, verbose=False)
        wall = time.perf_counter() - tic
        rows = list(csv.DictReader(open(Path(tmp) / "run" / "log.csv")))
    timed = [float(r["samples_per_s"]) for r in rows[args.warmup :]] or [
        float(r["samples_per_s"]) for r in rows
    ]
    step_s = [cfg.global_batch / r for r in timed]
    result = {
        "config": str(args.worker),
        "changes": changes,
        "model": cfg.model if isinstance(cfg.model, str) else cfg.model_config().to_dict(),
        "stft": cfg.stft_config().to_dict(),
        "input": [
            cfg.model_config().in_channels,
            cfg.stft_config().n_rows,
            cfg.stft_config().segment_frames,
        ],
        "segment_s": round(cfg.stft_config().segment_samples / cfg.stft_config().sample_rate, 3),
        "precision": cfg.precision,
        "global_batch": cfg.global_batch,
        "micro_batch": cfg.micro_batch,
        "steps_timed": len(timed),
        "samples_per_s": round(cfg.global_batch * len(step_s) / sum(step_s), 4),
        "step_s": [round(s, 3) for s in step_s],
        "peak_rss_mib": summary.get("peak_rss_mib"),
        "peak_cuda_mib": summary.get("peak_cuda_mib"),
        "torch_threads": torch.get_num_threads(),
        "wall_s": round(wall, 1),
        "device": summary.get("device"),
    }
    print("RESULT " + json.dumps(result), flush=True)
    return 0


def measure(
    config: Path, changes: dict[str, Any], args: argparse.Namespace, timeout: float | None
) -> dict[str, Any]:
    """Run :func:`worker` in a subprocess; ``{"error": ...}`` on failure or timeout."""
    cmd = [sys.executable, __file__, "--worker", str(config), "--changes", json.dumps(changes),
           "--steps", str(args.steps), "--warmup", str(args.warmup), "--threads", str(args.threads)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {
            "config": str(config),
            "changes": changes,
            "error": f"did not finish within {timeout:.0f} s",
        }
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    return {
        "config": str(config),
        "changes": changes,
        "error": f"exit {proc.returncode}: {tail[0]}",
    }


def _stft_variant(text: str) -> dict[str, Any]:
    rate, n_fft, hop, frames = (int(v) for v in text.split(","))
    return {"stft": {"sample_rate": rate, "n_fft": n_fft, "hop_length": hop, "win_length": n_fft,
                     "segment_frames": frames}}  # fmt: skip


def _show(result: dict[str, Any]) -> None:
    if "error" in result:
        print(f"{result['config']} {result['changes'] or ''}: {result['error']}")
        return
    stft = result["stft"]
    print(
        f"{Path(result['config']).name} {result['precision']} input {result['input']} "
        f"({result['segment_s']} s, n_fft {stft['n_fft']}, hop {stft['hop_length']}), "
        f"batch {result['global_batch']} (micro {result['micro_batch']}): "
        f"{result['samples_per_s']:.3g} samples/s, step {min(result['step_s']):.2f}-{max(result['step_s']):.2f} s, "
        f"peak RSS {result['peak_rss_mib']:.0f} MiB"
        + (f", peak CUDA {result['peak_cuda_mib']:.0f} MiB" if result.get("peak_cuda_mib") else "")
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", type=Path, default=REPO / "config/train/default-pretrain.yaml")
    p.add_argument("--stft", action="append", default=[], metavar="RATE,NFFT,HOP,FRAMES",
                   help="also measure the config with this STFT (repeatable)")  # fmt: skip
    p.add_argument("--precision", action="append", default=[], choices=["fp32", "bf16"],
                   help="also measure the config with this precision (repeatable)")  # fmt: skip
    p.add_argument("--steps", type=int, default=3, help="timed steps")
    p.add_argument("--warmup", type=int, default=1, help="untimed first steps")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument(
        "--paper", action="store_true", help="run the paper step without time or memory guard"
    )
    p.add_argument("--no-paper", action="store_true", help="skip the paper step")
    p.add_argument("--no-default", action="store_true", help="measure only the paper step")
    p.add_argument("--paper-timeout", type=float, default=180.0)
    p.add_argument("--json", type=Path, help="write the results here")
    p.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--changes", default="{}", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)

    results = []
    variants: list[dict[str, Any]] = [] if args.no_default else [{}]
    variants += [_stft_variant(s) for s in args.stft]
    variants += [{"precision": prec} for prec in args.precision]
    for changes in variants:
        results.append(measure(args.config, changes, args, None))
        _show(results[-1])
    if not args.no_paper:
        paper = REPO / "config/train/paper-pretrain.yaml"
        changes = {"global_batch": 1, "micro_batch": 1}
        saved = (args.steps, args.warmup)
        args.steps, args.warmup = 1, 0  # one optimiser step of batch 1
        available = _available_gb()
        if not args.paper and available is not None and available < PAPER_MEMORY_GB:
            result = {"config": str(paper), "changes": changes,
                      "error": f"skipped: {available:.1f} GB available, the step needs about "
                      f"{PAPER_MEMORY_GB:.0f} GB (pass --paper to run it anyway)"}  # fmt: skip
        else:
            result = measure(paper, changes, args, None if args.paper else args.paper_timeout)
            if "error" in result and "did not finish" in result["error"]:
                result["error"] += (
                    " (one paper step is slower than that on this machine; pass --paper)"
                )
        args.steps, args.warmup = saved
        results.append(result)
        _show(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def _available_gb() -> float | None:
    try:
        import psutil
    except ImportError:
        return None
    return psutil.virtual_memory().available / 1e9


if __name__ == "__main__":
    sys.exit(main())
