"""CQTDiff speed and memory: training steps/s and seconds per restored 3.5-s item.

Runs the real trainer (:func:`baselines.cqtdiff.train`) and the real restorer in subprocesses
(peak resident memory is each subprocess's ``ru_maxrss``) on a synthetic corpus written to a
temporary folder (harmonic notes, noise bursts and a hi-hat-like band above 12 kHz). The restore
measurement mirrors the default evaluation: 3.5-s items, bandwidth extension at 4, 8 and 12 kHz
(input: :func:`metrics.degradations.bandwidth_limit`) and inpainting of one 300, 500 or 1000 ms
gap (SPEC 8 positions), ``--items`` per condition, projected to the default profile's 48 items.

    python benchmarks/bench_cqtdiff.py                            # default config, full training
    python benchmarks/bench_cqtdiff.py --train-steps 40 --items 1 # quick: projected figures
    python benchmarks/bench_cqtdiff.py --config config/baselines/cqtdiff/ci.yaml
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CUTOFFS = (4000.0, 8000.0, 12000.0)
GAPS_MS = (300.0, 500.0, 1000.0)
DEFAULT_ITEMS = 48  # 4 test sets x 2 items x 6 conditions


def synth(seconds: float, rate: int, seed: int):  # noqa: ANN201
    import numpy as np

    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    x = np.zeros(n)
    for start in np.arange(0, seconds, 0.5):
        f0 = 110 * 2 ** (rng.integers(0, 36) / 12)
        env = np.exp(-3 * np.clip(t - start, 0, None)) * (t >= start)
        for k in range(1, 16):
            if f0 * k < rate / 2.2:
                x += env * 0.5**k * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6))
    hat = rng.standard_normal(n) * (np.sin(2 * np.pi * 4 * t) > 0.95)
    spec = np.fft.rfft(hat)
    spec[np.fft.rfftfreq(n, 1 / rate) < 12000] = 0
    x += 0.3 * np.fft.irfft(spec, n=n)
    return (0.5 * x / np.abs(x).max()).astype(np.float32)


def write_corpus(folder: Path, rate: int = 44100, files: int = 6, seconds: float = 8.0) -> Path:
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(files):
        sf.write(folder / f"s{i}.wav", synth(seconds, rate, i), rate)
        rows.append(f"train,s{i}.wav")
    (folder / "train.csv").write_text("split,path\n" + "\n".join(rows) + "\n")
    return folder / "train.csv"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def worker_train(args: argparse.Namespace) -> dict:
    import yaml

    from baselines.cqtdiff import train

    config = yaml.safe_load(Path(args.config).read_text())
    if args.train_steps is not None:
        config.setdefault("train", {})["steps"] = args.train_steps
    config.setdefault("train", {})["log_every"] = 10**9
    t0, c0 = time.monotonic(), _cpu_s()
    summary = train(config, Path(args.out), manifests=[args.manifest], threads=args.threads,
                    source=args.config, progress=False)  # fmt: skip
    wall, cpu = time.monotonic() - t0, _cpu_s() - c0
    return {"wall_s": wall, "cpu_s": cpu, "steps": summary["steps"], "train_wall_s": summary["train_time_s"],
            "rss_mb": _rss_mb(), "final_loss": summary["final_loss"], "parameters": summary["parameters"]}  # fmt: skip


def worker_restore(args: argparse.Namespace) -> dict:
    import numpy as np
    import torch

    from baselines.cqtdiff import load
    from baselines.interface import Degradation
    from metrics.degradations import apply_gaps, bandwidth_limit, inpainting_gaps

    torch.set_num_threads(args.threads)
    restorer = load(Path(args.checkpoint), {})
    rate, seconds = 44100, 3.5
    times: dict[str, list[float]] = {"bandwidth-extension": [], "inpainting": []}
    c0 = _cpu_s()
    for i in range(args.items):
        clean = synth(seconds, rate, 100 + i)
        for cutoff in CUTOFFS:
            x = bandwidth_limit(clean, rate, cutoff)
            t0 = time.monotonic()
            out = restorer.restore(x, rate, Degradation("bandwidth-extension", cutoff_hz=cutoff))
            times["bandwidth-extension"].append(time.monotonic() - t0)
            assert out.shape == x.shape and np.all(np.isfinite(out))
        for gap in GAPS_MS:
            gaps = inpainting_gaps(seconds, gap)
            x = apply_gaps(clean, rate, gaps)
            t0 = time.monotonic()
            out = restorer.restore(x, rate, Degradation("inpainting", gaps_s=tuple(gaps)))
            times["inpainting"].append(time.monotonic() - t0)
    return {"times": times, "cpu_s": _cpu_s() - c0, "rss_mb": _rss_mb(), "steps": restorer.steps}


def run_worker(mode: str, extra: list[str]) -> dict:
    res = subprocess.run(
        [sys.executable, __file__, "--worker", mode, *extra],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    if res.returncode != 0:
        sys.stderr.write(res.stderr)
        raise SystemExit(f"bench_cqtdiff: {mode} worker failed ({res.returncode})")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(REPO / "config/baselines/cqtdiff/default.yaml"))
    p.add_argument("--train-steps", type=int, help="train this many steps (default: the config's)")
    p.add_argument("--items", type=int, default=2, help="items per condition (6 conditions)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--worker", choices=["train", "restore"], help=argparse.SUPPRESS)
    p.add_argument("--manifest", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    p.add_argument("--checkpoint", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker == "train":
        print(json.dumps(worker_train(args)))
        return 0
    if args.worker == "restore":
        print(json.dumps(worker_restore(args)))
        return 0

    import yaml

    from baselines.cqtdiff.config import full_config

    cfg = full_config(yaml.safe_load(Path(args.config).read_text()), args.config)
    with tempfile.TemporaryDirectory(prefix="bench-cqtdiff-") as tmp:
        manifest = write_corpus(Path(tmp) / "data")
        common = ["--config", args.config, "--threads", str(args.threads)]
        extra = ["--manifest", str(manifest), "--out", str(Path(tmp) / "run"), *common]
        if args.train_steps is not None:
            extra += ["--train-steps", str(args.train_steps)]
        tr = run_worker("train", extra)
        ckpt = Path(tmp) / "run" / "final.safetensors"
        rs = run_worker("restore", ["--checkpoint", str(ckpt), "--items", str(args.items), *common])
    steps_per_s = tr["steps"] / max(tr["train_wall_s"], 1e-9)
    full_steps = int(cfg["train"]["steps"])
    bwe, inp = rs["times"]["bandwidth-extension"], rs["times"]["inpainting"]
    per_item = {"bandwidth-extension": sum(bwe) / len(bwe), "inpainting": sum(inp) / len(inp)}
    projected = DEFAULT_ITEMS / 2 * (per_item["bandwidth-extension"] + per_item["inpainting"])
    print(f"config: {args.config} ({tr['parameters']:,} parameters, {args.threads} threads)")
    print(f"training: {tr['steps']} steps in {tr['train_wall_s']:.1f} s = {steps_per_s:.2f} steps/s "
          f"(batch {cfg['train']['batch_size']} x {cfg['train']['segment_s']} s); "
          f"{full_steps} steps -> {full_steps / steps_per_s / 60:.1f} min; "
          f"process wall {tr['wall_s']:.1f} s, CPU {tr['cpu_s']:.1f} s, peak RSS {tr['rss_mb']:.0f} MB")  # fmt: skip
    print(f"restore ({rs['steps']} sampler steps, 3.5-s items at 44.1 kHz): "
          f"bandwidth extension {per_item['bandwidth-extension']:.2f} s/item, "
          f"inpainting {per_item['inpainting']:.2f} s/item; "
          f"{DEFAULT_ITEMS} items -> {projected / 60:.1f} min; CPU {rs['cpu_s']:.1f} s for "
          f"{len(bwe) + len(inp)} items; peak RSS {rs['rss_mb']:.0f} MB")  # fmt: skip
    print(json.dumps({"train": tr, "restore_per_item_s": per_item, "restore_48_items_s": projected,
                      "restore_rss_mb": rs["rss_mb"]}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
