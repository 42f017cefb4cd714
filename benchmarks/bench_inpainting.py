"""Inpainting cost: whole-file MultiDiffusion (before) against windows that reach a gap (after).

A 60-s file at the paper's STFT (windows 256 / hop 128, batch 16 as the CLI's default), the
``bench-small`` preset (the paper's wiring at small widths), two gap layouts: one 0.3-s gap in
the middle, and the paper's protocol (0.3 s every 5 s). For each: seconds and network windows of

* ``before``: every window of the file at every step (the sampler as it was),
* ``after``: only the windows that hold a missing frame (``a2sb restore``'s default now),
* ``official``: ``--protocol official`` (one window per gap), with ``steps + 1`` so that it makes
  the same number of network calls per window,

and the largest difference between ``before`` and ``after`` on the restored representation
(same seed: equal to float32 rounding).

    python benchmarks/bench_inpainting.py                 # 60 s, 10 steps
    python benchmarks/bench_inpainting.py --seconds 60 --steps 4
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import a2sb
from a2sb.masks import gap_mask
from a2sb.multidiffusion import WindowConfig, window_starts
from a2sb.protocol import official_gaps
from a2sb.representation import encode
from a2sb.restoration import Restorer, paper_gaps, restore
from a2sb.sampler import PartitionRouter, sample, windowed_eps_fn


class Counting(torch.nn.Module):
    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net, self.windows = net, 0

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        self.windows += x.shape[0]
        return self.net(x, t)


def representation_run(model: Counting, restorer: Restorer, audio, gaps, steps, skip: bool):
    """Encode, mask (ours), degrade and sample: the representation ``restore`` decodes."""
    cfg = restorer.stft
    x_in = encode(torch.from_numpy(audio), cfg)
    mask = gap_mask(cfg, x_in.shape[-1], gaps)
    gen = torch.Generator().manual_seed(0)
    fill = torch.randn(x_in.shape, generator=gen)
    x1 = restorer.mask.degrade(x_in, mask, fill, rho=cfg.rho)
    window = restorer.window(batch_size=16)
    eps_fn = windowed_eps_fn(restorer.router, window, mask.any(dim=0) if skip else None)
    model.windows = 0
    start = time.perf_counter()
    x0 = sample(eps_fn, x1, mask, restorer.schedule, steps, generator=gen)
    return x0, time.perf_counter() - start, model.windows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--preset", default="bench-small")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = Counting(a2sb.build_model(args.preset).eval())
    restorer = Restorer(
        router=PartitionRouter([(model, (0.0, 1.0))]), stft=a2sb.STFTConfig(), kind="factorized"
    )
    rate = 44100
    t = np.arange(int(args.seconds * rate)) / rate
    audio = sum(0.1 * np.sin(2 * np.pi * f * t) for f in (220.0, 330.0, 440.0, 1320.0, 2500.0))
    audio = audio.astype(np.float32)
    middle = args.seconds / 2
    layouts = {
        "one 0.3-s gap": ([(middle - 0.15, middle + 0.15)], [(middle - 0.15, middle + 0.15)]),
        "0.3 s every 5 s": (
            paper_gaps(args.seconds, 0.3),
            official_gaps(args.seconds, 0.3),
        ),
    }
    n_frames = audio.size // 512 + 1
    n_windows = len(window_starts(n_frames, WindowConfig(256, 128))[0])
    print(f"{args.seconds:g}-s file, {n_frames} frames, {n_windows} windows per step; "
          f"preset {args.preset}, {args.steps} steps, {args.threads} threads")  # fmt: skip
    print(f"{'gaps':<16} {'mode':<9} {'s':>8} {'s/step':>8} {'windows':>8}  max |diff|")
    for label, (ours_gaps, off_gaps) in layouts.items():
        before, t_before, w_before = representation_run(
            model, restorer, audio, ours_gaps, args.steps, skip=False
        )
        after, t_after, w_after = representation_run(
            model, restorer, audio, ours_gaps, args.steps, skip=True
        )
        diff = float((before - after).abs().max())
        model.windows = 0
        start = time.perf_counter()
        restore(audio, rate, task="inpainting", gaps=off_gaps, checkpoint=restorer,
                steps=args.steps + 1, window=restorer.window(batch_size=16),
                protocol="official")  # fmt: skip
        t_off, w_off = time.perf_counter() - start, model.windows
        for mode, sec, win, extra in (
            ("before", t_before, w_before, ""),
            ("after", t_after, w_after, f"{diff:.2e}"),
            ("official", t_off, w_off, ""),
        ):
            print(f"{label:<16} {mode:<9} {sec:8.2f} {sec / args.steps:8.3f} {win:8d}  {extra}")
        print(f"{label:<16} speed-up after/before: {t_before / t_after:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
