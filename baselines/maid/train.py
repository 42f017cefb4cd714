"""MAID training: DDPM epsilon prediction on masked log-mel segments.

Each step draws ``batch_size`` mono crops of ``segment`` samples at ``sample_rate`` (44032 Hz:
:class:`baselines.common.WaveCrops` resamples with soxr), computes their normalised log-mel
``x_0 [B, 1, n_mels, F]``, cuts one random gap per crop (length uniform in
``[mask.gap_min_s, mask.gap_max_s]``, start uniform, then widened to every frame whose window
touches it), and minimises ``|f(x_t, x_0 * (1 - m), m, t) - target|`` with target ``eps``
(MAID) or ``v`` (``diffusion.prediction``), L1 (MAID's choice; ``train.loss: l2`` for the usual
MSE) over all frames, ``t`` uniform in ``[0, T)``. Adam,
gradient-norm clipping, an exponential moving average of the weights (decay
``min(ema_decay, (1 + n) / (10 + n))`` at update ``n``, which is what is saved when
``ema_decay > 0``). Deterministic given ``seed`` and the thread count.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from ..common import WaveCrops, save_weights
from ..interface import BaselineError
from ..mel import MelConfig, log_mel
from .model import MAIDNet, diffusion_of, frame_mask, normalize, resolve


def training_batch(
    crops: WaveCrops, cfg: dict[str, Any], step: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x0 [B, 1, n_mels, F], mask [B, 1, 1, F])`` of training step ``step`` (deterministic)."""
    mel = MelConfig.from_dict(cfg["mel"])
    b = cfg["train"]["batch_size"]
    wave = crops.batch(step, b)  # [B, L]
    x0 = normalize(log_mel(wave, mel), cfg["norm"]).unsqueeze(1)  # [B, 1, M, F]
    frames = x0.shape[-1]
    rng = np.random.default_rng([cfg["seed"], 1, step])
    rate, length = cfg["sample_rate"], wave.shape[-1]
    masks = []
    for _ in range(b):
        gap = int(rng.uniform(cfg["mask"]["gap_min_s"], cfg["mask"]["gap_max_s"]) * rate)
        start = int(rng.integers(0, length - gap + 1))
        masks.append(frame_mask([(start, start + gap)], frames, mel))
    mask = torch.from_numpy(np.stack(masks)).view(b, 1, 1, frames)
    return x0, mask


def loss_on(
    net: MAIDNet,
    diffusion,  # noqa: ANN001
    x0: torch.Tensor,
    mask: torch.Tensor,
    generator: torch.Generator,
    kind: str = "l1",
) -> torch.Tensor:
    """The DDPM loss of one batch with timesteps and noise drawn from ``generator``."""
    b = x0.shape[0]
    t = torch.randint(0, diffusion.timesteps, (b,), generator=generator)
    eps = torch.randn(x0.shape, generator=generator)
    x_t = diffusion.noisy(x0, t, eps)
    m = mask.expand_as(x0)
    pred = net(x_t, x0 * (1 - m), m, t.float())
    target = diffusion.target(x0, t, eps)
    return F.l1_loss(pred, target) if kind == "l1" else F.mse_loss(pred, target)


def train(
    config: dict[str, Any],
    out_dir: Path,
    *,
    manifests: list[str],
    threads: int | None,
    source: str,
    progress: bool = True,
) -> dict[str, Any]:
    """Train MAID into ``out_dir/final.safetensors``; ``{"steps", "final_loss", "wall_s", ...}``.

    ``final_loss`` is the mean training loss of the last (up to) 20 steps.
    """
    from tqdm import tqdm

    cfg = resolve(config, source)
    if threads:
        torch.set_num_threads(int(threads))
    t = cfg["train"]
    torch.manual_seed(cfg["seed"])
    net = MAIDNet(cfg["model"]).train()
    ema = copy.deepcopy(net).eval() if t["ema_decay"] > 0 else None
    diffusion = diffusion_of(cfg)
    opt = torch.optim.Adam(net.parameters(), lr=t["lr"])
    crops = WaveCrops(
        manifests, cfg["sample_rate"], cfg["segment"], seed=cfg["seed"], split=t["split"]
    )
    generator = torch.Generator().manual_seed(cfg["seed"])
    start = time.perf_counter()
    recent: list[float] = []
    bar = tqdm(range(t["steps"]), desc="maid", file=sys.stderr, disable=not progress, mininterval=2)
    for step in bar:
        x0, mask = training_batch(crops, cfg, step)
        loss = loss_on(net, diffusion, x0, mask, generator, t["loss"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if t["clip_grad_norm"] > 0:
            torch.nn.utils.clip_grad_norm_(net.parameters(), t["clip_grad_norm"])
        opt.step()
        if ema is not None:
            decay = min(t["ema_decay"], (1 + step) / (10 + step))
            with torch.no_grad():
                for pe, p in zip(ema.parameters(), net.parameters()):
                    pe.mul_(decay).add_(p.detach(), alpha=1 - decay)
        value = float(loss.detach())
        if not math.isfinite(value):
            raise BaselineError(f"MAID training diverged at step {step} (loss {value})")
        recent = (recent + [value])[-20:]
        if progress and step % 10 == 0:
            bar.set_postfix(loss=f"{value:.4f}")
    bar.close()
    wall = time.perf_counter() - start
    summary = {
        "steps": t["steps"],
        "final_loss": round(sum(recent) / len(recent), 6),
        "wall_s": round(wall, 2),
    }
    final = ema if ema is not None else net
    path = Path(out_dir) / "final.safetensors"
    save_weights(path, final.state_dict(), "maid", cfg, manifests, extra=summary)
    summary["checkpoint"] = str(path)
    return summary
