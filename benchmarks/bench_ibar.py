"""Benchmark IBAR: training steps/s, seconds per restored item, peak RSS (default profile sizes).

Usage::

    python benchmarks/bench_ibar.py [--config config/baselines/ibar/default.yaml] [--threads 2]
        [--train-steps N] [--vocoder VOC.safetensors] [--vocoder-config YAML] [--items 2]
        [--checkpoint IBAR.safetensors] [--json FILE]

Trains on a synthetic music-like set (``metrics.synthetic.music_like``, 8 files of 10 s at
44.1 kHz, written to a temporary folder) with the config (``--train-steps`` overrides its step
count; training time scales linearly with it), unless ``--checkpoint`` gives a trained model.
Then restores the default profile's test inputs: 4 sets x ``--items`` items x 3.5 s, each with
bandwidth extension at 4, 8 and 12 kHz and inpainting with one 300, 500 and 1000 ms gap centred
at 2.5 s (48 items for 2 items per set). The vocoder is ``--vocoder`` or, without it, an
untrained one built from ``--vocoder-config`` (default ``config/baselines/vocoder/default.yaml``,
the vocoder package's defaults when that file is absent):
its cost is the same trained or not. IBAR's mel is the vocoder's (written into the config as the
workflow does). Prints one JSON object: training wall, steps/s and loss,
seconds per restored item (total and vocoder share), the 48-item total, and peak RSS; as sanity
checks (not results): mean LSD of the degraded inputs and of the restorations (meaningless with
an untrained vocoder) and the mean absolute log-mel error over the removed cells (bins above
1.05 f_c, or the frames inside a gap) of the degraded input and of IBAR's mel before vocoding.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
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

SECONDS = 3.5
CUTOFFS = (4000.0, 8000.0, 12000.0)
GAPS_MS = (300.0, 500.0, 1000.0)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make_training_set(folder: Path, rate: int) -> Path:
    from metrics.synthetic import music_like

    rows = ["path,split"]
    for i in range(8):
        sf.write(folder / f"train_{i}.wav", music_like(10.0, rate, seed=100 + i), rate)
        rows.append(f"train_{i}.wav,train")
    (folder / "train.csv").write_text("\n".join(rows) + "\n")
    return folder / "train.csv"


def build_vocoder_module(args: argparse.Namespace) -> torch.nn.Module:
    from baselines.vocoder import build_vocoder, load_vocoder

    if args.vocoder:
        return load_vocoder(args.vocoder)
    path = Path(args.vocoder_config)
    cfg = (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}
    return build_vocoder({"mel": cfg.get("mel", {}), "model": cfg.get("model", {})})


def first_logged_loss(run: Path) -> float | None:
    """The loss of the first ``log.csv`` row of a run (the mean over its first window)."""
    with open(run / "log.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return float(rows[0]["loss"]) if rows else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "config/baselines/ibar/default.yaml"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train-steps", type=int, help="override train.steps")
    parser.add_argument("--checkpoint", help="skip training: restore with this checkpoint")
    parser.add_argument("--vocoder", help="trained vocoder checkpoint (default: untrained)")
    parser.add_argument(
        "--vocoder-config", default=str(ROOT / "config/baselines/vocoder/default.yaml")
    )
    parser.add_argument("--items", type=int, default=2, help="items per test set (4 sets)")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    import baselines.ibar.restore as ibar_restore
    from baselines.ibar import load, train
    from baselines.interface import Degradation
    from metrics.degradations import apply_gaps, bandwidth_limit, inpainting_gaps
    from metrics.lsd import lsd
    from metrics.synthetic import music_like

    config = yaml.safe_load(Path(args.config).read_text()) or {}
    if args.train_steps is not None:
        config.setdefault("train", {})["steps"] = args.train_steps
    report: dict = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "threads": args.threads,
        "config": args.config,
    }
    vocoder = build_vocoder_module(args)
    config["mel"] = vocoder.mel.to_dict()  # IBAR's mel is the vocoder's (as the workflow writes)
    rate = int(config["mel"]["sample_rate"])
    with tempfile.TemporaryDirectory(prefix="bench_ibar_") as tmp:
        tmp = Path(tmp)
        if args.checkpoint:
            checkpoint = Path(args.checkpoint)
        else:
            manifest = make_training_set(tmp, rate)
            start = time.perf_counter()
            summary = train(
                config,
                tmp / "run",
                manifests=[str(manifest)],
                threads=args.threads,
                source=args.config,
            )
            wall = time.perf_counter() - start
            checkpoint = tmp / "run" / summary["final_checkpoint"]
            loop_s = summary["train_time_s"]
            report["train"] = {
                "steps": summary["steps"],
                "wall_s": round(wall, 1),
                "loop_steps_per_s": round(summary["steps_this_run"] / loop_s, 3)
                if loop_s
                else None,
                "initial_loss": first_logged_loss(tmp / "run"),
                "final_loss": summary["final_loss"],
                "parameters": summary["parameters"],
            }
        restorer = load(checkpoint, {"vocoder": vocoder})

        vocoder_s = [0.0]
        mels: list[torch.Tensor] = []
        original = ibar_restore.vocode_mel

        def timed(voc: torch.nn.Module, mel: torch.Tensor) -> np.ndarray:
            mels.append(mel)
            t0 = time.perf_counter()
            out = original(voc, mel)
            vocoder_s[0] += time.perf_counter() - t0
            return out

        from baselines.mel import log_mel, mel_filters

        mel_cfg = restorer.mel
        bank = mel_filters(mel_cfg).numpy()
        centres = bank @ np.linspace(0, mel_cfg.sample_rate / 2, bank.shape[1]) / bank.sum(1)

        def missing(degradation: Degradation, frames: int) -> np.ndarray:
            """[n_mels, frames] bool: the mel cells the degradation removed."""
            cells = np.zeros((bank.shape[0], frames), dtype=bool)
            if degradation.task == "bandwidth-extension":
                cells[centres > 1.05 * degradation.cutoff_hz] = True
            else:
                for a, b in degradation.gap_samples(mel_cfg.sample_rate):
                    cells[:, a // mel_cfg.hop_length + 2 : b // mel_cfg.hop_length - 2] = True
            return cells

        ibar_restore.vocode_mel = timed
        n = int(SECONDS * rate)
        per_item, lsd_in, lsd_out, l1_in, l1_out = [], [], [], [], []
        for item in range(4 * args.items):
            clean = music_like(SECONDS, rate, seed=1000 + item)[:n].astype(np.float32)
            jobs = [
                (bandwidth_limit(clean, rate, c), Degradation("bandwidth-extension", cutoff_hz=c))
                for c in CUTOFFS
            ]
            for g in GAPS_MS:
                gaps = inpainting_gaps(SECONDS, g)
                jobs.append((apply_gaps(clean, rate, gaps), Degradation("inpainting", gaps_s=gaps)))
            for degraded, degradation in jobs:
                t0 = time.perf_counter()
                out = restorer.restore(degraded, rate, degradation)
                per_item.append(time.perf_counter() - t0)
                lsd_in.append(lsd(clean, degraded, rate))
                lsd_out.append(lsd(clean, out, rate))
                ref = log_mel(torch.from_numpy(clean), mel_cfg)
                deg = log_mel(torch.from_numpy(np.asarray(degraded, np.float32)), mel_cfg)
                gen = mels[-1]
                f = min(ref.shape[1], gen.shape[1])
                cells = torch.from_numpy(missing(degradation, f))
                l1_in.append(float((deg[:, :f] - ref[:, :f]).abs()[cells].mean()))
                l1_out.append(float((gen[:, :f] - ref[:, :f]).abs()[cells].mean()))
        ibar_restore.vocode_mel = original
    report["restore"] = {
        "items": len(per_item),
        "steps": restorer.steps,
        "solver": restorer.solver,
        "s_per_item_mean": round(float(np.mean(per_item)), 3),
        "s_per_item_max": round(float(np.max(per_item)), 3),
        "vocoder_s_per_item": round(vocoder_s[0] / len(per_item), 3),
        "total_s": round(float(np.sum(per_item)), 1),
        "lsd_degraded": round(float(np.mean(lsd_in)), 3),
        "lsd_ibar": round(float(np.mean(lsd_out)), 3),
        "mel_l1_missing_degraded": round(float(np.mean(l1_in)), 3),
        "mel_l1_missing_ibar": round(float(np.mean(l1_out)), 3),
    }
    report["peak_rss_mb"] = round(peak_rss_mb(), 1)
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
