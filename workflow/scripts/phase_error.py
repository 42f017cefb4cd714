"""Figure 6 data: phase-orthogonalization error (eq. 18) of A2SB's raw output above the cutoff.

Runs the restoration path of ``a2sb.restore`` on the first degraded file of a folder (encode,
bandwidth mask, bridge sampler with MultiDiffusion) and keeps the final X0 prediction before
decoding; Err = 2 (r - 1)^2 with r = sqrt(X2^2 + X3^2) (``a2sb.representation.phase_error_map``),
split into ``--bands`` equal-width frequency bands between the cutoff and Nyquist. Writes one
row per band: band, f_lo, f_hi, n, and the quantiles a box plot needs (plus mean).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

import numpy as np
import torch


def main() -> int:
    from a2sb.io.atomic import write_text
    from a2sb.io.audio import read_audio, resample
    from a2sb.masks import bandwidth_mask
    from a2sb.representation import encode, phase_error_map
    from a2sb.restoration import Restorer
    from a2sb.sampler import sample, windowed_eps_fn

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--in-dir", type=Path, required=True)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--cutoff-hz", type=float, default=4000.0)
    p.add_argument("--bands", type=int, default=9)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    src = sorted(args.in_dir.glob("*.wav"))[0]
    restorer = Restorer.from_checkpoint(args.checkpoint)
    cfg = restorer.stft
    audio, rate = read_audio(src)
    wave = resample(audio.mean(axis=0), rate, cfg.sample_rate)
    gen = torch.Generator().manual_seed(args.seed)
    x_in = encode(torch.from_numpy(wave.astype(np.float32)), cfg, restorer.kind)
    mask = bandwidth_mask(cfg, x_in.shape[-1], args.cutoff_hz)
    x1 = restorer.mask.degrade(x_in, mask, torch.randn(x_in.shape, generator=gen), rho=cfg.rho)
    window = restorer.window(batch_size=8)
    with torch.no_grad():
        x0 = sample(windowed_eps_fn(restorer.router, window), x1, mask, restorer.schedule,
                    args.steps, generator=gen)  # fmt: skip
    err = phase_error_map(x0).numpy()  # [N, W], row r = bin r + 1
    freqs = (np.arange(err.shape[0]) + 1) * cfg.sample_rate / cfg.n_fft
    edges = np.linspace(args.cutoff_hz, cfg.sample_rate / 2, args.bands + 1)
    rows = []
    for b in range(args.bands):
        sel = (freqs >= edges[b]) & (
            freqs < edges[b + 1] if b < args.bands - 1 else freqs <= edges[-1]
        )
        v = err[sel].ravel()
        q = np.quantile(v, [0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0]) if v.size else [np.nan] * 7
        rows.append({"band": b + 1, "f_lo": round(edges[b], 1), "f_hi": round(edges[b + 1], 1),
                     "n": int(v.size), "mean": float(v.mean()) if v.size else float("nan"),
                     **{k: float(x) for k, x in zip(("min", "p05", "q1", "median", "q3", "p95", "max"), q)}})  # fmt: skip
    text = io.StringIO()
    w = csv.DictWriter(text, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    write_text(args.out, text.getvalue())
    print(f"{args.out}: {len(rows)} bands from {src.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
