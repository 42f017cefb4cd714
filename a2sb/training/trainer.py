"""The training loop: pre-training and t-partition fine-tuning on one CPU, one GPU or many (SPEC 6).

Per optimiser step, every rank runs ``accum`` micro-batches (DDP gradient sync on the last one
only), then the gradient norm is clipped to ``grad_clip`` and RAdam (decoupled weight decay)
steps. The loss is eq. 10 over the masked region (:func:`bridge_loss`).

Run directory::

    config.json        resolved TrainConfig (absolute paths)
    train.log          text log (rank 0)
    log.csv            step, loss, grad_norm, lr, samples_per_s, wall_s
    valid.csv          step and the validation metrics (:mod:`a2sb.training.validation`)
    events.out.tfevents.*   TensorBoard
    checkpoints/       resumable state (:mod:`a2sb.training.state`), latest.json
    final.safetensors  (+ final.json sidecar: t_range, extra.mask_config, beta_max, kind, train)
    summary.json       steps, wall time, samples/s, skipped files and why, final loss, validation
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import logging
import math
import os
import resource
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ..bridge import BridgeSchedule
from ..checkpoint import file_sha256, load_checkpoint, save_checkpoint, write_json
from ..errors import InputError
from ..masks import apply_mask
from ..network import build_model, count_parameters
from ..representation import STFTConfig, encode
from . import state as train_state
from .config import TrainConfig
from .dataset import (
    CropDataset,
    RankSampler,
    collate,
    filter_bandwidth,
    fixed_segments,
    read_entries,
)
from .distributed import (
    DistInfo,
    barrier,
    broadcast_from_main,
    derive_seed,
    gather_to_main,
    init_distributed,
    mean_over_ranks,
    shutdown,
)
from .validation import Validator

LOG_COLUMNS = ("step", "loss", "grad_norm", "lr", "samples_per_s", "wall_s")
MAX_LISTED_SKIPS = 100
log = logging.getLogger("a2sb.training")


# ----------------------------------------------------------------------------- the loss


def bridge_loss(
    model: nn.Module,
    batch: dict[str, torch.Tensor],
    stft: STFTConfig,
    kind: str,
    schedule: BridgeSchedule,
    fill_std: float,
    device: torch.device,
    precision: str = "fp32",
    fill_prior: str = "noise",
) -> torch.Tensor:
    """Eq. 10 on a micro-batch: the masked mean of ``(eps(X_t, t) - (X_t - X0) / sigma_t)^2``.

    ``batch`` holds ``wave [B, L]``, ``mask``/``keep [B, N, W]``, ``t [B]``, ``fill``/``z``
    ``[B, C, N, W]`` (:class:`~a2sb.training.dataset.CropDataset`). X0 = encode(wave); X1 =
    X0 (1 - M) + (P + fill_std fill) M (eq. 8; P = 0, or the context estimate when ``fill_prior``
    is "context"); X_t from the bridge marginal (eq. 9) with noise z. The
    loss weight is ``M * keep`` (missing region, inside the file's true bandwidth), each example's
    masked mean is taken over its weighted bins and channels, and the batch loss is the mean of
    the examples' losses, so the gradient does not depend on how a global batch is split over
    devices and accumulation steps. An example with no weighted bin contributes 0.
    ``X_t - X0`` is formed directly (marginal of the pair (0, X1 - X0)) rather than by a
    subtraction that cancels in float32 at small t.
    """
    wave = batch["wave"].to(device, non_blocking=True)
    mask = batch["mask"].to(device, non_blocking=True)
    keep = batch["keep"].to(device, non_blocking=True)
    t = batch["t"].to(device, non_blocking=True)
    fill = batch["fill"].to(device, non_blocking=True)
    z = batch["z"].to(device, non_blocking=True)
    x0 = encode(wave, stft, kind)  # [B, C, N, W]
    x1 = apply_mask(x0, mask, fill_std, fill, prior=fill_prior, rho=stft.rho)
    diff = schedule.marginal(torch.zeros_like(x0), x1 - x0, t, z)  # X_t - X0
    target = diff / schedule.sigma(t, diff)
    x_t = x0 + diff
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        pred = model(x_t, t)
    weight = (mask * keep).unsqueeze(1)  # [B, 1, N, W]
    err = (pred.float() - target) ** 2 * weight
    denom = (weight.sum(dim=(1, 2, 3)) * x0.shape[1]).clamp_min(1.0)
    return (err.sum(dim=(1, 2, 3)) / denom).mean()


# ----------------------------------------------------------------------------- helpers


def weights_digest(model: nn.Module) -> str:
    """sha256 of a model's state (names and bytes, in state-dict order)."""
    digest = hashlib.sha256()
    for name, value in model.state_dict().items():
        digest.update(name.encode())
        digest.update(value.detach().to("cpu").contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class _TqdmHandler(logging.Handler):
    """Log lines on the terminal without breaking the progress bar."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # never let logging stop a run
            self.handleError(record)


def _setup_logging(run_dir: Path, info: DistInfo, verbose: bool) -> list[logging.Handler]:
    log.setLevel(logging.INFO)
    log.propagate = False
    handlers: list[logging.Handler] = []
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    if info.is_main:
        handlers.append(logging.FileHandler(run_dir / "train.log", encoding="utf-8"))
    if verbose or not info.is_main:
        stream = _TqdmHandler()
        stream.setLevel(logging.INFO if info.is_main else logging.WARNING)
        handlers.append(stream)
    for h in handlers:
        h.setFormatter(
            fmt if isinstance(h, logging.FileHandler) else logging.Formatter("%(message)s")
        )
        log.addHandler(h)
    return handlers


def _peak_memory() -> dict[str, float]:
    """Peak resident memory of this process (MiB) and peak CUDA allocation (MiB) if any."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_mib = rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024
    out = {"peak_rss_mib": round(rss_mib, 1)}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["peak_cuda_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return out


def _truncate_csv(path: Path, step: int) -> None:
    """Drop rows logged after ``step`` (a resumed run logs them again)."""
    if not path.exists():
        return
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    kept = [rows[0]] + [r for r in rows[1:] if r and r[0].isdigit() and int(r[0]) <= step]
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(kept)


class _CsvLog:
    """Append-only CSV with a fixed header (rank 0)."""

    def __init__(self, path: Path, columns: tuple[str, ...]) -> None:
        self.path, self.columns = path, columns
        new = not path.exists() or path.stat().st_size == 0
        self.file = open(path, "a", newline="", encoding="utf-8")
        self.writer = csv.DictWriter(self.file, fieldnames=list(columns), extrasaction="ignore")
        if new:
            self.writer.writeheader()
            self.file.flush()

    def write(self, row: dict[str, Any]) -> None:
        self.writer.writerow(row)
        self.file.flush()

    def close(self) -> None:
        self.file.close()


# ----------------------------------------------------------------------------- the trainer


class Trainer:
    """One training run in ``run_dir`` (fresh, or resumed from its latest checkpoint)."""

    def __init__(
        self,
        cfg: TrainConfig,
        run_dir: Path,
        info: DistInfo,
        resume: bool = False,
        progress: bool = True,
    ) -> None:
        self.cfg, self.run_dir, self.info, self.progress = cfg, Path(run_dir), info, progress
        self.ckpt_dir = self.run_dir / "checkpoints"
        self.stft = cfg.stft_config()
        self.mask_cfg = cfg.mask_config()
        self.model_cfg = cfg.model_config()
        self.schedule = BridgeSchedule(beta_max=cfg.beta_max)
        self.accum = cfg.accumulation_steps(info.world_size)
        self.skips: dict[str, str] = {}  # path -> reason (this rank)
        self.skip_draws = 0
        self.nonfinite_steps = 0
        check_run_dir(self.run_dir, resume)
        self.resume = resume

    # -------------------------------------------------------------- setup

    def _build(self) -> None:
        cfg, info = self.cfg, self.info
        if cfg.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
        torch.manual_seed(derive_seed(cfg.seed, 0))  # identical initial weights on every rank
        model = build_model(self.model_cfg)
        if cfg.init:
            self._load_init(model, cfg.init)
        self.model = model.to(info.device)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.RAdam(
            self.params, lr=cfg.lr, weight_decay=cfg.weight_decay, decoupled_weight_decay=True
        )
        self._provenance = {  # hashed once: an init checkpoint may be gigabytes
            "init": cfg.init,
            "init_sha256": file_sha256(cfg.init) if cfg.init else None,
            "manifests": cfg.manifests,
            "manifest_sha256": {p: file_sha256(p) for p in cfg.manifests if Path(p).is_file()},
        }
        self.start_step = 0
        self.run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
        self.run_id = self._broadcast_run_id()
        if self.resume:
            if info.is_main:  # temporary files of a write that a kill interrupted
                for tmp in self.ckpt_dir.glob(".*.tmp"):
                    tmp.unlink(missing_ok=True)
            found = train_state.load_latest(self.ckpt_dir)
            if found is None:
                log.info("--resume: no checkpoint in %s yet, starting from step 0", self.ckpt_dir)
            else:
                if found.meta.get("config_hash") != cfg.config_hash():
                    raise InputError(
                        f"{self.ckpt_dir}: the checkpoint was written with another config "
                        f"(hash {str(found.meta.get('config_hash'))[:12]} vs {cfg.config_hash()[:12]})"
                    )
                train_state.restore(found, self.model, self.optimizer)
                self.start_step = found.step
                self.run_id = found.meta.get("run_id", self.run_id)
                log.info("resumed from step %d (%s)", found.step, found.weights.name)
        self.ddp: DistributedDataParallel | None = None
        if info.distributed:
            ids = [info.device.index] if info.device.type == "cuda" else None
            self.ddp = DistributedDataParallel(self.model, device_ids=ids)

    def _broadcast_run_id(self) -> str:
        return broadcast_from_main(self.info, self.run_id)

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

    def _loader(self) -> DataLoader:
        cfg, info = self.cfg, self.info
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
        log.info(
            "data: %d files (%d below the true-rate floor skipped) from %d manifest(s)",
            len(kept),
            len(low),
            len(cfg.manifests),
        )
        dataset = CropDataset(
            kept,
            self.stft,
            self.mask_cfg,
            cfg.kind,
            cfg.t_range,
            cfg.t_eps,
            seed=cfg.seed,
            augment_rolloff=cfg.augment_rolloff,
        )
        sampler = RankSampler(
            self.start_step, cfg.max_steps, cfg.micro_batch, self.accum, info.rank, info.world_size
        )
        return DataLoader(
            dataset,
            batch_size=cfg.micro_batch,
            sampler=sampler,
            num_workers=cfg.num_workers,
            collate_fn=collate,
            pin_memory=info.device.type == "cuda",
            drop_last=False,
        )

    def _validator(self) -> Validator | None:
        cfg = self.cfg
        if not cfg.valid_manifests or cfg.valid_segments == 0:
            return None
        entries, _ = filter_bandwidth(
            read_entries(cfg.valid_manifests, cfg.valid_split), self.mask_cfg.min_true_sr
        )
        if not entries:
            log.warning(
                "validation: no usable file in %s (split %r)", cfg.valid_manifests, cfg.valid_split
            )
            return None
        waves, skipped = fixed_segments(entries, self.stft, cfg.valid_segments)
        for path, reason in skipped:
            self.skips[path] = reason
        return Validator(
            waves,
            self.stft,
            cfg.kind,
            self.schedule,
            self.mask_cfg.fill_std,
            cfg.t_range,
            cfg.valid_cutoff_hz,
            cfg.valid_gap_s,
            cfg.valid_steps,
            self.info.device,
            cfg.micro_batch,
            self.mask_cfg.fill_prior,
        )

    # -------------------------------------------------------------- bookkeeping

    def _extra(self, step: int) -> dict[str, Any]:
        """Sidecar ``extra`` of every checkpoint (read by :class:`a2sb.restore.Restorer`)."""
        cfg = self.cfg
        return {
            "mask_config": self.mask_cfg.to_dict(),
            "beta_max": cfg.beta_max,
            "kind": cfg.kind,
            "research_use": cfg.research_use,
            "train": {
                "steps": step,
                "run_id": self.run_id,
                "config_hash": cfg.config_hash(),
                "global_batch": cfg.global_batch,
                "precision": cfg.precision,
                "seed": cfg.seed,
                **self._provenance,
            },
        }

    def _save_state(self, step: int) -> None:
        meta = {
            "run_id": self.run_id,
            "config_hash": self.cfg.config_hash(),
            "world_size": self.info.world_size,
            "data_position": {"samples_drawn": step * self.cfg.global_batch, "seed": self.cfg.seed},
            "rng": {"scheme": "torch.manual_seed(derive_seed(seed, rank, step)) every step"},
        }
        train_state.save_state(
            self.ckpt_dir,
            step,
            self.model,
            self.optimizer,
            self.model_cfg.to_dict(),
            self.stft.to_dict(),
            self.cfg.t_range,
            self._extra(step),
            meta,
            self.cfg.keep_checkpoints,
        )

    def _record_skips(self, skipped: list[tuple[str, str]]) -> None:
        self.skip_draws += len(skipped)
        for path, reason in skipped:
            if path not in self.skips:
                self.skips[path] = reason
                log.warning("skipped %s (%s) [rank %d]", path, reason, self.info.rank)

    # -------------------------------------------------------------- the loop

    def run(self) -> dict[str, Any]:
        """Train to ``max_steps``; returns the summary (rank 0; other ranks get ``{}``)."""
        cfg, info = self.cfg, self.info
        t_start = time.perf_counter()
        self._build()
        loader = self._loader()
        validator = self._validator() if info.is_main else None
        module = self.ddp if self.ddp is not None else self.model
        writer = csv_log = None
        if info.is_main:
            from torch.utils.tensorboard import SummaryWriter

            _truncate_csv(self.run_dir / "log.csv", self.start_step)
            _truncate_csv(self.run_dir / "valid.csv", self.start_step)
            csv_log = _CsvLog(self.run_dir / "log.csv", LOG_COLUMNS)
            writer = SummaryWriter(str(self.run_dir), purge_step=self.start_step or None)
            log.info(
                "run %s: %s model (%d parameters), world %d x micro %d x accum %d = batch %d, "
                "%s, t in [%g, %g], steps %d -> %d on %s",
                self.run_id,
                self.model_cfg.widths,
                count_parameters(self.model),
                info.world_size,
                cfg.micro_batch,
                self.accum,
                cfg.global_batch,
                cfg.precision,
                *cfg.t_range,
                self.start_step,
                cfg.max_steps,
                info.device,
            )
        step = self.start_step
        last_loss = math.nan
        valid: dict[str, float] = {}
        train_time = 0.0
        window = {"loss": 0.0, "steps": 0, "time": 0.0}
        bar = tqdm(
            total=cfg.max_steps,
            initial=step,
            desc="train",
            unit="step",
            dynamic_ncols=True,
            disable=not (self.progress and info.is_main),
        )
        batches = iter(loader)
        self.model.train()
        while step < cfg.max_steps:
            tic = time.perf_counter()
            torch.manual_seed(derive_seed(cfg.seed, info.rank, step))  # dropout draws of this step
            lr = (
                cfg.lr * min(1.0, (step + 1) / cfg.lr_warmup_steps)
                if cfg.lr_warmup_steps
                else cfg.lr
            )
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            loss_sum = torch.zeros((), device=info.device)
            for k in range(self.accum):
                batch = next(batches)
                if batch["skipped"]:
                    self._record_skips(batch["skipped"])
                sync = self.ddp is None or k == self.accum - 1
                ctx = contextlib.nullcontext() if sync else self.ddp.no_sync()
                with ctx:
                    loss = bridge_loss(
                        module,
                        batch,
                        self.stft,
                        cfg.kind,
                        self.schedule,
                        self.mask_cfg.fill_std,
                        info.device,
                        cfg.precision,
                        self.mask_cfg.fill_prior,
                    )
                    (loss / self.accum).backward()
                loss_sum += loss.detach() / self.accum
            grad_norm = torch.nn.utils.clip_grad_norm_(self.params, cfg.grad_clip)
            if torch.isfinite(grad_norm):
                self.optimizer.step()
            else:  # a bf16 overflow: drop the step rather than poison the weights
                self.nonfinite_steps += 1
                log.warning("step %d: non-finite gradient norm, update skipped", step + 1)
            self.optimizer.zero_grad(set_to_none=True)
            step += 1
            elapsed = time.perf_counter() - tic
            train_time += elapsed
            window["loss"] += float(loss_sum)
            window["steps"] += 1
            window["time"] += elapsed
            bar.update(1)
            if step % cfg.log_every == 0 or step == cfg.max_steps:
                loss_mean, gnorm = mean_over_ranks(
                    info, [window["loss"] / window["steps"], float(grad_norm)]
                )
                rate = cfg.global_batch * window["steps"] / max(window["time"], 1e-9)
                last_loss = loss_mean
                if info.is_main:
                    row = {
                        "step": step,
                        "loss": f"{loss_mean:.6g}",
                        "grad_norm": f"{gnorm:.6g}",
                        "lr": f"{lr:.6g}",
                        "samples_per_s": f"{rate:.4g}",
                        "wall_s": f"{time.perf_counter() - t_start:.1f}",
                    }
                    csv_log.write(row)
                    for key in ("loss", "grad_norm", "lr", "samples_per_s"):
                        writer.add_scalar(f"train/{key}", float(row[key]), step)
                    bar.set_postfix(loss=f"{loss_mean:.4f}", sps=f"{rate:.3g}")
                    log.info(
                        "step %d loss %.5f grad_norm %.4f lr %.3g samples/s %.3g",
                        step,
                        loss_mean,
                        gnorm,
                        lr,
                        rate,
                    )
                window = {"loss": 0.0, "steps": 0, "time": 0.0}
            if step % cfg.checkpoint_every == 0 or step == cfg.max_steps:
                if info.is_main:
                    self._save_state(step)
                barrier(info)
            if validator and (
                step == cfg.max_steps or (cfg.valid_every and step % cfg.valid_every == 0)
            ):
                valid = self._validate(validator, step, writer)
            if cfg.valid_every and step % cfg.valid_every == 0 or step == cfg.max_steps:
                barrier(info)
        bar.close()
        summary = self._finish(step, last_loss, valid, train_time, time.perf_counter() - t_start)
        if info.is_main:
            csv_log.close()
            writer.close()
        return summary

    def _validate(self, validator: Validator, step: int, writer: Any) -> dict[str, float]:
        tic = time.perf_counter()
        metrics = validator.run(self.model)
        log.info(
            "step %d validation (%.1f s): %s",
            step,
            time.perf_counter() - tic,
            ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()),
        )
        valid_csv = _CsvLog(self.run_dir / "valid.csv", ("step", *sorted(metrics)))
        valid_csv.write({"step": step, **{k: f"{v:.6g}" for k, v in metrics.items()}})
        valid_csv.close()
        for key, value in metrics.items():
            writer.add_scalar(f"valid/{key}", value, step)
        return metrics

    def _finish(
        self, step: int, last_loss: float, valid: dict[str, float], train_time: float, wall: float
    ) -> dict[str, Any]:
        cfg, info = self.cfg, self.info
        report = (self.skips, self.skip_draws, self.nonfinite_steps, weights_digest(self.model))
        all_reports = gather_to_main(info, report)
        if not info.is_main:
            barrier(info)
            return {}
        skips: dict[str, str] = {}
        draws = nonfinite = 0
        digests = [r[3] for r in all_reports]
        if len(set(digests)) > 1:
            log.warning("ranks hold different weights: %s", digests)
        for rank_skips, rank_draws, rank_nonfinite, _ in all_reports:
            skips.update(rank_skips)
            draws += rank_draws
            nonfinite = max(nonfinite, rank_nonfinite)
        final = self.run_dir / "final.safetensors"
        sidecar = save_checkpoint(
            final,
            self.model,
            self.model_cfg.to_dict(),
            self.stft.to_dict(),
            cfg.t_range,
            self._extra(step),
        )
        trained = step - self.start_step
        summary = {
            "run_id": self.run_id,
            "steps": step,
            "steps_this_run": trained,
            "resumed_from": self.start_step if self.resume else None,
            "world_size": info.world_size,
            "accumulation_steps": self.accum,
            "global_batch": cfg.global_batch,
            "precision": cfg.precision,
            "t_range": list(cfg.t_range),
            "wall_time_s": round(wall, 3),
            "train_time_s": round(train_time, 3),
            "samples_per_s": round(cfg.global_batch * trained / train_time, 4)
            if train_time > 0
            else None,
            "final_loss": None if math.isnan(last_loss) else last_loss,
            "valid": valid,
            "skipped": dict(Counter(skips.values())),
            "skip_draws": draws,
            "skipped_files": [
                {"path": p, "reason": r} for p, r in sorted(skips.items())[:MAX_LISTED_SKIPS]
            ],
            "nonfinite_steps": nonfinite,
            "rank_weight_sha256": digests,  # one per rank: equal when data parallel kept them in sync
            "final_checkpoint": final.name,
            "final_sha256": sidecar["sha256"],
            "config_hash": cfg.config_hash(),
            "research_use": cfg.research_use,
            "device": str(info.device),
            "torch_version": torch.__version__,
            **_peak_memory(),
        }
        write_json(self.run_dir / "summary.json", summary)
        log.info(
            "done: %d steps, %.1f s, %.3g samples/s, final loss %s, skipped %s",
            step,
            wall,
            summary["samples_per_s"] or 0.0,
            summary["final_loss"],
            summary["skipped"] or "none",
        )
        barrier(info)
        return summary


# ----------------------------------------------------------------------------- entry point


def check_run_dir(run_dir: Path, resume: bool) -> None:
    """A fresh run must not overwrite a previous one."""
    if not resume and (run_dir / "checkpoints" / train_state.LATEST).exists():
        raise InputError(
            f"{run_dir}: holds a previous run; pass --resume to continue it or choose another --out"
        )


def prepare_run_dir(cfg: TrainConfig, run_dir: Path) -> None:
    """Create ``run_dir`` and write the resolved config (rank 0; a resumed run may have a new
    ``max_steps``)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "config.json", cfg.to_dict())


def train(
    cfg: TrainConfig,
    run_dir: str | os.PathLike[str],
    resume: bool = False,
    progress: bool = True,
    verbose: bool = True,
) -> dict[str, Any]:
    """Run (or resume) a training run in ``run_dir`` under torchrun's environment, if any.

    Returns the summary on rank 0 (``{}`` on other ranks).
    """
    run_dir = Path(run_dir)
    info = init_distributed(cfg.device)
    handlers: list[logging.Handler] = []
    try:
        check_run_dir(run_dir, resume)
        if info.is_main:
            prepare_run_dir(cfg, run_dir)
        barrier(info)
        handlers = _setup_logging(run_dir, info, verbose)
        trainer = Trainer(cfg, run_dir, info, resume=resume, progress=progress)
        return trainer.run()
    finally:
        for h in handlers:
            log.removeHandler(h)
            h.close()
        shutdown(info)
