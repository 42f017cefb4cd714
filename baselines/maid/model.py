"""MAID's config, network wrapper, mel normalisation and gap masks.

The network input is ``[B, 3, n_mels, F]``: the noisy normalised mel ``x_t``, the masked
normalised input mel (gap frames set to 0) and the frame mask (1 = gap); the output is the
predicted noise ``[B, 1, n_mels, F]``. Log-mels (natural log, :func:`baselines.mel.log_mel`) are
mapped affinely from ``[norm.low, norm.high]`` to ``[-1, 1]`` (not clipped).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from a2sb.config_merge import require

from ..common import LOOP_DEFAULTS, resolve_config
from ..interface import BaselineError
from ..mel import LOG_FLOOR, MelConfig, mel_config
from .diffusion import Diffusion
from .unet import UNET_DEFAULTS, UNet

#: MAID's sample rate: 86 frames of 512 samples a second, so frames align with seconds.
MAID_RATE = 44032

#: Every MAID key and its default (the ``default`` CPU profile).
DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "sample_rate": MAID_RATE,
    "segment": 65536,
    "mel": MelConfig().to_dict(),
    "norm": {"low": LOG_FLOOR, "high": 2.5},
    "model": UNET_DEFAULTS,
    "diffusion": {
        "schedule": "linear",
        "timesteps": 1000,
        "beta_start": 0.0001,
        "beta_end": 0.02,
        "prediction": "v",
    },
    "mask": {"gap_min_s": 0.2, "gap_max_s": 1.0},
    "train": {
        **LOOP_DEFAULTS,
        "steps": 150,
        "ema": 0.99,  # EMA decay of the weights written as final (null: none)
        "lr": 0.001,
        "loss": "l1",
        "split": "train",
    },
    "sample": {
        "steps": 8,
        "seed": 0,
        "eta": 0.0,
        "clip": 1.0,
        "crossfade_ms": 10.0,
        "margin_frames": 8,
    },
}


def full_config(config: dict[str, Any] | None, source: str = "config") -> dict[str, Any]:
    """``config`` over :data:`DEFAULTS`, validated; a :class:`BaselineError` naming ``source``.

    ``mel`` defaults to the vocoder's default mel (:class:`baselines.mel.MelConfig`); the
    workflow writes the vocoder's mel into the config it generates, and restoration checks that
    the two are equal."""
    choices = {
        "diffusion.schedule": ("linear", "cosine"),
        "diffusion.prediction": ("eps", "v"),
        "train.loss": ("l1", "l2"),
    }
    cfg = resolve_config(DEFAULTS, config, source, choices=choices)
    mel = mel_config(cfg["mel"], source)

    def check(condition: bool, message: str) -> None:
        require(condition, source, message, error=BaselineError)

    m = cfg["model"]
    factor = 2 ** (len(m["mults"]) - 1)
    frames = cfg["segment"] // mel.hop_length
    check(cfg["sample_rate"] > 0, "sample_rate must be positive")
    check(
        cfg["segment"] % mel.hop_length == 0 and frames % factor == 0,
        f"segment must be a multiple of hop * 2^(levels-1) = {mel.hop_length * factor}",
    )
    check(mel.n_mels % factor == 0, f"mel.n_mels must be divisible by {factor}")
    check(cfg["norm"]["high"] > cfg["norm"]["low"], "norm.high must exceed norm.low")
    check(len(m["mults"]) >= 1 and m["res_blocks"] >= 1, "model.mults and model.res_blocks")
    check(
        all(0 <= a < len(m["mults"]) for a in m["attention_levels"]),
        "model.attention_levels must name levels 0 .. len(mults) - 1",
    )
    d = cfg["diffusion"]
    check(
        d["timesteps"] >= 2 and 0 < d["beta_start"] < d["beta_end"] < 1,
        "diffusion betas/timesteps",
    )
    g = cfg["mask"]
    check(
        0 < g["gap_min_s"] <= g["gap_max_s"] < cfg["segment"] / cfg["sample_rate"],
        "mask: need 0 < gap_min_s <= gap_max_s < segment duration",
    )
    t = cfg["train"]
    check(t["steps"] >= 1 and t["batch_size"] >= 1 and t["lr"] > 0, "train.steps/batch_size/lr")
    s = cfg["sample"]
    check(s["steps"] >= 1 and s["eta"] >= 0 and s["clip"] >= 0, "sample.steps/eta/clip")
    check(s["crossfade_ms"] >= 0 and s["margin_frames"] >= 0, "sample.crossfade_ms/margin_frames")
    try:
        UNet(3, 1, m)
    except ValueError as exc:
        raise BaselineError(f"{source}: {exc}") from None
    return cfg


class MAIDNet(nn.Module):
    """The conditional UNet: ``(x_t, cond, mask [B, 1, M, F], t [B]) -> eps [B, 1, M, F]``."""

    def __init__(self, model: dict[str, Any]) -> None:
        super().__init__()
        self.unet = UNet(3, 1, model)

    def forward(self, x_t: Tensor, cond: Tensor, mask: Tensor, t: Tensor) -> Tensor:
        return self.unet(torch.cat([x_t, cond, mask], dim=1), t)


def diffusion_of(cfg: dict[str, Any]) -> Diffusion:
    d = cfg["diffusion"]
    return Diffusion(d["schedule"], d["timesteps"], d["beta_start"], d["beta_end"], d["prediction"])


def normalize(logmel: Tensor, norm: dict[str, float]) -> Tensor:
    """Log-mel -> network scale: ``[low, high] -> [-1, 1]``."""
    mid, half = (norm["high"] + norm["low"]) / 2, (norm["high"] - norm["low"]) / 2
    return (logmel - mid) / half


def denormalize(x: Tensor, norm: dict[str, float]) -> Tensor:
    """Inverse of :func:`normalize`."""
    mid, half = (norm["high"] + norm["low"]) / 2, (norm["high"] - norm["low"]) / 2
    return x * half + mid


def gap_frames(start: int, end: int, frames: int, mel: MelConfig) -> tuple[int, int]:
    """Frames ``[lo, hi)`` whose analysis window overlaps samples ``[start, end)``.

    Frame ``j`` of :func:`baselines.mel.log_mel` reads samples
    ``[j hop - p, j hop - p + n_fft)`` with ``p = (n_fft - hop) / 2``.
    """
    pad = (mel.n_fft - mel.hop_length) // 2
    lo = math.floor((start - mel.n_fft + pad) / mel.hop_length) + 1
    hi = math.ceil((end + pad) / mel.hop_length)
    return max(0, lo), min(frames, max(hi, lo + 1))


def frame_mask(gaps: list[tuple[int, int]], frames: int, mel: MelConfig) -> np.ndarray:
    """``[frames]`` float32, 1 on frames touched by any of the sample ranges ``gaps``."""
    mask = np.zeros(frames, dtype=np.float32)
    for a, b in gaps:
        if b > a:
            lo, hi = gap_frames(a, b, frames, mel)
            mask[lo:hi] = 1.0
    return mask
