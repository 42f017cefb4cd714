"""Training of the unconditional CQTDiff model on random crops (EDM loss, :mod:`.edm`); the
entry point is :func:`baselines.cqtdiff.train`.

CQTDiff's side of the shared training loop (:func:`a2sb.training.loop.train_loop`, through
:class:`baselines.common.BaselineTraining`): step ``t`` uses crops ``t * B .. t * B + B - 1`` of
:class:`baselines.common.WaveCrops` and noise from a generator seeded by ``(seed, t)``
(:func:`.edm.seeded_generator`), so a run is a pure function of its config, data and seed and
resumes bit for bit from a step checkpoint. The optimiser (Adam or AdamW, ``train.optimizer``)
is the method's; gradient clipping, the EMA of the weights (written to ``final.safetensors``
when ``train.ema`` is set), ``log.csv``, step checkpoints, resume, ``max_wall_s`` and
``summary.json`` are the loop's.

``sigma_data`` (``diffusion.sigma_data: null``) is estimated from the training crops while the
method is built, before the run's config hash is taken, and stored in the resolved config.

Run folder: the loop's (``config.json``, ``train.log``, ``log.csv``, ``checkpoints/``,
``final.safetensors`` + ``final.json``, ``summary.json``); the sidecar holds the resolved config
(with the estimated ``sigma_data``), the manifests' sha256, seed, git commit, versions and, in
``extra``, what restoration needs (:meth:`CQTDiffTraining.weights_extra`).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from a2sb.training.loop import LoopRun, StepResult

from ..common import BaselineTraining, WaveCrops
from .cqt import CQTLayout
from .edm import EDM, seeded_generator
from .network import build_network, count_parameters

METHOD = "cqtdiff"

log = logging.getLogger("a2sb.training.cqtdiff")


def training_crops(cfg: dict[str, Any], manifests: list[str]) -> WaveCrops:
    """The training crops of a resolved config: ``train.segment_s`` rounded up to the CQT
    quantum, at the model's rate (a bad manifest fails here, before any run folder exists)."""
    rate, m = int(cfg["sample_rate"]), cfg["model"]
    layout = CQTLayout(rate, int(m["bins_per_octave"]), int(m["depth"]))
    length = layout.fit_length(round(float(cfg["train"]["segment_s"]) * rate))
    return WaveCrops(manifests, rate, length, seed=int(cfg["seed"]))


def estimate_sigma_data(crops: WaveCrops, n: int) -> float:
    """RMS of ``n`` training crops (crop indices far from those of the training batches)."""
    waves = np.stack([crops.crop(2**40 + i) for i in range(max(1, n))])
    return max(float(np.sqrt(np.mean(waves.astype(np.float64) ** 2))), 1e-3)


class CQTDiffTraining(BaselineTraining):
    """The EDM denoising loss of the CQTDiff network on random crops."""

    def __init__(self, cfg: dict[str, Any], manifests: list[str], crops: WaveCrops) -> None:
        super().__init__(METHOD, cfg, manifests)
        t, self.seed = cfg["train"], int(cfg["seed"])
        self.crops, self.length = crops, crops.n_samples
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.model = build_network(cfg).to(self.device)  # torch is seeded by the loop
        if cfg["diffusion"]["sigma_data"] is None:
            cfg["diffusion"]["sigma_data"] = estimate_sigma_data(
                self.crops, int(t["sigma_data_crops"])
            )
        self.edm = EDM.from_config(cfg)
        cls = torch.optim.AdamW if t["optimizer"] == "adamw" else torch.optim.Adam
        self.optimizer = cls(self.model.parameters(), lr=float(t["lr"]), betas=tuple(t["betas"]),
                             weight_decay=float(t["weight_decay"]))  # fmt: skip
        log.info("cqtdiff: %s parameters, segment %d samples, batch %d, sigma_data %.4g, "
                 "CQT hops %s, device %s", f"{count_parameters(self.model):,}", self.length,
                 self.batch_size, self.edm.sigma_data, self.model.layout.hops, self.device)  # fmt: skip

    def backward(self, step: int) -> StepResult:
        x0 = self.crops.batch(step, self.batch_size)
        gen = seeded_generator(self.seed, step)
        sigma = self.edm.train_sigmas(self.batch_size, gen)
        noise = torch.randn(x0.shape, generator=gen)
        x0, sigma, noise = x0.to(self.device), sigma.to(self.device), noise.to(self.device)
        loss = self.edm.loss(self.model, x0, sigma, noise)
        loss.backward()
        return StepResult(float(loss.detach()))

    def weights_extra(self) -> dict[str, Any]:
        return {
            "sigma_data": self.edm.sigma_data,
            "segment_samples": self.length,
            "parameters": count_parameters(self.model),
            "cqt_hops": list(self.model.layout.hops),
        }

    def summary(self, run: LoopRun) -> dict[str, Any]:
        return self.weights_extra()
