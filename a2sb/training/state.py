"""Resumable training state: atomic checkpoints of weights, optimiser, step and data position.

A training checkpoint ``checkpoints/step_00001000`` is four files, each written atomically:

- ``step_00001000.safetensors`` + ``step_00001000.json``: the model, via
  :func:`a2sb.checkpoint.save_checkpoint` (a usable checkpoint on its own);
- ``step_00001000.state.safetensors``: the optimiser's tensors (``optim.<param>.<key>``);
- ``step_00001000.state.json``: format, step, the sha256 of both tensor files, the optimiser's
  param groups and scalar state, the data position and the RNG scheme.

``checkpoints/latest.json`` names the newest complete checkpoint and is replaced last, so a
run killed at any moment leaves either the previous or the new checkpoint as the latest, never a
partial one. No pickle is involved.

RNG: the training loop reseeds torch from ``(seed, rank, step)`` at every step and every data
draw comes from ``(seed, sample index)`` (see :mod:`a2sb.training.dataset`), so the step *is* the
RNG state and the data position (``step * global_batch`` samples drawn); both are recorded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from torch import nn

from ..checkpoint import atomic_write, file_sha256, load_checkpoint, save_checkpoint, write_json
from ..errors import CheckpointError

STATE_FORMAT = "a2sb-train-state/1"
LATEST_FORMAT = "a2sb-train-latest/1"
LATEST = "latest.json"


def step_name(step: int) -> str:
    return f"step_{step:08d}"


@dataclass
class TrainState:
    """What :func:`load_latest` found: the step, the files and the state JSON."""

    step: int
    weights: Path
    meta: dict[str, Any]
    optimizer_tensors: dict[str, torch.Tensor]


def _split_optimizer(
    state_dict: Mapping[str, Any],
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Optimiser ``state_dict`` -> (tensors for safetensors, JSON-ready rest)."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, entry in state_dict["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{pid}.{key}"] = value.detach().to("cpu").contiguous()
            else:
                scalars.setdefault(str(pid), {})[key] = value
    groups = [
        {k: (list(v) if isinstance(v, tuple) else v) for k, v in group.items()}
        for group in state_dict["param_groups"]
    ]
    return tensors, {"param_groups": groups, "scalars": scalars}


def _join_optimizer(tensors: Mapping[str, torch.Tensor], rest: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`_split_optimizer`."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        _, pid, key = name.split(".", 2)
        state.setdefault(int(pid), {})[key] = value
    for pid, entry in rest.get("scalars", {}).items():
        state.setdefault(int(pid), {}).update(entry)
    groups = []
    for group in rest["param_groups"]:
        group = dict(group)
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
        groups.append(group)
    return {"state": state, "param_groups": groups}


def save_state(
    ckpt_dir: Path,
    step: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    model_config: Mapping[str, Any],
    stft_config: Mapping[str, Any],
    t_range: tuple[float, float],
    extra: Mapping[str, Any],
    meta: Mapping[str, Any],
    keep: int = 0,
) -> Path:
    """Write the checkpoint of ``step`` and point ``latest.json`` at it; prune to ``keep`` (0 = all).

    Returns the weights file.
    """
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    name = step_name(step)
    weights = ckpt_dir / f"{name}.safetensors"
    sidecar = save_checkpoint(weights, model, model_config, stft_config, t_range, extra)
    tensors, rest = _split_optimizer(optimizer.state_dict())
    state_file = ckpt_dir / f"{name}.state.safetensors"
    atomic_write(state_file, lambda tmp: safetensors.torch.save_file(tensors, str(tmp)))
    record = {
        "format": STATE_FORMAT,
        "step": step,
        "weights": weights.name,
        "weights_sha256": sidecar["sha256"],
        "optimizer_file": state_file.name,
        "optimizer_sha256": file_sha256(state_file),
        "optimizer": rest,
        **dict(meta),
    }
    write_json(ckpt_dir / f"{name}.state.json", record)
    write_json(
        ckpt_dir / LATEST, {"format": LATEST_FORMAT, "step": step, "state": f"{name}.state.json"}
    )
    if keep > 0:
        prune(ckpt_dir, keep)
    return weights


def prune(ckpt_dir: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` step checkpoints (the latest one is always kept)."""
    steps = sorted(
        {int(p.name[5:13]) for p in ckpt_dir.glob("step_*.state.json") if p.name[5:13].isdigit()}
    )
    for step in steps[:-keep]:
        name = step_name(step)
        # The state JSON goes first: without it the checkpoint is not a resumable candidate.
        for suffix in (".state.json", ".state.safetensors", ".json", ".safetensors"):
            (ckpt_dir / f"{name}{suffix}").unlink(missing_ok=True)


def load_latest(ckpt_dir: Path) -> TrainState | None:
    """The checkpoint ``latest.json`` names, verified; ``None`` when the run has none yet."""
    pointer = ckpt_dir / LATEST
    if not pointer.exists():
        return None
    try:
        latest = json.loads(pointer.read_text(encoding="utf-8"))
        state_json = ckpt_dir / latest["state"]
        meta = json.loads(state_json.read_text(encoding="utf-8"))
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{pointer}: unreadable training state ({err})") from None
    if meta.get("format") != STATE_FORMAT:
        raise CheckpointError(f"{state_json}: not an {STATE_FORMAT} file")
    weights = ckpt_dir / meta["weights"]
    state_file = ckpt_dir / meta["optimizer_file"]
    if not state_file.is_file():
        raise CheckpointError(f"{state_file}: optimiser state not found")
    if file_sha256(state_file) != meta["optimizer_sha256"]:
        raise CheckpointError(f"{state_file}: sha256 differs from {state_json.name} (corrupt file)")
    try:
        tensors = safetensors.torch.load_file(str(state_file))
    except Exception as err:  # safetensors raises its own error types
        raise CheckpointError(f"{state_file}: unreadable safetensors file ({err})") from None
    return TrainState(step=int(meta["step"]), weights=weights, meta=meta, optimizer_tensors=tensors)


def restore(state: TrainState, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """Load the checkpoint's weights into ``model`` and its state into ``optimizer`` (in place)."""
    loaded, _ = load_checkpoint(state.weights, map_location="cpu")
    with torch.no_grad():
        model.load_state_dict(loaded.state_dict(), strict=True)
    del loaded
    optimizer.load_state_dict(_join_optimizer(state.optimizer_tensors, state.meta["optimizer"]))
