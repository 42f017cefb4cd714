"""Training of the mel vocoder: reconstruction warm-up, then (optionally) the BigVGAN GAN.

Every step draws ``batch_size`` mono crops of ``segment`` samples at the mel's rate
(:class:`baselines.common.WaveCrops`, crop ``g`` a pure function of ``(seed, g)``), computes their
log-mel (:func:`baselines.mel.log_mel`) and regenerates the waveform. Generator loss:

    mel_weight * multi-scale mel L1 + stft_weight * multi-resolution STFT
    [+ adversarial_weight * LSGAN + feature_weight * 2 * feature matching, from step gan_start]

With the GAN on, the discriminators (multi-period + multi-resolution STFT) take one LSGAN step
inside each generator step, before the generator's loss (their own gradient-norm clipping at
``train.grad_clip`` and their own learning-rate decay, once per GAN step). AdamW with betas
``train.betas`` for both, learning rate times ``lr_decay`` after every step.

The run is the shared training loop's (:func:`baselines.common.train_baseline`): the generator's
clipping, ``log.csv`` (with the multi-scale mel loss as column ``mel_loss``), step checkpoints
(the discriminators, their optimiser and scheduler included), resume and
``out_dir/final.safetensors`` with its provenance sidecar. Deterministic given ``seed`` (and the
thread count, which torch's reductions may depend on); a resumed run ends bit for bit where an
uninterrupted one does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from a2sb.config_merge import require
from a2sb.training.loop import LoopRun, StepResult

from ..common import LOOP_DEFAULTS, BaselineTraining, WaveCrops, resolve_config, train_baseline
from ..interface import BaselineError
from ..mel import MelConfig, log_mel, mel_config
from .discriminators import Discriminators
from .losses import (
    MultiResolutionSTFTLoss,
    MultiScaleMelLoss,
    discriminator_loss,
    feature_loss,
    generator_loss,
)
from .model import MODEL_DEFAULTS, Vocoder, check_model

#: Method name in checkpoint sidecars and the registry (:mod:`baselines.registry`).
METHOD = "vocoder"

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
        **LOOP_DEFAULTS,
        "steps": 400,
        "grad_clip": 500.0,  # generator and discriminators alike
        "segment": 8192,
        "lr": 0.001,
        "betas": [0.8, 0.99],
        "lr_decay": 0.999,
        "gan_start": None,  # the step the GAN starts at (null: reconstruction losses only)
        "split": "train",
    },
}


def full_config(config: dict[str, Any] | None, source: str = "config") -> dict[str, Any]:
    """``config`` over :data:`DEFAULTS`, validated; a :class:`BaselineError` naming ``source``."""
    cfg = resolve_config(DEFAULTS, config, source)
    mel = mel_config(cfg["mel"], source)
    problem = check_model(cfg["model"], mel)
    require(problem is None, source, str(problem), error=BaselineError)
    t, loss = cfg["train"], cfg["loss"]

    def check(condition: bool, message: str) -> None:
        require(condition, source, message, error=BaselineError)

    check(t["steps"] >= 1 and t["batch_size"] >= 1, "train.steps and train.batch_size must be >= 1")
    check(
        t["segment"] >= mel.n_fft and t["segment"] % mel.hop_length == 0,
        f"train.segment must be a multiple of the hop ({mel.hop_length}) and >= n_fft",
    )
    check(t["lr"] > 0 and 0 < t["lr_decay"] <= 1, "train.lr > 0 and 0 < train.lr_decay <= 1")
    check(len(t["betas"]) == 2, "train.betas needs two values")
    gs = t["gan_start"]
    check(
        gs is None or (isinstance(gs, int) and not isinstance(gs, bool) and gs >= 0),
        "train.gan_start: null or a step >= 0",
    )
    check(
        len(loss["mel_windows"]) == len(loss["mel_bands"]) and len(loss["mel_windows"]) > 0,
        "loss.mel_windows and loss.mel_bands need the same non-zero length",
    )
    check(max(loss["mel_windows"]) <= t["segment"], "loss.mel_windows exceed train.segment")
    for r in list(loss["stft_resolutions"]) + list(cfg["discriminator"]["resolutions"]):
        check(
            len(r) == 3 and r[2] <= r[0],
            f"STFT resolution {r}: need [n_fft, hop, win], win <= n_fft",
        )
    return cfg


class VocoderTraining(BaselineTraining):
    """The generator is the loop's model; the discriminators (when the GAN runs at all) step
    inside :meth:`backward` and are checkpointed through :meth:`stateful`."""

    log_columns = ("mel_loss",)

    def __init__(self, cfg: dict[str, Any], manifests: list[str], crops: WaveCrops) -> None:
        super().__init__(METHOD, cfg, manifests)
        self.crops = crops
        self.mel = MelConfig.from_dict(cfg["mel"])
        t, lc, dc = cfg["train"], cfg["loss"], cfg["discriminator"]
        # built in this order after the loop's torch.manual_seed(seed): the weights depend on it
        self.model = Vocoder(self.mel, cfg["model"]).train()
        self.mel_loss = MultiScaleMelLoss(self.mel.sample_rate, lc["mel_windows"], lc["mel_bands"])
        self.stft_loss = (
            MultiResolutionSTFTLoss(lc["stft_resolutions"]) if lc["stft_weight"] > 0 else None
        )
        self.gan_start = t["gan_start"]
        self.disc: Discriminators | None = None
        if self.gan_start is not None and self.gan_start < t["steps"]:
            self.disc = Discriminators(
                dc["periods"], dc["resolutions"], dc["period_mult"], dc["resolution_channels"]
            ).train()
        betas = (float(t["betas"][0]), float(t["betas"][1]))
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=t["lr"], betas=betas)
        self.scheduler = torch.optim.lr_scheduler.ExponentialLR(self.optimizer, gamma=t["lr_decay"])
        self.opt_d = self.sched_d = None
        if self.disc is not None:
            self.opt_d = torch.optim.AdamW(self.disc.parameters(), lr=t["lr"], betas=betas)
            self.sched_d = torch.optim.lr_scheduler.ExponentialLR(self.opt_d, gamma=t["lr_decay"])
        self.last_mel_loss: float | None = None

    def stateful(self) -> dict[str, Any]:
        if self.disc is None:
            return {}
        return {"disc": self.disc, "disc_optimizer": self.opt_d, "disc_scheduler": self.sched_d}

    def _discriminator_step(self, wave: torch.Tensor, fake: torch.Tensor) -> None:
        """One LSGAN step of the discriminators on this batch (the generator's output detached)."""
        assert self.disc is not None and self.opt_d is not None and self.sched_d is not None
        real_logits, _ = self.disc(wave)
        fake_logits, _ = self.disc(fake.detach())
        loss_d = discriminator_loss(real_logits, fake_logits)
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        clip = float(self.cfg["train"]["grad_clip"])
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(self.disc.parameters(), clip)
        self.opt_d.step()
        self.sched_d.step()

    def backward(self, step: int) -> StepResult:
        t, lc = self.cfg["train"], self.cfg["loss"]
        wave = self.crops.batch(step, t["batch_size"])  # [B, L]
        with torch.no_grad():
            spec = log_mel(wave, self.mel)  # [B, n_mels, L / hop]
        fake = self.model(spec)  # [B, L]
        gan = self.disc is not None and step >= self.gan_start
        if gan:
            self._discriminator_step(wave, fake)
        l_mel = self.mel_loss(fake, wave)
        loss = lc["mel_weight"] * l_mel
        if self.stft_loss is not None:
            loss = loss + lc["stft_weight"] * self.stft_loss(fake, wave)
        if gan:
            _, real_feats = self.disc(wave)
            fake_logits, fake_feats = self.disc(fake)
            loss = loss + lc["adversarial_weight"] * generator_loss(fake_logits)
            loss = loss + lc["feature_weight"] * feature_loss(real_feats, fake_feats)
        loss.backward()
        self.last_mel_loss = float(l_mel.detach())
        return StepResult(float(loss.detach()), {"mel_loss": self.last_mel_loss})

    def summary(self, run: LoopRun) -> dict[str, Any]:
        return {"final_mel_loss": self.last_mel_loss}


def train(config: dict[str, Any], out_dir: str | Path, *, manifests: list[str],
          threads: int | None = None, source: str = "config", resume: bool = False,
          progress: bool = True) -> dict[str, Any]:  # fmt: skip
    """Train a vocoder on the manifests' ``train.split`` rows into ``out_dir``, the shared loop's
    run folder; ``resume`` continues its latest step checkpoint. Returns the loop's summary
    (with ``final_mel_loss``)."""
    cfg = full_config(config, source)
    mel = MelConfig.from_dict(cfg["mel"])
    t = cfg["train"]
    crops = WaveCrops(manifests, mel.sample_rate, t["segment"], seed=cfg["seed"], split=t["split"])
    return train_baseline(
        lambda: VocoderTraining(cfg, list(manifests), crops), cfg, out_dir, name=METHOD,
        threads=threads, resume=resume, progress=progress,
    )  # fmt: skip
