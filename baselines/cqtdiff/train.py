"""Training of the unconditional CQTDiff model on random crops (EDM loss, :mod:`.edm`).

Step ``t`` uses crops ``t * B .. t * B + B - 1`` of :class:`baselines.common.WaveCrops` and noise
from a generator seeded by ``(seed, t)``, so a run is a pure function of its config, data and
seed (and resumes exactly from a step checkpoint). Adam or AdamW, gradient-norm clipping, an EMA
of the weights (written to ``final.safetensors`` when ``train.ema`` is set; EMA warm-up
``min(ema, (1 + t) / (10 + t))``).

Run folder: ``train.log``, ``log.csv`` (step, loss, grad_norm, wall_s), ``checkpoints/`` (with
``train.checkpoint_every``), ``final.safetensors`` + ``final.json`` (sidecar: resolved config
with the estimated ``sigma_data``, manifests' sha256, seed, git commit, versions).
"""

from __future__ import annotations

import csv
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..common import WaveCrops, config_hash, load_weights, save_weights
from ..interface import BaselineError
from .config import resolve
from .edm import EDM
from .network import build_network, count_parameters

METHOD = "cqtdiff"
STATE_METHOD = "cqtdiff-train-state"


def edm_of(config: dict[str, Any]) -> EDM:
    d = config["diffusion"]
    return EDM(
        sigma_data=float(d["sigma_data"]),
        sigma_min=float(d["sigma_min"]),
        sigma_max=float(d["sigma_max"]),
        rho=float(d["rho"]),
        train_sigma=str(d["train_sigma"]),
        rho_train=float(d["rho_train"]),
        p_mean=float(d["p_mean"]),
        p_std=float(d["p_std"]),
    )


def step_generator(seed: int, step: int) -> torch.Generator:
    """The noise generator of training step ``step``."""
    state = np.random.SeedSequence([int(seed), int(step)]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def estimate_sigma_data(crops: WaveCrops, n: int) -> float:
    """RMS of ``n`` training crops (crop indices far from those of the training batches)."""
    waves = np.stack([crops.crop(2**40 + i) for i in range(max(1, n))])
    return max(float(np.sqrt(np.mean(waves.astype(np.float64) ** 2))), 1e-3)


class _Log:
    def __init__(self, path: Path) -> None:
        self.file = open(path, "a", encoding="utf-8")

    def __call__(self, message: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} cqtdiff: {message}"
        tqdm.write(line, file=sys.stderr)
        self.file.write(line + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def _optimizer(params, t: dict[str, Any]) -> torch.optim.Optimizer:  # noqa: ANN001
    cls = torch.optim.AdamW if t["optimizer"] == "adamw" else torch.optim.Adam
    return cls(
        params, lr=float(t["lr"]), betas=tuple(t["betas"]), weight_decay=float(t["weight_decay"])
    )


def _pack_state(net, ema, opt) -> dict[str, torch.Tensor]:  # noqa: ANN001
    state = {f"model.{k}": v for k, v in net.state_dict().items()}
    state.update({f"ema.{k}": v for k, v in ema.items()})
    for i, p in enumerate(net.parameters()):
        for k, v in opt.state.get(p, {}).items():
            state[f"opt.{i}.{k}"] = torch.as_tensor(v).clone()
    return state


def _unpack_state(state: dict[str, torch.Tensor], net, ema, opt) -> None:  # noqa: ANN001
    net.load_state_dict({k[6:]: v for k, v in state.items() if k.startswith("model.")})
    for k in ema:
        ema[k].copy_(state[f"ema.{k}"])
    for i, p in enumerate(net.parameters()):
        entries = {k.split(".", 2)[2]: v for k, v in state.items() if k.startswith(f"opt.{i}.")}
        if entries:
            opt.state[p] = entries


def _latest_checkpoint(folder: Path, digest: str) -> tuple[Path, int] | None:
    for path in sorted(folder.glob("step-*.safetensors"), reverse=True):
        try:
            _, side = load_weights(path, STATE_METHOD)
        except BaselineError:
            continue
        if side.get("config_hash") == digest:
            return path, int(side["extra"]["step"])
    return None


def train(
    config: dict[str, Any],
    out_dir: Path,
    *,
    manifests: list[str],
    threads: int | None = None,
    source: str = "config",
) -> dict[str, Any]:
    """Train from the CSV manifests into ``out_dir``; returns a summary (see module docstring)."""
    cfg = resolve(config, source)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if threads:
        torch.set_num_threads(int(threads))
    t_cfg, seed, rate = cfg["train"], int(cfg["seed"]), int(cfg["sample_rate"])
    torch.manual_seed(seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    net = build_network(cfg).to(device)
    length = net.layout.fit_length(round(float(t_cfg["segment_s"]) * rate))
    crops = WaveCrops(manifests, rate, length, seed=seed)
    if cfg["diffusion"]["sigma_data"] is None:
        cfg["diffusion"]["sigma_data"] = estimate_sigma_data(crops, int(t_cfg["sigma_data_crops"]))
    edm = edm_of(cfg)
    opt = _optimizer(net.parameters(), t_cfg)
    ema = {k: v.detach().clone() for k, v in net.named_parameters()}
    log = _Log(out_dir / "train.log")
    digest = config_hash(cfg)
    ckpt_dir = out_dir / "checkpoints"
    start = 0
    found = _latest_checkpoint(ckpt_dir, digest) if ckpt_dir.is_dir() else None
    if found is not None:
        state, _ = load_weights(found[0], STATE_METHOD)
        _unpack_state(state, net, ema, opt)
        start = found[1]
        log(f"resumed from {found[0].name} (step {start})")
    steps, bs = int(t_cfg["steps"]), int(t_cfg["batch_size"])
    log(
        f"{count_parameters(net):,} parameters, segment {length} samples, batch {bs}, "
        f"sigma_data {edm.sigma_data:.4g}, steps {start}..{steps}, hops {net.layout.hops}, "
        f"device {device}"
    )
    csv_path = out_dir / "log.csv"
    new_csv = start == 0 or not csv_path.is_file()
    csv_file = open(csv_path, "w" if new_csv else "a", newline="", encoding="utf-8")
    writer = csv.writer(csv_file)
    if new_csv:
        writer.writerow(["step", "loss", "grad_norm", "wall_s"])
    t0, losses, stopped_early, done = time.monotonic(), [], False, start
    max_wall = t_cfg["max_wall_s"]
    bar = tqdm(range(start, steps), desc="cqtdiff train", unit="step", file=sys.stderr, leave=False)
    net.train()
    try:
        for step in bar:
            x0 = crops.batch(step, bs)
            gen = step_generator(seed, step)
            sigma = edm.train_sigmas(bs, gen)
            noise = torch.randn(x0.shape, generator=gen)
            x0, sigma, noise = x0.to(device), sigma.to(device), noise.to(device)
            loss = edm.loss(net, x0, sigma, noise)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = float(
                torch.nn.utils.clip_grad_norm_(net.parameters(), float(t_cfg["grad_clip"]))
            )
            if math.isfinite(grad_norm):
                opt.step()
            else:
                log(f"step {step + 1}: non-finite gradient norm, update skipped")
            decay = (
                0.0 if t_cfg["ema"] is None else min(float(t_cfg["ema"]), (1 + step) / (10 + step))
            )
            with torch.no_grad():
                for k, p in net.named_parameters():
                    ema[k].lerp_(p.detach(), 1 - decay)
            done = step + 1
            value = float(loss.detach())
            losses.append(value)
            wall = time.monotonic() - t0
            writer.writerow([done, f"{value:.6g}", f"{grad_norm:.6g}", f"{wall:.2f}"])
            bar.set_postfix(loss=f"{value:.4f}")
            every = int(t_cfg["log_every"])
            if every > 0 and done % every == 0:
                log(f"step {done}/{steps} loss {np.mean(losses[-every:]):.5f} ({wall:.0f} s)")
            ckpt_every = int(t_cfg["checkpoint_every"])
            if ckpt_every > 0 and done % ckpt_every == 0 and done < steps:
                save_weights(
                    ckpt_dir / f"step-{done:08d}.safetensors",
                    _pack_state(net, ema, opt),
                    STATE_METHOD,
                    cfg,
                    manifests,
                    extra={"step": done},
                )
            if max_wall is not None and wall > float(max_wall):
                stopped_early = True
                log(f"train.max_wall_s ({max_wall} s) reached after step {done}: stopping")
                break
    finally:
        bar.close()
        csv_file.close()
    weights = {k: v.cpu() for k, v in net.state_dict().items()}
    if t_cfg["ema"] is not None:
        weights.update({k: v.cpu() for k, v in ema.items()})
    wall = time.monotonic() - t0
    final_loss = float(np.mean(losses[-max(1, int(t_cfg["log_every"])) :])) if losses else None
    extra = {
        "sigma_data": edm.sigma_data,
        "segment_samples": length,
        "steps_done": done,
        "stopped_early": stopped_early,
        "final_loss": final_loss,
        "parameters": count_parameters(net),
        "cqt_hops": list(net.layout.hops),
        "weights": "ema" if t_cfg["ema"] is not None else "raw",
    }
    save_weights(out_dir / "final.safetensors", weights, METHOD, cfg, manifests, extra=extra)
    log(f"wrote {out_dir / 'final.safetensors'} after {done} steps in {wall:.0f} s")
    log.close()
    return {"steps": done, "final_loss": final_loss, "wall_s": round(wall, 1), **extra}
