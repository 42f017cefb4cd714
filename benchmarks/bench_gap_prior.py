"""Benchmark the gap priors alone (no network): how much SiSpec each start of the bridge gains over
silence on development audio.

Usage: python benchmarks/bench_gap_prior.py CORPUS_DIR [--gaps 0.3 0.5 1.0] [--excerpt-s 3.5]
       [--every-s 7] [--train-stride 4] [--seed 0] [--config config/config.yaml] [--json FILE]

``CORPUS_DIR`` is a built corpus (``results/default/data/corpus``). Development audio: every file
of ``audio/valid`` and every ``train-stride``-th file of ``audio/train`` (never a test set). From
each file, excerpts of ``excerpt-s`` seconds start every ``every-s`` seconds; each gets one gap of
each length at its centre (STFT settings of ``--config``). Per excerpt and gap, the gap is filled by each prior of
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
import yaml

PRIORS = ("context", "context-trend")


def development_files(corpus: Path, train_stride: int) -> list[Path]:
    valid = sorted((corpus / "audio" / "valid").glob("*.wav"))
    train = sorted((corpus / "audio" / "train").glob("*.wav"))[::train_stride]
    if not valid and not train:
        raise SystemExit(f"{corpus}: no audio/valid or audio/train wav files")
    return valid + train


def fill_gaps(
    clean: np.ndarray, degraded: np.ndarray, gap: tuple[int, int], cfg, seed: int
) -> dict[str, np.ndarray]:
    """Per prior, ``clean`` with samples ``gap`` replaced by the decoded estimate of that prior,
    read off ``degraded`` (encoded once; one random phase, drawn from ``seed``, for all priors)."""
    from a2sb.masks import apply_mask, gap_mask
    from a2sb.representation import dc_row, decode, encode

    x = torch.from_numpy(degraded).float()
    rep = encode(x, cfg)
    dc = dc_row(x, cfg)
    mask = gap_mask(cfg, rep.shape[-1], [(gap[0] / cfg.sample_rate, gap[1] / cfg.sample_rate)])
    gen = torch.Generator().manual_seed(seed)
    noise = torch.zeros_like(rep)
    phase = 2 * torch.pi * torch.rand(rep.shape[-2:], generator=gen)
    noise[1], noise[2] = torch.cos(phase), torch.sin(phase)
    out = {}
    for prior in PRIORS:
        # fill_std 1 on zero magnitude noise: the estimate alone, with a unit random phase
        x1 = apply_mask(rep, mask, 1.0, noise, prior=prior, rho=cfg.rho)
        wave = decode(x1, cfg, len(clean), dc=dc).numpy()
        filled = clean.copy()
        filled[gap[0] : gap[1]] = wave[gap[0] : gap[1]]
        out[prior] = filled
    return out


def bench(args: argparse.Namespace) -> dict:
    from a2sb.representation import STFTConfig
    from metrics.errors import MetricUndefined
    from metrics.sispec import sispec

    cfg = STFTConfig.from_dict(yaml.safe_load(args.config.read_text())["stft"])
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
                for prior, filled in fill_gaps(clean, zeros, gap, cfg, seed).items():
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
        "stft": cfg.to_dict(),
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
    parser.add_argument(
        "--config",
        type=Path,
        default=Path("config/config.yaml"),
        help="profile whose stft settings to use",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = bench(args)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        from a2sb.io.atomic import write_text

        write_text(args.json, text + "\n")


if __name__ == "__main__":
    main()
