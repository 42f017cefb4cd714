"""Speed and memory of the mel baselines: vocoder training, MAID training, MAID restoration.

    python benchmarks/bench_mel_baselines.py [--profile default] [--threads 2] [--items 24]
        [--manifest train.csv] [--out DIR] [--skip-vocoder PATH] [--skip-maid PATH]

Trains the vocoder and MAID with ``config/baselines/{vocoder,maid}/<profile>.yaml`` on the
manifest (default: a synthetic harmonic training set of 16 x 4 s written to a temporary
folder), then restores ``--items`` inpainting items like the default evaluation (3.5 s at
44.1 kHz, one gap of 300, 500 or 1000 ms centred at 2.5 s, SPEC 8). Prints one JSON object:
training steps/s and wall seconds of each model, seconds per restored item (and the total),
the peak resident memory of the process, the machine's CPU count and load average. Training
runs through the shared loop (``out/<name>/`` is its run folder, so ``--out`` must not hold a
previous run); steps/s counts the loop's training time, without checkpoint writes.
``--skip-vocoder PATH`` / ``--skip-maid PATH`` reuse trained checkpoints.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RATE = 44100


def harmonic_music(length: int, seed: int) -> np.ndarray:
    """Random harmonic notes (12 decaying partials) with slow envelopes, float64 ``[length]``."""
    rng = np.random.default_rng(seed)
    t = np.arange(length) / RATE
    out = np.zeros(length)
    for f0 in 110.0 * 2 ** (rng.integers(0, 36, 5) / 12):
        env = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.2, 1.0) * t + rng.uniform(0, 6))
        for k in range(12):
            if f0 * (k + 1) < 0.45 * RATE:
                out += env * 0.6**k * np.sin(2 * np.pi * f0 * (k + 1) * t + rng.uniform(0, 6))
    return 0.8 * out / np.abs(out).max()


def synthetic_manifest(folder: Path, n: int = 16, seconds: float = 4.0) -> str:
    rows = ["path,split"]
    for i in range(n):
        sf.write(
            folder / f"train_{i:02d}.wav",
            harmonic_music(int(seconds * RATE), i),
            RATE,
            subtype="PCM_16",
        )
        rows.append(f"train_{i:02d}.wav,train")
    (folder / "train.csv").write_text("\n".join(rows) + "\n")
    return str(folder / "train.csv")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def train_timed(module, name: str, args: argparse.Namespace, out: Path, manifest: str):  # noqa: ANN001
    """Train ``module`` with its ``args.profile`` config into ``out/name``: (figures, checkpoint)."""
    cfg_path = ROOT / "config" / "baselines" / name / f"{args.profile}.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    start = time.perf_counter()
    summary = module.train(
        cfg, out / name, manifests=[manifest], threads=args.threads, source=str(cfg_path)
    )
    figures = {
        "steps": summary["steps"],
        "wall_s": round(time.perf_counter() - start, 1),
        "steps_per_s": round(summary["steps"] / summary["train_time_s"], 3),
        "final_loss": summary["final_loss"],
    }
    return figures, str(out / name / "final.safetensors")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="default", choices=["default", "ci", "paper"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--items", type=int, default=24)
    parser.add_argument("--manifest", help="training manifest (default: synthetic)")
    parser.add_argument("--out", help="folder for checkpoints (default: temporary)")
    parser.add_argument("--skip-vocoder", help="use this trained vocoder checkpoint")
    parser.add_argument("--skip-maid", help="use this trained MAID checkpoint")
    args = parser.parse_args()

    from a2sb.tasks import Task
    from baselines import maid, vocoder
    from baselines.interface import Degradation

    torch.set_num_threads(args.threads)
    result: dict = {
        "profile": args.profile,
        "threads": args.threads,
        "cpus": os.cpu_count(),
        "load_avg_before": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        manifest = args.manifest or synthetic_manifest(Path(tmp))
        voc_ckpt = args.skip_vocoder
        if voc_ckpt is None:
            result["vocoder_train"], voc_ckpt = train_timed(vocoder, "vocoder", args, out, manifest)
        maid_ckpt = args.skip_maid
        if maid_ckpt is None:
            result["maid_train"], maid_ckpt = train_timed(maid, "maid", args, out, manifest)
        restorer = maid.load(Path(maid_ckpt), {"vocoder": voc_ckpt})
        times = []
        for i in range(args.items):
            g = (0.3, 0.5, 1.0)[i % 3]
            audio = harmonic_music(int(3.5 * RATE), 1000 + i).astype(np.float32)
            deg = Degradation(Task.INPAINTING, gaps_s=(((5 - g) / 2, (5 + g) / 2),))
            for a, b in deg.gap_samples(RATE):
                audio[a:b] = 0
            start = time.perf_counter()
            restored = restorer.restore(audio, RATE, deg)
            times.append(time.perf_counter() - start)
            assert restored.shape == audio.shape
        result["maid_restore"] = {
            "items": args.items,
            "s_per_item": round(float(np.mean(times)), 3),
            "s_per_item_by_gap": {
                f"{int(g * 1000)}ms": round(float(np.mean(times[k::3])), 3)
                for k, g in enumerate((0.3, 0.5, 1.0))
                if times[k::3]
            },
            "total_s": round(float(np.sum(times)), 1),
        }
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    result["load_avg_after"] = os.getloadavg()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
