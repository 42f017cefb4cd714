"""IBAR training: random crops degraded on the fly, one flow-matching loss for both tasks.

Each item of a batch is a mono crop of ``model.segment_frames * hop`` samples
(:class:`baselines.common.WaveCrops`); its task is drawn at random (inpainting with probability
``data.p_inpainting``) together with one of that task's instruction templates, and the crop is
degraded as the evaluation inputs are (SPEC 8):

- bandwidth extension: cutoff ``f_c ~ U(data.cutoff_hz_range)``; the waveform is resampled with
  soxr to ``2 f_c`` and back (the evaluation's own degradation), then its mel is taken;
- inpainting: one gap of ``g ~ U(data.gap_s_range)`` seconds, placed uniformly inside the crop,
  zeroed in the waveform before the mel is taken.

Target ``x1`` = normalised log-mel of the clean crop, condition = normalised log-mel of the
degraded one; the loss is OT conditional flow matching (:mod:`.flow`). AdamW, linear warm-up then
cosine decay, gradient-norm clipping. Every random draw is a function of ``(seed, step, item)``,
so a run is deterministic given its config.
"""

from __future__ import annotations

import math
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import soxr
import torch
from tqdm.auto import tqdm

from a2sb.errors import InputError

from ..common import WaveCrops, save_weights
from ..interface import BaselineError
from ..mel import MelConfig, log_mel
from .config import device_of, mel_config, resolve
from .flow import cfm_loss
from .model import IBAR
from .templates import ALL_TEMPLATES, random_instruction
from .text_encoder import byt5_table

METHOD = "ibar"


def lowpass(wave: np.ndarray, sample_rate: int, cutoff_hz: float) -> np.ndarray:
    """``[N]`` resampled with soxr (HQ) to ``2 cutoff_hz`` and back, same length (SPEC 8)."""
    low = soxr.resample(wave, sample_rate, 2.0 * cutoff_hz, quality="HQ")
    back = soxr.resample(low, 2.0 * cutoff_hz, sample_rate, quality="HQ")
    out = np.zeros_like(wave)
    n = min(len(back), len(wave))
    out[:n] = back[:n]
    return out


def degrade(
    wave: np.ndarray, mel: MelConfig, data: dict[str, Any], rng: np.random.Generator
) -> tuple[np.ndarray, str]:
    """One training item: ``([N] degraded waveform, instruction)`` drawn with ``rng``."""
    if rng.random() < float(data["p_inpainting"]):
        lo, hi = (float(v) for v in data["gap_s_range"])
        n_gap = min(len(wave) - 1, max(1, round(rng.uniform(lo, hi) * mel.sample_rate)))
        start = int(rng.integers(0, len(wave) - n_gap + 1))
        out = wave.copy()
        out[start : start + n_gap] = 0.0
        return out, random_instruction("inpainting", rng)
    lo, hi = (float(v) for v in data["cutoff_hz_range"])
    cutoff = rng.uniform(lo, hi)
    return lowpass(wave, mel.sample_rate, cutoff), random_instruction("bandwidth-extension", rng)


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


def train(
    config: dict[str, Any],
    out_dir: Path,
    *,
    manifests: list[str],
    threads: int | None = None,
    source: str = "<config>",
) -> dict[str, Any]:
    """Train IBAR from ``manifests``; writes ``out_dir/final.safetensors`` + ``final.json``."""
    cfg = resolve(config, source)
    if threads:
        torch.set_num_threads(int(threads))
    tr = cfg["train"]
    device = device_of(tr["device"])
    mel = mel_config(cfg)
    seed = int(cfg["seed"])
    torch.manual_seed(seed)
    table = None
    if cfg["text"]["encoder"] == "byt5":
        table = byt5_table(cfg["text"]["byt5_path"], device)
    model = IBAR(cfg, table).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    try:
        crops = WaveCrops(
            manifests,
            mel.sample_rate,
            int(cfg["model"]["segment_frames"]) * mel.hop_length,
            seed=seed,
            split=cfg["data"]["split"],
        )
    except InputError as exc:  # a2sb's manifest reader: a bad manifest
        raise BaselineError(str(exc)) from None
    opt = torch.optim.AdamW(
        model.parameters(), lr=float(tr["lr"]), weight_decay=float(tr["weight_decay"])
    )
    steps = int(tr["steps"])
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda s: lr_factor(s, steps, int(tr["warmup_steps"]), float(tr["min_lr_ratio"])),
    )
    autocast = tr["precision"] == "bf16" and device.type == "cuda"
    sigma_min = float(cfg["flow"]["sigma_min"])
    log_every = int(tr["log_every"])
    losses: list[float] = []
    log: list[dict[str, float]] = []
    start = time.perf_counter()
    model.train()
    bar = tqdm(range(steps), desc="ibar train", unit="step", file=sys.stderr, mininterval=2.0)
    for step in bar:
        clean, degraded, texts = make_batch(crops, step, cfg)
        with torch.no_grad():
            x1 = model.normalise(log_mel(clean.to(device), mel)).unsqueeze(1)
            cond = model.normalise(log_mel(degraded.to(device), mel)).unsqueeze(1)
        rng = np.random.default_rng([seed, 0x7A, step])
        x0 = torch.from_numpy(rng.standard_normal(x1.shape, dtype=np.float32)).to(device)
        t = torch.from_numpy(rng.random(x1.shape[0], dtype=np.float32)).to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            text = model.embed(texts)
            loss = cfm_loss(partial(_velocity, model, cond, text), x1, x0, t, sigma_min)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), float(tr["grad_clip"]))
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if (step + 1) % log_every == 0 or step + 1 == steps:
            recent = float(np.mean(losses[-log_every:]))
            log.append({"step": step + 1, "loss": recent})
            bar.set_postfix(loss=f"{recent:.4f}")
    wall = time.perf_counter() - start
    out_dir = Path(out_dir)
    final_loss = float(np.mean(losses[-log_every:]))
    extra = {
        "templates": list(ALL_TEMPLATES),
        "parameters": n_params,
        "steps": steps,
        "final_loss": final_loss,
        "loss_log": log,
        "wall_s": round(wall, 2),
    }
    path = out_dir / "final.safetensors"
    save_weights(path, model.state_dict(), METHOD, cfg, manifests, extra)
    return {
        "checkpoint": str(path),
        "steps": steps,
        "final_loss": round(final_loss, 5),
        "initial_loss": round(losses[0], 5),
        "wall_s": round(wall, 2),
        "steps_per_s": round(steps / wall, 3) if wall > 0 else None,
        "parameters": n_params,
    }
