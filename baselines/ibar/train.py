"""IBAR training: random crops degraded on the fly, one flow-matching loss for both tasks.

Each item of a batch is a mono crop of ``model.segment_frames * hop`` samples
(:class:`baselines.common.WaveCrops`); its task is drawn at random (inpainting with probability
``data.p_inpainting``) together with one of that task's instruction templates, and the crop is
degraded as the evaluation inputs are (SPEC 8):

- bandwidth extension: cutoff ``f_c ~ U(data.cutoff_hz_range)``; the waveform goes through the
  evaluation's own degradation, :func:`metrics.degradations.bandwidth_limit` (soxr to ``2 f_c``
  and back), then its mel is taken;
- inpainting: one gap of ``g ~ U(data.gap_s_range)`` seconds, placed uniformly inside the crop,
  zeroed in the waveform before the mel is taken.

Target ``x1`` = normalised log-mel of the clean crop, condition = normalised log-mel of the
degraded one; the loss is OT conditional flow matching (:mod:`.flow`), under bf16 autocast on
CUDA with ``train.precision: bf16``. Every random draw is a function of ``(seed, step, item)``,
so a run is deterministic given its config and resumes bit for bit.

IBAR's side of the shared training loop (:func:`a2sb.training.loop.train_loop`, through
:class:`baselines.common.BaselineTraining`): the batch and the loss of a step, AdamW and its
learning-rate schedule (linear warm-up, then cosine decay to ``lr * min_lr_ratio``; the loop
steps it after every optimiser step and checkpoints it). Gradient clipping, the non-finite
policy, ``log.csv``, step checkpoints, resume, ``max_wall_s``, the final weights
(``final.safetensors`` + ``final.json``) and ``summary.json`` are the loop's.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from a2sb.errors import InputError
from a2sb.training.loop import LoopRun, StepResult

from ..common import BaselineTraining, WaveCrops, train_baseline
from ..interface import BaselineError
from ..mel import MelConfig, log_mel
from .config import device_of, full_config, mel_config
from .flow import cfm_loss
from .model import IBAR
from .templates import ALL_TEMPLATES, random_instruction
from .text_encoder import byt5_table

METHOD = "ibar"


def degrade(
    wave: np.ndarray, mel: MelConfig, data: dict[str, Any], rng: np.random.Generator
) -> tuple[np.ndarray, str]:
    """One training item: ``([N] degraded waveform, instruction)`` drawn with ``rng``."""
    # imported here: the metrics package loads scipy.stats, which restoring with IBAR never needs
    from metrics.degradations import bandwidth_limit

    if rng.random() < float(data["p_inpainting"]):
        lo, hi = (float(v) for v in data["gap_s_range"])
        n_gap = min(len(wave) - 1, max(1, round(rng.uniform(lo, hi) * mel.sample_rate)))
        start = int(rng.integers(0, len(wave) - n_gap + 1))
        out = wave.copy()
        out[start : start + n_gap] = 0.0
        return out, random_instruction("inpainting", rng)
    lo, hi = (float(v) for v in data["cutoff_hz_range"])
    cutoff = rng.uniform(lo, hi)
    degraded = bandwidth_limit(wave, mel.sample_rate, cutoff)
    return degraded, random_instruction("bandwidth-extension", rng)


def make_batch(
    crops: WaveCrops, step: int, cfg: dict[str, Any]
) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Batch ``step``: clean and degraded waveforms ``[B, N]`` and the B instructions."""
    size = int(cfg["train"]["batch_size"])
    mel = mel_config(cfg)
    clean = crops.batch(step, size).numpy()
    degraded, texts = [], []
    for i in range(size):
        rng = np.random.default_rng([int(cfg["seed"]), 0x1BA, step * size + i])
        d, text = degrade(clean[i], mel, cfg["data"], rng)
        degraded.append(d)
        texts.append(text)
    return torch.from_numpy(clean), torch.from_numpy(np.stack(degraded)).float(), texts


def _velocity(
    model: IBAR, cond: torch.Tensor, text: torch.Tensor, x: torch.Tensor, t: torch.Tensor
) -> torch.Tensor:
    return model(x, t, cond, text)


def lr_factor(step: int, total: int, warmup: int, floor: float) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine from 1 to ``floor`` at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def training_crops(cfg: dict[str, Any], manifests: list[str]) -> WaveCrops:
    """The crops of a resolved config (``model.segment_frames`` mel frames long)."""
    mel = mel_config(cfg)
    length = int(cfg["model"]["segment_frames"]) * mel.hop_length
    try:
        return WaveCrops(manifests, mel.sample_rate, length, int(cfg["seed"]), cfg["data"]["split"])
    except InputError as exc:  # a2sb's manifest reader: a bad manifest
        raise BaselineError(str(exc)) from None


class IBARTraining(BaselineTraining):
    """The flow-matching loss of the IBAR network on degraded crops (the module docstring)."""

    def __init__(self, cfg: dict[str, Any], manifests: list[str], crops: WaveCrops) -> None:
        super().__init__(METHOD, cfg, manifests)
        tr = cfg["train"]
        self.device = device_of(tr["device"])
        self.mel, self.crops, self.seed = mel_config(cfg), crops, int(cfg["seed"])
        table = None  # torch is seeded by the loop; the byT5 table comes first, as it always did
        if cfg["text"]["encoder"] == "byt5":
            table = byt5_table(cfg["text"]["byt5_path"], self.device)
        self.model = IBAR(cfg, table).to(self.device)
        self.n_parameters = sum(p.numel() for p in self.model.parameters())
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=float(tr["lr"]), weight_decay=float(tr["weight_decay"])
        )
        factor = partial(lr_factor, total=int(tr["steps"]), warmup=int(tr["warmup_steps"]),
                         floor=float(tr["min_lr_ratio"]))  # fmt: skip
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, factor)
        self.autocast = tr["precision"] == "bf16" and self.device.type == "cuda"
        self.sigma_min = float(cfg["flow"]["sigma_min"])

    def backward(self, step: int) -> StepResult:
        clean, degraded, texts = make_batch(self.crops, step, self.cfg)
        model, device = self.model, self.device
        with torch.no_grad():
            x1 = model.normalise(log_mel(clean.to(device), self.mel)).unsqueeze(1)
            cond = model.normalise(log_mel(degraded.to(device), self.mel)).unsqueeze(1)
        rng = np.random.default_rng([self.seed, 0x7A, step])
        x0 = torch.from_numpy(rng.standard_normal(x1.shape, dtype=np.float32)).to(device)
        t = torch.from_numpy(rng.random(x1.shape[0], dtype=np.float32)).to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.autocast):
            text = model.embed(texts)
            loss = cfm_loss(partial(_velocity, model, cond, text), x1, x0, t, self.sigma_min)
        loss.backward()
        return StepResult(float(loss.detach()))

    def weights_extra(self) -> dict[str, Any]:
        # load() checks the templates: a model knows its instructions by their row order
        return {"templates": list(ALL_TEMPLATES), "parameters": self.n_parameters}

    def summary(self, run: LoopRun) -> dict[str, Any]:
        return {"parameters": self.n_parameters}


def train(config: dict[str, Any], out_dir: str | Path, *, manifests: list[str],
          threads: int | None = None, source: str = "config", resume: bool = False,
          progress: bool = True) -> dict[str, Any]:  # fmt: skip
    """Train IBAR from the CSV manifests into ``out_dir``; returns the loop's summary (also in
    ``out_dir/summary.json``). A fresh run into a folder holding checkpoints is refused unless
    ``resume``."""
    cfg = full_config(config, source)
    manifests = list(manifests)
    crops = training_crops(cfg, manifests)  # a bad manifest fails before the run folder exists
    return train_baseline(lambda: IBARTraining(cfg, manifests, crops), cfg, out_dir, name=METHOD,
                          threads=threads, resume=resume, progress=progress)  # fmt: skip
