"""A2SB training: pre-training and t-partition fine-tuning on one CPU, one GPU or many (SPEC 6).

:class:`A2SBTraining` is A2SB's side of the shared loop (:mod:`a2sb.training.loop`): per
optimiser step every rank runs ``accum`` micro-batches (DDP gradient sync on the last one only,
dropout reseeded from ``(seed, rank, step)``) with the loss of eq. 10
(:func:`~a2sb.training.objective.bridge_loss`); RAdam with decoupled weight decay, an optional
linear learning-rate warm-up, no EMA (paper 3.5). The loop clips, skips non-finite steps, logs,
checkpoints and resumes.

Run directory (besides the loop's ``config.json``, ``train.log``, ``log.csv``, ``checkpoints/``,
``final.safetensors`` and ``summary.json``)::

    valid.csv          step and the validation metrics (:mod:`a2sb.training.validation`)
    events.out.tfevents.*   TensorBoard
    final.json         sidecar: t_range, extra.mask_config, beta_max, kind, train provenance

``summary.json`` adds the world size, accumulation, batch, precision, t-range, validation,
skipped files and why, and the weights' digest on every rank.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from ..bridge import BridgeSchedule
from ..checkpoint import load_checkpoint, save_checkpoint
from ..errors import InputError
from ..io.provenance import file_sha256, hash_files
from ..network import build_model, count_parameters
from ..representation import STFTConfig
from .config import TrainConfig
from .dataset import (
    CropDataset,
    RankSampler,
    collate,
    filter_bandwidth,
    fixed_segments,
    read_entries,
)
from .distributed import DistInfo, barrier, derive_seed, gather_to_main, init_distributed, shutdown
from .loop import (
    CsvLog,
    LoopConfig,
    LoopRun,
    StepResult,
    TrainingMethod,
    log,
    train_loop,
    truncate_csv,
)
from .objective import BridgeSpec, bridge_loss
from .validation import Validator

MAX_LISTED_SKIPS = 100


def weights_digest(model: nn.Module) -> str:
    """sha256 of a model's state (names and bytes, in state-dict order)."""
    digest = hashlib.sha256()
    for name, value in model.state_dict().items():
        digest.update(name.encode())
        digest.update(value.detach().to("cpu").contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class A2SBTraining(TrainingMethod):
    """One A2SB training run (fresh or resumed) on this rank."""

    def __init__(self, cfg: TrainConfig, info: DistInfo) -> None:
        self.cfg, self.info = cfg, info
        self.stft = cfg.stft_config()
        self.mask_cfg = cfg.mask_config()
        self.model_cfg = cfg.model_config()
        self.spec = BridgeSpec(self.stft, cfg.kind, self.mask_cfg, BridgeSchedule(cfg.beta_max))
        self.accum = cfg.accumulation_steps(info.world_size)
        self.batch_size = cfg.global_batch
        self.config_hash = cfg.config_hash()
        self.run_config = cfg.to_dict()
        self.skips: dict[str, str] = {}  # path -> reason (this rank)
        self.skip_draws = 0
        self.valid: dict[str, float] = {}
        if cfg.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
        model = build_model(self.model_cfg)  # the loop seeded torch: same weights on every rank
        if cfg.init:
            self._load_init(model, cfg.init)
        self.model = model.to(info.device)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.RAdam(
            params, lr=cfg.lr, weight_decay=cfg.weight_decay, decoupled_weight_decay=True
        )
        if cfg.lr_warmup_steps:
            warmup = cfg.lr_warmup_steps
            self.scheduler = torch.optim.lr_scheduler.LambdaLR(
                self.optimizer, lambda step: min(1.0, (step + 1) / warmup)
            )
        self.provenance = {  # hashed once: an init checkpoint may be gigabytes
            "init": cfg.init,
            "init_sha256": file_sha256(cfg.init) if cfg.init else None,
            "manifests": cfg.manifests,
            "manifest_sha256": hash_files(cfg.manifests),
        }
        self.ddp: DistributedDataParallel | None = None
        if info.distributed:
            ids = [info.device.index] if info.device.type == "cuda" else None
            self.ddp = DistributedDataParallel(self.model, device_ids=ids)

    def _load_init(self, model: nn.Module, path: str) -> None:
        """Start from a (pre-trained) checkpoint with the same network and STFT."""
        loaded, sidecar = load_checkpoint(
            path, map_location="cpu", expect_model_config=self.model_cfg
        )
        if STFTConfig.from_dict(sidecar.get("stft_config", {})) != self.stft:
            raise InputError(f"{path}: the init checkpoint was trained with another STFT config")
        kind = (sidecar.get("extra") or {}).get("kind")
        if kind is not None and kind != self.cfg.kind:
            raise InputError(
                f"{path}: the init checkpoint is of kind {kind!r}, not {self.cfg.kind!r}"
            )
        with torch.no_grad():
            model.load_state_dict(loaded.state_dict(), strict=True)
        log.info("initialised from %s (sha256 %s)", path, sidecar["sha256"][:12])

    # -------------------------------------------------------------- data

    def begin(self, run: LoopRun) -> None:
        cfg, info, start_step = self.cfg, self.info, run.start_step
        entries = read_entries(cfg.manifests, cfg.split)
        kept, low = filter_bandwidth(entries, self.mask_cfg.min_true_sr)
        for path, reason in low:
            self.skips[path] = reason
        if not kept:
            raise InputError(
                f"no usable audio files in {', '.join(cfg.manifests) or 'no manifests'} "
                f"(split {cfg.split!r}): {len(entries)} rows, {len(low)} below the true-rate "
                f"floor {self.mask_cfg.min_true_sr:g} Hz"
            )
        log.info("data: %d files (%d below the true-rate floor skipped) from %d manifest(s)",
                 len(kept), len(low), len(cfg.manifests))  # fmt: skip
        dataset = CropDataset(kept, self.stft, self.mask_cfg, cfg.kind, cfg.t_range, cfg.t_eps,
                              seed=cfg.seed, augment_rolloff=cfg.augment_rolloff)  # fmt: skip
        sampler = RankSampler(
            start_step, cfg.max_steps, cfg.micro_batch, self.accum, info.rank, info.world_size
        )
        loader = DataLoader(dataset, batch_size=cfg.micro_batch, sampler=sampler,
                            num_workers=cfg.num_workers, collate_fn=collate,
                            pin_memory=info.device.type == "cuda", drop_last=False)  # fmt: skip
        self.batches = iter(loader)
        self.validator = self._validator() if info.is_main else None
        if info.is_main:
            truncate_csv(run.run_dir / "valid.csv", start_step)
            log.info(
                "%s model (%d parameters), world %d x micro %d x accum %d = batch %d, %s, "
                "t in [%g, %g], steps %d -> %d on %s", self.model_cfg.widths,
                count_parameters(self.model), info.world_size, cfg.micro_batch, self.accum,
                cfg.global_batch, cfg.precision, *cfg.t_range, start_step, cfg.max_steps,
                info.device,
            )  # fmt: skip

    def _validator(self) -> Validator | None:
        cfg = self.cfg
        if not cfg.valid_manifests or cfg.valid_segments == 0:
            return None
        entries, _ = filter_bandwidth(
            read_entries(cfg.valid_manifests, cfg.valid_split), self.mask_cfg.min_true_sr
        )
        if not entries:
            log.warning("validation: no usable file in %s (split %r)", cfg.valid_manifests,
                        cfg.valid_split)  # fmt: skip
            return None
        waves, skipped = fixed_segments(entries, self.stft, cfg.valid_segments)
        for path, reason in skipped:
            self.skips[path] = reason
        return Validator(waves, self.spec, t_range=cfg.t_range, cutoff_hz=cfg.valid_cutoff_hz,
                         gap_s=cfg.valid_gap_s, n_steps=cfg.valid_steps, device=self.info.device,
                         batch=cfg.micro_batch)  # fmt: skip

    # -------------------------------------------------------------- one step

    def backward(self, step: int) -> StepResult:
        cfg, info = self.cfg, self.info
        torch.manual_seed(derive_seed(cfg.seed, info.rank, step))  # dropout draws of this step
        module = self.ddp if self.ddp is not None else self.model
        loss_sum = torch.zeros((), device=info.device)
        for k in range(self.accum):
            batch = next(self.batches)
            if batch["skipped"]:
                self._record_skips(batch["skipped"])
            sync = self.ddp is None or k == self.accum - 1
            with contextlib.nullcontext() if sync else self.ddp.no_sync():
                loss = bridge_loss(module, batch, self.spec, info.device, cfg.precision)
                (loss / self.accum).backward()
            loss_sum += loss.detach() / self.accum
        return StepResult(float(loss_sum))

    def _record_skips(self, skipped: list[tuple[str, str]]) -> None:
        self.skip_draws += len(skipped)
        for path, reason in skipped:
            if path not in self.skips:
                self.skips[path] = reason
                log.warning("skipped %s (%s) [rank %d]", path, reason, self.info.rank)

    def after_step(self, step: int, run: LoopRun) -> None:
        cfg = self.cfg
        due = step == cfg.max_steps or (cfg.valid_every and step % cfg.valid_every == 0)
        if self.validator and due:
            self.valid = self.validator.run(self.model)
            log.info("step %d validation: %s", step,
                     ", ".join(f"{k} {v:.4g}" for k, v in self.valid.items()))  # fmt: skip
            valid_csv = CsvLog(run.run_dir / "valid.csv", ("step", *sorted(self.valid)))
            valid_csv.write({"step": step, **{k: f"{v:.6g}" for k, v in self.valid.items()}})
            valid_csv.close()
            if run.tensorboard is not None:
                for key, value in self.valid.items():
                    run.tensorboard.add_scalar(f"valid/{key}", value, step)
        if due:
            barrier(self.info)

    # -------------------------------------------------------------- weights and summary

    def save_weights(
        self, path: Path, weights: Mapping[str, torch.Tensor], run: LoopRun, final: bool = False
    ) -> Mapping[str, Any]:
        cfg = self.cfg
        extra = {
            "mask_config": self.mask_cfg.to_dict(),
            "beta_max": cfg.beta_max,
            "kind": cfg.kind,
            "research_use": cfg.research_use,
            "train": {
                "steps": run.step,
                "run_id": run.run_id,
                "config_hash": self.config_hash,
                "global_batch": cfg.global_batch,
                "precision": cfg.precision,
                "seed": cfg.seed,
                **self.provenance,
            },
        }
        return save_checkpoint(path, dict(weights), self.model_cfg.to_dict(), self.stft.to_dict(),
                               cfg.t_range, extra)  # fmt: skip

    def summary(self, run: LoopRun) -> dict[str, Any]:
        reports = gather_to_main(
            self.info, (self.skips, self.skip_draws, weights_digest(self.model))
        )
        barrier(self.info)
        if not self.info.is_main:
            return {}
        skips: dict[str, str] = {}
        for rank_skips, _, _ in reports:
            skips.update(rank_skips)
        digests = [r[2] for r in reports]
        if len(set(digests)) > 1:
            log.warning("ranks hold different weights: %s", digests)
        if skips:
            log.info("skipped files: %s", dict(Counter(skips.values())))
        cfg = self.cfg
        return {
            "world_size": self.info.world_size,
            "accumulation_steps": self.accum,
            "global_batch": cfg.global_batch,
            "precision": cfg.precision,
            "t_range": list(cfg.t_range),
            "valid": self.valid,
            "skipped": dict(Counter(skips.values())),
            "skip_draws": sum(r[1] for r in reports),
            "skipped_files": [
                {"path": p, "reason": r} for p, r in sorted(skips.items())[:MAX_LISTED_SKIPS]
            ],
            "rank_weight_sha256": digests,  # equal when data parallel kept the ranks in sync
            "research_use": cfg.research_use,
        }


def train(
    cfg: TrainConfig,
    run_dir: str | os.PathLike[str],
    resume: bool = False,
    progress: bool = True,
    verbose: bool = True,
    threads: int | None = None,
) -> dict[str, Any]:
    """Run (or resume) a training run in ``run_dir`` under torchrun's environment, if any.

    Returns the summary on rank 0 (``{}`` on other ranks).
    """
    info = init_distributed(cfg.device)
    loop = LoopConfig(
        max_steps=cfg.max_steps,
        seed=derive_seed(cfg.seed, 0),  # identical initial weights on every rank
        grad_clip=cfg.grad_clip,
        checkpoint_every=cfg.checkpoint_every,
        keep_checkpoints=cfg.keep_checkpoints,
        log_every=cfg.log_every,
        threads=threads,
        progress=progress,
        verbose=verbose,
        tensorboard=True,
    )

    try:
        return train_loop(lambda: A2SBTraining(cfg, info), loop, run_dir, resume=resume, info=info)
    finally:
        shutdown(info)
