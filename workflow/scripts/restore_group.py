"""Restore every degraded file of every setting of one (method, test set, task), in one process.

::

    restore_group.py --method a2sb_p1 --checkpoint models/a2sb_p1.json --task inpainting \
        --in-dir degraded/AAM/inpainting --out-dir restored/a2sb_p1/AAM/inpainting \
        --settings 300ms,500ms,1000ms --steps 4 --seed 0

``--in-dir`` holds one folder per setting (``4kHz`` ... or ``300ms`` ...) as the ``degrade`` rule
writes them; the output mirrors it. Bandwidth extension takes the cutoff from the setting label;
inpainting reads the gaps from ``X.gaps.json`` beside each input, so every method fills exactly
the same gaps. The model is loaded once (A2SB through :class:`a2sb.restore.Restorer`, the
baselines through ``baselines.cli.restorer_for``). Everything is written into a temporary sibling
folder that is renamed when all files are done, so a killed job leaves no half-filled output.
Progress (one line per file with its time) goes to stdout, which the rule sends to its log.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np


def cutoff_of(setting: str) -> float:
    """``"4kHz"`` -> 4000.0."""
    return float(setting[:-3]) * 1000.0


def a2sb_restorer(args: argparse.Namespace):  # noqa: ANN201
    from a2sb.multidiffusion import WindowConfig
    from a2sb.restore import Restorer, restore

    model = Restorer.from_checkpoint(args.checkpoint)
    frames = model.stft.segment_frames
    window = WindowConfig(frames, max(1, frames // 2), args.batch_size)

    def run(audio: np.ndarray, rate: int, setting: str, source: Path) -> tuple[np.ndarray, int]:
        kwargs = {"cutoff_hz": cutoff_of(setting)} if args.task == "bandwidth-extension" else {}
        if args.task == "inpainting":
            kwargs["gaps"] = gaps_of(source)
        out = restore(audio, rate, task=args.task, checkpoint=model, steps=args.steps,
                      seed=args.seed, window=window, name=str(source), **kwargs)  # fmt: skip
        return out, model.stft.sample_rate

    return run


def baseline_restorer(args: argparse.Namespace):  # noqa: ANN201
    from baselines.cli import restorer_for
    from baselines.interface import Degradation

    method = restorer_for(args)

    def run(audio: np.ndarray, rate: int, setting: str, source: Path) -> tuple[np.ndarray, int]:
        if args.task == "bandwidth-extension":
            degradation = Degradation(args.task, cutoff_hz=cutoff_of(setting))
        else:
            degradation = Degradation(args.task, gaps_s=tuple(gaps_of(source)))
        return method.restore(audio, rate, degradation), rate

    return run


def gaps_of(source: Path) -> list[tuple[float, float]]:
    sidecar = source.with_suffix(".gaps.json")
    return [(float(a), float(b)) for a, b in json.loads(sidecar.read_text())["gaps_s"]]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--method", required=True, help="a2sb_* or a baseline name (degraded, sbr, ...)")
    p.add_argument("--checkpoint", help="A2SB checkpoint/bundle or a learned baseline's weights")
    p.add_argument("--vocoder", help="mel baselines: the vocoder's weights")
    p.add_argument("--weights", help="AudioSR: folder of the published weights")
    p.add_argument("--task", choices=("bandwidth-extension", "inpainting"), required=True)
    p.add_argument("--in-dir", type=Path, required=True)
    p.add_argument("--out-dir", type=Path, required=True)
    p.add_argument("--settings", required=True, help="comma-separated setting folders")
    p.add_argument("--steps", type=int, help="sampler steps (default: the method's config)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--batch-size", type=int, default=8, help="A2SB: windows per network call")
    args = p.parse_args()

    import soundfile as sf
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    settings = [s for s in args.settings.split(",") if s]
    jobs = []
    for setting in settings:
        sources = sorted((args.in_dir / setting).rglob("*.wav"))
        if not sources:
            print(
                f"restore_group: error: no .wav files in {args.in_dir / setting}", file=sys.stderr
            )
            return 2
        jobs += [(setting, src) for src in sources]
    try:
        run = a2sb_restorer(args) if args.method.startswith("a2sb") else baseline_restorer(args)
    except Exception as exc:  # one line naming the method and the problem
        print(f"restore_group: error: {args.method}: {exc}", file=sys.stderr)
        return 2
    tmp = args.out_dir.with_name(args.out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    start = time.perf_counter()
    for setting, src in jobs:
        t0 = time.perf_counter()
        data, rate = sf.read(str(src), dtype="float32", always_2d=True)
        audio = data.T[0] if data.shape[1] == 1 else data.T
        try:
            out, out_rate = run(audio, rate, setting, src)
        except Exception as exc:
            print(f"restore_group: error: {src}: {exc}", file=sys.stderr)
            shutil.rmtree(tmp, ignore_errors=True)
            return 2
        dst = tmp / src.relative_to(args.in_dir)
        dst.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(dst), out.T if out.ndim == 2 else out, out_rate, subtype="FLOAT")
        print(f"{args.method} {setting} {src.name}: {time.perf_counter() - t0:.1f} s", flush=True)
    shutil.rmtree(args.out_dir, ignore_errors=True)
    tmp.rename(args.out_dir)
    print(f"{len(jobs)} files in {time.perf_counter() - start:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
