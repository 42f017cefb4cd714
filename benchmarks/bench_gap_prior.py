"""Benchmark the gap priors alone (no network): how much SiSpec each start of the bridge gains over
silence on development audio.

Usage: python benchmarks/bench_gap_prior.py CORPUS_DIR [--gaps 0.3 0.5 1.0] [--excerpt-s 3.5]
       [--every-s 7] [--train-stride 4] [--seed 0] [--json FILE]

``CORPUS_DIR`` is a built corpus (``results/default/data/corpus``). Development audio: every file
of ``audio/valid`` and every ``train-stride``-th file of ``audio/train`` (never a test set). From
each file, excerpts of ``excerpt-s`` seconds start every ``every-s`` seconds; each gets one gap of
each length at its centre. Per excerpt and gap, the gap is filled by each prior of
:mod:`a2sb.context_prior` (magnitude estimate, a random phase drawn from a seed fixed per
excerpt, the known samples kept) and scored with SiSpec against the clean excerpt; the
reference is the degraded input (zeros in the gap). Prints one JSON object: per gap and prior the
mean, minimum and median SiSpec gain in dB over the degraded input and the number of excerpts
where the prior beats it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

PRIORS = ("context", "context-trend")


def development_files(corpus: Path, train_stride: int) -> list[Path]:
    valid = sorted((corpus / "audio" / "valid").glob("*.wav"))
    train = sorted((corpus / "audio" / "train").glob("*.wav"))[::train_stride]
    if not valid and not train:
        raise SystemExit(f"{corpus}: no audio/valid or audio/train wav files")
    return valid + train


def fill_gap(wave: np.ndarray, gap: tuple[int, int], prior: str, seed: int) -> np.ndarray:
    """``wave`` with samples ``gap`` replaced by the decoded prior estimate."""
    from a2sb.masks import apply_mask, gap_mask
    from a2sb.representation import STFTConfig, dc_row, decode, encode

    cfg = STFTConfig(n_fft=1024, win_length=1024, hop_length=512)
    x = torch.from_numpy(wave).float()
    degraded = x.clone()
    degraded[gap[0] : gap[1]] = 0.0
    rep = encode(degraded, cfg)
    n_frames = rep.shape[-1]
    span = (gap[0] / cfg.sample_rate, gap[1] / cfg.sample_rate)
    mask = gap_mask(cfg, n_frames, [span])
    gen = torch.Generator().manual_seed(seed)
    noise = torch.zeros_like(rep)
    phase = 2 * torch.pi * torch.rand(rep.shape[-2:], generator=gen)
    noise[1], noise[2] = torch.cos(phase), torch.sin(phase)
    # fill_std 1 on zero magnitude noise: the estimate alone, with a unit random phase
    x1 = apply_mask(rep, mask, 1.0, noise, prior=prior, rho=cfg.rho)
    dc = dc_row(degraded, cfg)
    out = decode(x1, cfg, len(wave), dc=dc).numpy()
    filled = wave.copy()
    filled[gap[0] : gap[1]] = out[gap[0] : gap[1]]
    return filled


def bench(args: argparse.Namespace) -> dict:
    from metrics.errors import MetricUndefined
    from metrics.sispec import sispec

    files = development_files(args.corpus, args.train_stride)
    gains: dict[str, dict[str, list[float]]] = {
        f"{g:g}": {p: [] for p in PRIORS} for g in args.gaps
    }
    n_excerpts = 0
    for index, path in enumerate(files):
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
        audio = audio.mean(axis=1)
        length = round(args.excerpt_s * rate)
        for offset in range(0, len(audio) - length + 1, round(args.every_s * rate)):
            clean = audio[offset : offset + length].astype(np.float64)
            if float(np.sum(clean**2)) <= 1e-9:
                continue
            n_excerpts += 1
            for gap_s in args.gaps:
                half = round(gap_s * rate / 2)
                gap = (length // 2 - half, length // 2 + half)
                zeros = clean.copy()
                zeros[gap[0] : gap[1]] = 0.0
                try:
                    base = sispec(clean, zeros, rate)
                except MetricUndefined:
                    continue
                seed = args.seed * 1_000_003 + index * 1009 + offset // rate
                for prior in PRIORS:
                    filled = fill_gap(clean, gap, prior, seed)
                    gains[f"{gap_s:g}"][prior].append(sispec(clean, filled, rate) - base)
        print(f"{index + 1}/{len(files)} {path.name}", file=sys.stderr)
    summary = {
        gap: {
            prior: {
                "n": len(v),
                "mean_db": round(statistics.fmean(v), 3),
                "median_db": round(statistics.median(v), 3),
                "min_db": round(min(v), 3),
                "wins": sum(g > 0 for g in v),
            }
            for prior, v in per_prior.items()
            if v
        }
        for gap, per_prior in gains.items()
    }
    return {
        "corpus": str(args.corpus),
        "files": [p.name for p in files],
        "excerpts": n_excerpts,
        "excerpt_s": args.excerpt_s,
        "seed": args.seed,
        "sispec_gain_over_degraded": summary,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--gaps", type=float, nargs="+", default=[0.3, 0.5, 1.0])
    parser.add_argument("--excerpt-s", type=float, default=3.5)
    parser.add_argument("--every-s", type=float, default=7.0)
    parser.add_argument("--train-stride", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = bench(args)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
