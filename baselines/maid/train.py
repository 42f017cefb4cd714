"""MAID training: DDPM epsilon (or v) prediction on masked log-mel segments.

Each step draws ``batch_size`` mono crops of ``segment`` samples at ``sample_rate`` (44032 Hz:
:class:`baselines.common.WaveCrops` resamples with soxr), computes their normalised log-mel
``x_0 [B, 1, n_mels, F]``, cuts one random gap per crop (length uniform in
``[mask.gap_min_s, mask.gap_max_s]``, start uniform, then widened to every frame whose window
touches it), and minimises ``|f(x_t, x_0 * (1 - m), m, t) - target|`` with target ``eps``
(MAID) or ``v`` (``diffusion.prediction``), L1 (MAID's choice; ``train.loss: l2`` for the usual
MSE) over all frames, ``t`` uniform in ``[0, T)``. Adam.

The run is the shared training loop's (:func:`baselines.common.train_baseline`): gradient-norm
clipping (``train.grad_clip``), the exponential moving average of the weights that is saved
(``train.ema``; decay ``min(ema, (1 + n) / (10 + n))`` at update ``n``, null: none), ``log.csv``,
step checkpoints, resume and ``out_dir/final.safetensors`` with its sidecar. Crops and gaps are
pure functions of ``(seed, step)``; timesteps and noise come from one sequential generator
seeded with ``seed`` that the step checkpoints hold, so a resumed run ends bit for bit where an
uninterrupted one does. Deterministic given ``seed`` and the thread count.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from a2sb.training.loop import StepResult

from ..common import BaselineTraining, WaveCrops, train_baseline
from ..mel import MelConfig, log_mel
from .model import MAIDNet, diffusion_of, frame_mask, full_config, normalize

#: Method name in checkpoint sidecars and the registry (:mod:`baselines.registry`).
METHOD = "maid"


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


class MAIDTraining(BaselineTraining):
    """MAID's network, Adam and the sequential noise generator, as the loop sees them."""

    def __init__(self, cfg: dict[str, Any], manifests: list[str], crops: WaveCrops) -> None:
        super().__init__(METHOD, cfg, manifests)
        self.crops = crops
        self.model = MAIDNet(cfg["model"]).train()  # after the loop's torch.manual_seed(seed)
        self.diffusion = diffusion_of(cfg)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg["train"]["lr"])
        self.generator = torch.Generator().manual_seed(cfg["seed"])

    def stateful(self) -> dict[str, Any]:
        return {"generator": self.generator}

    def backward(self, step: int) -> StepResult:
        x0, mask = training_batch(self.crops, self.cfg, step)
        loss = loss_on(
            self.model, self.diffusion, x0, mask, self.generator, self.cfg["train"]["loss"]
        )
        loss.backward()
        return StepResult(float(loss.detach()))


def train(config: dict[str, Any], out_dir: str | Path, *, manifests: list[str],
          threads: int | None = None, source: str = "config", resume: bool = False,
          progress: bool = True) -> dict[str, Any]:  # fmt: skip
    """Train MAID on the manifests' ``train.split`` rows into ``out_dir``, the shared loop's run
    folder; ``resume`` continues its latest step checkpoint. Returns the loop's summary."""
    cfg = full_config(config, source)
    t = cfg["train"]
    crops = WaveCrops(
        manifests, cfg["sample_rate"], cfg["segment"], seed=cfg["seed"], split=t["split"]
    )
    return train_baseline(
        lambda: MAIDTraining(cfg, list(manifests), crops), cfg, out_dir, name=METHOD,
        threads=threads, resume=resume, progress=progress,
    )  # fmt: skip
