"""Training of the mel vocoder: reconstruction warm-up, then (optionally) the BigVGAN GAN.

Every step draws ``batch_size`` mono crops of ``segment`` samples at the mel's rate
(:class:`baselines.common.WaveCrops`, crop ``g`` a pure function of ``(seed, g)``), computes their
log-mel (:func:`baselines.mel.log_mel`) and regenerates the waveform. Generator loss:

    mel_weight * multi-scale mel L1 + stft_weight * multi-resolution STFT
    [+ adversarial_weight * LSGAN + feature_weight * 2 * feature matching, from step gan_start]

With the GAN on, the discriminators (multi-period + multi-resolution STFT) take one LSGAN step
before each generator step. AdamW with betas ``train.betas`` for both, learning rate times
``lr_decay`` after every step, gradient-norm clipping at ``clip_grad_norm`` (0: off). The final
generator is written atomically to ``out_dir/final.safetensors`` with its provenance sidecar.
Deterministic given ``seed`` (and the thread count, which torch's reductions may depend on).
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any

import torch

from ..common import WaveCrops, save_weights
from ..interface import BaselineError
from ..mel import MelConfig, log_mel
from .config import merge, require
from .discriminators import Discriminators
from .losses import (
    MultiResolutionSTFTLoss,
    MultiScaleMelLoss,
    discriminator_loss,
    feature_loss,
    generator_loss,
)
from .model import MODEL_DEFAULTS, Vocoder, check_model

#: Every training key and its default (the ``default`` CPU profile).
DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "mel": MelConfig().to_dict(),
    "model": MODEL_DEFAULTS,
    "discriminator": {
        "periods": [2, 3, 5, 7, 11],
        "period_mult": 0.25,
        "resolutions": [[1024, 120, 600], [2048, 240, 1200], [512, 50, 240]],
        "resolution_channels": 16,
    },
    "loss": {
        "mel_weight": 45.0,
        "mel_windows": [128, 256, 512, 1024, 2048],
        "mel_bands": [10, 20, 40, 80, 160],
        "stft_weight": 1.0,
        "stft_resolutions": [[1024, 120, 600], [2048, 240, 1200], [512, 50, 240]],
        "adversarial_weight": 1.0,
        "feature_weight": 1.0,
    },
    "train": {
        "steps": 400,
        "batch_size": 4,
        "segment": 8192,
        "lr": 0.001,
        "betas": [0.8, 0.99],
        "lr_decay": 0.999,
        "gan_start": None,
        "clip_grad_norm": 500.0,
        "split": "train",
    },
}


def resolve(config: dict[str, Any], source: str) -> dict[str, Any]:
    """``config`` over :data:`DEFAULTS`, validated; a :class:`BaselineError` naming ``source``."""
    cfg = merge(DEFAULTS, config, source)
    try:
        mel = MelConfig.from_dict(cfg["mel"])
    except (TypeError, ValueError) as exc:
        raise BaselineError(f"{source}: {exc}") from None
    problem = check_model(cfg["model"], mel)
    require(problem is None, source, str(problem))
    t, loss = cfg["train"], cfg["loss"]
    require(
        t["steps"] >= 1 and t["batch_size"] >= 1,
        source,
        "train.steps and train.batch_size must be >= 1",
    )
    require(
        t["segment"] >= mel.n_fft and t["segment"] % mel.hop_length == 0,
        source,
        f"train.segment must be a multiple of the hop ({mel.hop_length}) and >= n_fft",
    )
    require(
        t["lr"] > 0 and 0 < t["lr_decay"] <= 1, source, "train.lr > 0 and 0 < train.lr_decay <= 1"
    )
    require(len(t["betas"]) == 2, source, "train.betas needs two values")
    gs = t["gan_start"]
    require(
        gs is None or (isinstance(gs, int) and gs >= 0),
        source,
        "train.gan_start: null or a step >= 0",
    )
    require(
        len(loss["mel_windows"]) == len(loss["mel_bands"]) and len(loss["mel_windows"]) > 0,
        source,
        "loss.mel_windows and loss.mel_bands need the same non-zero length",
    )
    require(
        max(loss["mel_windows"]) <= t["segment"], source, "loss.mel_windows exceed train.segment"
    )
    for r in list(loss["stft_resolutions"]) + list(cfg["discriminator"]["resolutions"]):
        require(
            len(r) == 3 and r[2] <= r[0],
            source,
            f"STFT resolution {r}: need [n_fft, hop, win], win <= n_fft",
        )
    return cfg


def train(
    config: dict[str, Any],
    out_dir: Path,
    *,
    manifests: list[str],
    threads: int | None,
    source: str,
    progress: bool = True,
) -> dict[str, Any]:
    """Train a vocoder from the manifests' ``train.split`` rows into ``out_dir/final.safetensors``.

    Returns ``{"steps", "final_loss", "final_mel_loss", "wall_s", "checkpoint"}``;
    ``final_loss`` is the mean generator loss of the last (up to) 20 steps.
    """
    from tqdm import tqdm

    cfg = resolve(config, source)
    if threads:
        torch.set_num_threads(int(threads))
    out_dir = Path(out_dir)
    mel = MelConfig.from_dict(cfg["mel"])
    t, lc, dc = cfg["train"], cfg["loss"], cfg["discriminator"]
    torch.manual_seed(cfg["seed"])
    generator = Vocoder(mel, cfg["model"]).train()
    mel_loss = MultiScaleMelLoss(mel.sample_rate, lc["mel_windows"], lc["mel_bands"])
    stft_loss = MultiResolutionSTFTLoss(lc["stft_resolutions"]) if lc["stft_weight"] > 0 else None
    gan_start = t["gan_start"]
    disc = None
    if gan_start is not None and gan_start < t["steps"]:
        disc = Discriminators(
            dc["periods"], dc["resolutions"], dc["period_mult"], dc["resolution_channels"]
        ).train()
    betas = (float(t["betas"][0]), float(t["betas"][1]))
    opt_g = torch.optim.AdamW(generator.parameters(), lr=t["lr"], betas=betas)
    sched_g = torch.optim.lr_scheduler.ExponentialLR(opt_g, gamma=t["lr_decay"])
    opt_d = sched_d = None
    if disc is not None:
        opt_d = torch.optim.AdamW(disc.parameters(), lr=t["lr"], betas=betas)
        sched_d = torch.optim.lr_scheduler.ExponentialLR(opt_d, gamma=t["lr_decay"])
    crops = WaveCrops(manifests, mel.sample_rate, t["segment"], seed=cfg["seed"], split=t["split"])
    clip = float(t["clip_grad_norm"])

    start = time.perf_counter()
    recent: list[float] = []
    last_mel = math.nan
    bar = tqdm(
        range(t["steps"]), desc="vocoder", file=sys.stderr, disable=not progress, mininterval=2
    )
    for step in bar:
        wave = crops.batch(step, t["batch_size"])  # [B, L]
        with torch.no_grad():
            spec = log_mel(wave, mel)  # [B, n_mels, L / hop]
        fake = generator(spec)  # [B, L]
        gan = disc is not None and step >= gan_start
        if gan:
            real_logits, _ = disc(wave)
            fake_logits, _ = disc(fake.detach())
            loss_d = discriminator_loss(real_logits, fake_logits)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(disc.parameters(), clip)
            opt_d.step()
        l_mel = mel_loss(fake, wave)
        loss = lc["mel_weight"] * l_mel
        if stft_loss is not None:
            loss = loss + lc["stft_weight"] * stft_loss(fake, wave)
        if gan:
            real_logits, real_feats = disc(wave)
            fake_logits, fake_feats = disc(fake)
            loss = loss + lc["adversarial_weight"] * generator_loss(fake_logits)
            loss = loss + lc["feature_weight"] * feature_loss(real_feats, fake_feats)
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(generator.parameters(), clip)
        opt_g.step()
        sched_g.step()
        if gan and sched_d is not None:
            sched_d.step()
        value = float(loss.detach())
        if not math.isfinite(value):
            raise BaselineError(f"vocoder training diverged at step {step} (loss {value})")
        recent = (recent + [value])[-20:]
        last_mel = float(l_mel.detach())
        if progress and step % 10 == 0:
            bar.set_postfix(loss=f"{value:.3f}", mel=f"{last_mel:.3f}")
    bar.close()
    wall = time.perf_counter() - start
    summary = {
        "steps": t["steps"],
        "final_loss": round(sum(recent) / len(recent), 6),
        "final_mel_loss": round(last_mel, 6),
        "wall_s": round(wall, 2),
    }
    path = out_dir / "final.safetensors"
    save_weights(path, generator.state_dict(), "vocoder", cfg, manifests, extra=summary)
    summary["checkpoint"] = str(path)
    return summary
