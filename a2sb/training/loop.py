"""The one training loop of the project: A2SB and every learned baseline train through it.

The loop owns what every method shares (audiocraft's solver base is the model): threads, the
seed the model is built from, gradient clipping, the non-finite policy, one EMA of the weights,
``log.csv``, step checkpoints, resume after a kill, the final weights and ``summary.json``. A
method (:class:`TrainingMethod`) brings only what is its own: its defaults, its batches and its
loss, as ``backward(step)``.

One optimiser step:

1. ``method.backward(step)``: forward and backward of the step's batch (several micro-batches,
   a GAN discriminator update or data-parallel sync are the method's business); returns the loss;
2. the gradient norm of ``method.model`` is clipped to ``grad_clip`` (0: measured, not clipped);
3. non-finite loss or gradient norm: the update is skipped and counted; ``nonfinite_limit``
   such steps in a row stop the run with an error (the last checkpoint stays resumable);
4. ``optimizer.step()``, then the EMA (decay ``min(ema, (1 + n) / (10 + n))`` at step ``n``),
   then ``scheduler.step()`` (every step, so the learning rate is a function of the step).

Randomness: torch is seeded with ``seed`` before the method is built; a step checkpoint holds
torch's RNG state and every generator the method declares in ``stateful()``, so a resumed run
continues bit for bit (batch makers draw from ``(seed, step)``).

Run folder (rank 0 writes it)::

    config.json        the method's resolved config
    train.log          text log
    log.csv            step, loss, grad_norm, lr, samples_per_s, wall_s (+ the method's columns):
                       means over each ``log_every`` window
    events.out.tfevents.*   TensorBoard scalars (with ``tensorboard``)
    checkpoints/       resumable step checkpoints (:mod:`a2sb.training.state`)
    final.safetensors  the final weights (EMA when set) and the method's sidecar
    summary.json       steps, times, losses, non-finite steps, the method's own fields
"""

from __future__ import annotations

import contextlib
import csv
import logging
import math
import resource
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from torch import nn
from tqdm.auto import tqdm

from ..errors import A2SBError, CheckpointError, InputError
from ..io.atomic import write_json
from . import state as train_state
from .distributed import DistInfo, barrier, broadcast_from_main, mean_over_ranks

log = logging.getLogger("a2sb.training")

BASE_COLUMNS = ("step", "loss", "grad_norm", "lr", "samples_per_s", "wall_s")


class TrainingError(A2SBError):
    """A run that cannot go on (e.g. the loss stayed non-finite); its last checkpoint remains."""


@dataclass(frozen=True)
class LoopConfig:
    """The settings the loop owns; each method maps its own config keys onto them."""

    max_steps: int
    seed: int = 0  # torch's seed when the method builds its model
    grad_clip: float = 0.0  # clip the gradient norm to this (0: no clipping)
    ema: float | None = None  # EMA decay of the weights written as final (None: no EMA)
    checkpoint_every: int = 0  # step checkpoints every N steps and at the end (0: at the end)
    keep_checkpoints: int = 3  # step checkpoints kept on disk (0: all)
    log_every: int = 10
    nonfinite_limit: int = 10  # this many non-finite steps in a row stop the run
    max_wall_s: float | None = None  # stop (resumably) after this many seconds
    threads: int | None = None  # torch CPU threads (None: torch's choice)
    progress: bool = True
    verbose: bool = True  # log lines on stderr as well as in train.log
    tensorboard: bool = False
    name: str = "train"  # progress-bar label

    def __post_init__(self) -> None:
        if self.max_steps < 0 or self.log_every < 1 or self.checkpoint_every < 0:
            raise InputError("max_steps >= 0, log_every >= 1 and checkpoint_every >= 0 needed")
        if self.ema is not None and not 0.0 <= self.ema < 1.0:
            raise InputError(f"ema must lie in [0, 1), got {self.ema}")


@dataclass
class StepResult:
    """What ``backward`` reports: the step's loss and any further values to log (window means)."""

    loss: float
    values: dict[str, float] = field(default_factory=dict)


class TrainingMethod:
    """A method as the loop sees it. Subclasses set the attributes and implement
    :meth:`backward` and :meth:`save_weights`; the other hooks are optional."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any = None  # a torch LR scheduler stepped after every optimiser step
    batch_size: int = 1  # samples per optimiser step over all ranks (for samples/s)
    config_hash: str = ""  # a run resumes only from checkpoints of the same hash
    run_config: Mapping[str, Any] = {}  # written to config.json
    log_columns: tuple[str, ...] = ()  # extra log.csv columns (keys of StepResult.values)

    def begin(self, run: LoopRun) -> None:
        """Called once before the first step (``run.start_step`` > 0 after a resume)."""

    def backward(self, step: int) -> StepResult:
        """Forward and backward of step ``step`` (0-based); gradients are zero on entry."""
        raise NotImplementedError

    def stateful(self) -> dict[str, Any]:
        """Further objects a checkpoint must hold, by name: modules, optimisers, schedulers,
        ``torch.Generator`` s."""
        return {}

    def after_step(self, step: int, run: LoopRun) -> None:
        """Called after every optimiser step (``step`` counts finished steps), on every rank."""

    def save_weights(
        self, path: Path, weights: Mapping[str, torch.Tensor], run: LoopRun, final: bool = False
    ) -> Mapping[str, Any]:
        """Write ``weights`` (of step ``run.step``) as a usable checkpoint with its sidecar;
        return the sidecar, which holds the file's ``sha256``. ``final``: the run's final weights
        (the EMA when the loop keeps one; step checkpoints hold the raw weights)."""
        raise NotImplementedError

    def summary(self, run: LoopRun) -> dict[str, Any]:
        """Extra ``summary.json`` fields; called on every rank (may be collective)."""
        return {}


@dataclass
class LoopRun:
    """The run as the hooks see it."""

    run_dir: Path
    info: DistInfo
    run_id: str
    start_step: int = 0
    step: int = 0  # optimiser steps finished
    resumed: bool = False
    tensorboard: Any = None  # SummaryWriter on rank 0 with ``tensorboard``


# ----------------------------------------------------------------------------- state (de)serialisation


def _optimizer_state(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict, dict]:
    """An optimiser's ``state_dict`` as (tensors, JSON-ready rest)."""
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, entry in sd["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.{pid}.{key}"] = value
            else:
                scalars.setdefault(str(pid), {})[key] = value
    groups = [
        {k: (list(v) if isinstance(v, tuple) else v) for k, v in group.items()}
        for group in sd["param_groups"]
    ]
    return tensors, {"param_groups": groups, "scalars": scalars}


def _load_optimizer(
    prefix: str, opt: torch.optim.Optimizer, tensors: Mapping[str, torch.Tensor], rest: Mapping
) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith(prefix + "."):
            pid, key = name[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(pid), {})[key] = value
    for pid, entry in rest.get("scalars", {}).items():
        state.setdefault(int(pid), {}).update(entry)
    groups = []
    for group in rest["param_groups"]:
        group = dict(group)
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
        groups.append(group)
    opt.load_state_dict({"state": state, "param_groups": groups})


def pack_state(objects: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Named modules, optimisers, schedulers, generators and tensors -> (tensors, JSON)."""
    tensors: dict[str, torch.Tensor] = {}
    record: dict[str, Any] = {}
    for name, obj in objects.items():
        if isinstance(obj, nn.Module):
            tensors.update({f"{name}.{k}": v for k, v in obj.state_dict().items()})
        elif isinstance(obj, torch.optim.Optimizer):
            t, rest = _optimizer_state(name, obj)
            tensors.update(t)
            record[name] = rest
        elif isinstance(obj, torch.Generator):
            tensors[name] = obj.get_state()
        elif isinstance(obj, torch.Tensor):
            tensors[name] = obj
        elif hasattr(obj, "state_dict"):  # an LR scheduler
            record[name] = {k: v for k, v in obj.state_dict().items() if k != "lr_lambdas"}
        else:
            raise TypeError(f"cannot checkpoint {name!r} of type {type(obj).__name__}")
    return tensors, record


def unpack_state(
    objects: Mapping[str, Any], tensors: Mapping[str, torch.Tensor], record: Mapping[str, Any]
) -> None:
    """Inverse of :func:`pack_state`, in place."""
    for name, obj in objects.items():
        if isinstance(obj, nn.Module):
            sub = {k[len(name) + 1 :]: v for k, v in tensors.items() if k.startswith(name + ".")}
            obj.load_state_dict(sub, strict=True)
        elif isinstance(obj, torch.optim.Optimizer):
            _load_optimizer(name, obj, tensors, record[name])
        elif isinstance(obj, torch.Generator):
            obj.set_state(tensors[name])
        elif isinstance(obj, torch.Tensor):
            with torch.no_grad():
                obj.copy_(tensors[name])
        else:
            saved = dict(record[name])
            current = obj.state_dict()
            if "lr_lambdas" in current:
                saved["lr_lambdas"] = current["lr_lambdas"]
            obj.load_state_dict(saved)


# ----------------------------------------------------------------------------- small helpers


class _TqdmHandler(logging.Handler):
    """Log lines on the terminal without breaking the progress bar."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # never let logging stop a run
            self.handleError(record)


@contextlib.contextmanager
def run_logging(run_dir: Path, info: DistInfo, verbose: bool) -> Iterator[None]:
    """``train.log`` on rank 0, and the terminal (warnings only on other ranks)."""
    log.setLevel(logging.INFO)
    log.propagate = False
    handlers: list[logging.Handler] = []
    if info.is_main:
        file = logging.FileHandler(run_dir / "train.log", encoding="utf-8")
        file.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
        )
        handlers.append(file)
    if verbose or not info.is_main:
        stream = _TqdmHandler()
        stream.setLevel(logging.INFO if info.is_main else logging.WARNING)
        stream.setFormatter(logging.Formatter("%(message)s"))
        handlers.append(stream)
    for h in handlers:
        log.addHandler(h)
    try:
        yield
    finally:
        for h in handlers:
            log.removeHandler(h)
            h.close()


def peak_memory() -> dict[str, float]:
    """Peak resident memory of this process (MiB) and peak CUDA allocation (MiB) if any."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_mib = rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024
    out = {"peak_rss_mib": round(rss_mib, 1)}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["peak_cuda_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return out


def truncate_csv(path: Path, step: int) -> None:
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


class CsvLog:
    """Append-only CSV with a fixed header, flushed every row."""

    def __init__(self, path: Path, columns: tuple[str, ...]) -> None:
        new = not path.exists() or path.stat().st_size == 0
        self.file = open(path, "a", newline="", encoding="utf-8")  # noqa: SIM115
        self.writer = csv.DictWriter(self.file, fieldnames=list(columns), extrasaction="ignore")
        if new:
            self.writer.writeheader()
            self.file.flush()

    def write(self, row: Mapping[str, Any]) -> None:
        self.writer.writerow(row)
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def check_run_dir(run_dir: Path, resume: bool) -> None:
    """A fresh run must not overwrite a previous one."""
    if not resume and (run_dir / "checkpoints" / train_state.LATEST).exists():
        raise InputError(
            f"{run_dir}: holds a previous run; pass --resume to continue it or choose another --out"
        )


def check_resumable(run_dir: Path, config_hash: str) -> int:
    """The step a run in ``run_dir`` would resume from (0: nothing to resume); an
    :class:`InputError` when its checkpoints belong to another config."""
    meta = train_state.latest_record(run_dir / "checkpoints")
    if meta is None:
        return 0
    if meta.get("config_hash") != config_hash:
        raise InputError(
            f"{run_dir}: its checkpoints were written with another config "
            f"(hash {str(meta.get('config_hash'))[:12]} vs {config_hash[:12]})"
        )
    return int(meta["step"])


# ----------------------------------------------------------------------------- the loop


class _Loop:
    def __init__(self, method: TrainingMethod, cfg: LoopConfig, run: LoopRun) -> None:
        self.method, self.cfg, self.run = method, cfg, run
        self.params = [p for p in method.model.parameters() if p.requires_grad]
        self.ema: dict[str, torch.Tensor] | None = None
        if cfg.ema is not None:
            self.ema = {k: p.detach().clone() for k, p in method.model.named_parameters()}
        self.nonfinite = 0

    def objects(self) -> dict[str, Any]:
        """Everything a step checkpoint holds besides the model's weights."""
        objects: dict[str, Any] = {
            "optimizer": self.method.optimizer,
            "rng.torch": torch.get_rng_state(),
        }
        if self.method.scheduler is not None:
            objects["scheduler"] = self.method.scheduler
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            for i, s in enumerate(torch.cuda.get_rng_state_all()):
                objects[f"rng.cuda{i}"] = s
        for name, value in (self.ema or {}).items():
            objects[f"ema.{name}"] = value
        for name, obj in self.method.stateful().items():
            objects[f"method.{name}"] = obj
        return objects

    def save(self, step: int) -> None:
        tensors, record = pack_state(self.objects())
        record.update(
            run_id=self.run.run_id,
            config_hash=self.method.config_hash,
            world_size=self.run.info.world_size,
            nonfinite_steps=self.nonfinite,
        )

        def weights(path: Path) -> Mapping[str, Any]:
            return self.method.save_weights(path, self.method.model.state_dict(), self.run)

        train_state.save_state(
            self.run.run_dir / "checkpoints",
            step,
            weights,
            tensors,
            record,
            self.cfg.keep_checkpoints,
        )

    def restore(self) -> int:
        ckpt_dir = self.run.run_dir / "checkpoints"
        if self.run.info.is_main:  # temporary files of a write that a kill interrupted
            for tmp in ckpt_dir.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)
        found = train_state.load_latest(ckpt_dir)
        if found is None:
            log.info("--resume: no checkpoint in %s yet, starting from step 0", ckpt_dir)
            return 0
        check_resumable(self.run.run_dir, self.method.config_hash)
        try:
            weights = safetensors.torch.load_file(str(found.weights))
            self.method.model.load_state_dict(weights, strict=True)
        except (RuntimeError, OSError) as err:
            first = str(err).splitlines()[0]
            raise CheckpointError(
                f"{found.weights}: cannot restore the weights ({first})"
            ) from None
        objects = {k: v for k, v in self.objects().items() if not k.startswith("rng.")}
        unpack_state(objects, found.tensors, found.meta)
        torch.set_rng_state(found.tensors["rng.torch"])
        cuda = sorted((int(k[8:]), v) for k, v in found.tensors.items() if k.startswith("rng.cuda"))
        if cuda and len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([state for _, state in cuda])
        elif cuda:
            log.warning("CUDA RNG states of %d devices not restored on %d", len(cuda),
                        torch.cuda.device_count())  # fmt: skip
        self.nonfinite = int(found.meta.get("nonfinite_steps", 0))
        self.run.run_id = found.meta.get("run_id", self.run.run_id)
        log.info("resumed from step %d (%s)", found.step, found.weights.name)
        return found.step

    def final_weights(self) -> dict[str, torch.Tensor]:
        weights = dict(self.method.model.state_dict())
        if self.ema is not None:
            weights.update(self.ema)
        return weights

    @torch.no_grad()
    def update_ema(self, step: int) -> None:
        if self.ema is None:
            return
        decay = min(float(self.cfg.ema), (1 + step) / (10 + step))
        for name, p in self.method.model.named_parameters():
            self.ema[name].lerp_(p.detach(), 1.0 - decay)


def train_loop(
    make_method: Callable[[], TrainingMethod],
    cfg: LoopConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    info: DistInfo | None = None,
) -> dict[str, Any]:
    """Build the method (seeded) and train it to ``cfg.max_steps`` in ``run_dir``; with
    ``resume``, continue from the run's latest step checkpoint.

    Returns the summary on rank 0 (``{}`` on other ranks).
    """
    run_dir = Path(run_dir)
    info = info or DistInfo()
    check_run_dir(run_dir, resume)
    if info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
    barrier(info)
    with run_logging(run_dir, info, cfg.verbose):
        return _train(make_method, cfg, run_dir, resume, info)


def _train(
    make_method: Callable[[], TrainingMethod],
    cfg: LoopConfig,
    run_dir: Path,
    resume: bool,
    info: DistInfo,
) -> dict[str, Any]:
    t_start = time.perf_counter()
    if cfg.threads:
        torch.set_num_threads(int(cfg.threads))
    torch.manual_seed(cfg.seed)
    method = make_method()
    if info.is_main:
        write_json(run_dir / "config.json", dict(method.run_config))
    run_id = broadcast_from_main(info, f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}")
    run = LoopRun(run_dir=run_dir, info=info, run_id=run_id, resumed=resume)
    loop = _Loop(method, cfg, run)
    start = loop.restore() if resume else 0
    run.start_step = run.step = start
    method.begin(run)
    columns = BASE_COLUMNS + tuple(method.log_columns)
    csv_log = None
    if info.is_main:
        truncate_csv(run_dir / "log.csv", start)
        csv_log = CsvLog(run_dir / "log.csv", columns)
        if cfg.tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            run.tensorboard = SummaryWriter(str(run_dir), purge_step=start or None)
    step, last_loss, train_time, stopped_early, consecutive = start, math.nan, 0.0, False, 0
    window: dict[str, float] = {}
    bar = tqdm(total=cfg.max_steps, initial=step, desc=cfg.name, unit="step", dynamic_ncols=True,
               file=sys.stderr, disable=not (cfg.progress and info.is_main))  # fmt: skip
    method.model.train()
    try:
        while step < cfg.max_steps:
            tic = time.perf_counter()
            method.optimizer.zero_grad(set_to_none=True)
            result = method.backward(step)
            clip = cfg.grad_clip if cfg.grad_clip > 0 else math.inf
            grad_norm = float(torch.nn.utils.clip_grad_norm_(loop.params, clip))
            lr = float(method.optimizer.param_groups[0]["lr"])
            if math.isfinite(result.loss) and math.isfinite(grad_norm):
                method.optimizer.step()
                loop.update_ema(step)
                consecutive = 0
            else:
                loop.nonfinite += 1
                consecutive += 1
                log.warning("step %d: non-finite loss or gradient norm, update skipped", step + 1)
                if consecutive >= cfg.nonfinite_limit:
                    raise TrainingError(
                        f"{run_dir}: {consecutive} non-finite steps in a row up to step {step + 1}; "
                        f"stopped (resume continues from the last checkpoint)"
                    )
            if method.scheduler is not None:
                method.scheduler.step()
            step += 1
            run.step = step
            elapsed = time.perf_counter() - tic
            train_time += elapsed
            for key, value in (("loss", result.loss), *result.values.items()):
                window[key] = window.get(key, 0.0) + float(value)
            window["_steps"] = window.get("_steps", 0.0) + 1
            window["_time"] = window.get("_time", 0.0) + elapsed
            bar.update(1)
            if step % cfg.log_every == 0 or step == cfg.max_steps:
                last_loss = _log_window(
                    method, cfg, run, csv_log, window, step, grad_norm, lr, t_start
                )
                bar.set_postfix(loss=f"{last_loss:.4f}")
                window = {}
            wall_out = cfg.max_wall_s is not None and time.perf_counter() - t_start > cfg.max_wall_s
            if (
                step == cfg.max_steps
                or wall_out
                or (cfg.checkpoint_every and step % cfg.checkpoint_every == 0)
            ):
                if info.is_main:
                    loop.save(step)
                barrier(info)
            method.after_step(step, run)
            if wall_out and step < cfg.max_steps:
                stopped_early = True
                log.info("max_wall_s (%s s) reached after step %d: stopping", cfg.max_wall_s, step)
                break
    finally:
        bar.close()
        if csv_log is not None:
            csv_log.close()
    if window.get("_steps") and math.isnan(last_loss):
        last_loss = window["loss"] / window["_steps"]
    final = run_dir / "final.safetensors"
    sidecar: Mapping[str, Any] = {}
    if info.is_main:
        sidecar = method.save_weights(final, loop.final_weights(), run, final=True)
    extra = method.summary(run)
    if run.tensorboard is not None:
        run.tensorboard.close()
    if not info.is_main:
        return {}
    trained = step - start
    summary = {
        "run_id": run.run_id,
        "steps": step,
        "steps_this_run": trained,
        "resumed_from": start if resume else None,
        "stopped_early": stopped_early,
        "wall_time_s": round(time.perf_counter() - t_start, 3),
        "train_time_s": round(train_time, 3),
        "samples_per_s": round(method.batch_size * trained / train_time, 4)
        if train_time > 0
        else None,
        "final_loss": None if math.isnan(last_loss) else last_loss,
        "nonfinite_steps": loop.nonfinite,
        "ema": cfg.ema,
        "final_checkpoint": final.name,
        "final_sha256": sidecar.get("sha256"),
        "config_hash": method.config_hash,
        "device": str(info.device),
        "threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        **peak_memory(),
        **extra,
    }
    write_json(run_dir / "summary.json", summary)
    log.info("done: %d steps in %.1f s, final loss %s -> %s", step, summary["wall_time_s"],
             summary["final_loss"], final)  # fmt: skip
    return summary


def _log_window(
    method: TrainingMethod,
    cfg: LoopConfig,
    run: LoopRun,
    csv_log: CsvLog | None,
    window: dict[str, float],
    step: int,
    grad_norm: float,
    lr: float,
    t_start: float,
) -> float:
    """Write one log.csv row (window means over ranks); returns the window's mean loss."""
    keys = ["loss", *method.log_columns]
    n = window["_steps"]
    means = mean_over_ranks(run.info, [window.get(k, math.nan) / n for k in keys] + [grad_norm])
    values = dict(zip(keys, means[:-1]))
    rate = method.batch_size * n / max(window["_time"], 1e-9)
    if csv_log is not None:
        row = {"step": step, "grad_norm": f"{means[-1]:.6g}", "lr": f"{lr:.6g}",
               "samples_per_s": f"{rate:.4g}", "wall_s": f"{time.perf_counter() - t_start:.1f}",
               **{k: f"{v:.6g}" for k, v in values.items()}}  # fmt: skip
        csv_log.write(row)
        if run.tensorboard is not None:
            for key in (*keys, "grad_norm", "lr", "samples_per_s"):
                run.tensorboard.add_scalar(f"train/{key}", float(row[key]), step)
        log.info("step %d loss %.5f grad_norm %.4g lr %.3g samples/s %.3g%s", step, values["loss"],
                 means[-1], lr, rate,
                 "".join(f" {k} {values[k]:.4g}" for k in method.log_columns))  # fmt: skip
    return values["loss"]
