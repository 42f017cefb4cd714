"""Resumable training state on disk: atomic step checkpoints that any method's run can continue from.

A step checkpoint ``checkpoints/step_00001000`` is four files, each written atomically:

- ``step_00001000.safetensors`` + ``step_00001000.json``: the model's weights with the method's
  own sidecar (a usable checkpoint on its own, written by the method);
- ``step_00001000.state.safetensors``: every other tensor of the run (optimiser moments, EMA
  weights, RNG states, auxiliary networks), by name;
- ``step_00001000.state.json``: format, step, the sha256 of both tensor files and the JSON part of
  the state (optimiser param groups and scalars, scheduler state, run id, config hash).

``checkpoints/latest.json`` names the newest complete checkpoint and is replaced last, so a run
killed at any moment leaves either the previous or the new checkpoint as the latest, never a
partial one. No pickle is involved.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

from ..errors import CheckpointError
from ..io.atomic import atomic_write, write_json
from ..io.provenance import file_sha256

STATE_FORMAT = "a2sb-train-state/2"
LATEST_FORMAT = "a2sb-train-latest/1"
LATEST = "latest.json"


def step_name(step: int) -> str:
    return f"step_{step:08d}"


@dataclass
class TrainState:
    """What :func:`load_latest` found: the step, the weights file, the JSON record and tensors."""

    step: int
    weights: Path
    meta: dict[str, Any]
    tensors: dict[str, torch.Tensor]


def save_state(
    ckpt_dir: Path,
    step: int,
    write_weights: Callable[[Path], Mapping[str, Any]],
    tensors: Mapping[str, torch.Tensor],
    record: Mapping[str, Any],
    keep: int = 0,
) -> Path:
    """Write the checkpoint of ``step`` and point ``latest.json`` at it; prune to ``keep`` (0 = all).

    ``write_weights(path)`` writes the model's weights file (and its sidecar) and returns the
    sidecar with the file's ``sha256``. Returns the weights file.
    """
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    name = step_name(step)
    weights = ckpt_dir / f"{name}.safetensors"
    sidecar = write_weights(weights)
    state_file = ckpt_dir / f"{name}.state.safetensors"
    cpu = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    atomic_write(state_file, lambda tmp: safetensors.torch.save_file(cpu, str(tmp)))
    write_json(
        ckpt_dir / f"{name}.state.json",
        {
            "format": STATE_FORMAT,
            "step": step,
            "weights": weights.name,
            "weights_sha256": sidecar["sha256"],
            "state_file": state_file.name,
            "state_sha256": file_sha256(state_file),
            **dict(record),
        },
    )
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


def latest_record(ckpt_dir: Path) -> dict[str, Any] | None:
    """The state JSON that ``latest.json`` names (not verified), or ``None`` without one."""
    pointer = ckpt_dir / LATEST
    if not pointer.exists():
        return None
    try:
        latest = json.loads(pointer.read_text(encoding="utf-8"))
        state_json = ckpt_dir / latest["state"]
        meta = json.loads(state_json.read_text(encoding="utf-8"))
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{pointer}: unreadable training state ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != STATE_FORMAT:
        raise CheckpointError(f"{state_json}: not an {STATE_FORMAT} file")
    return meta


def load_latest(ckpt_dir: Path) -> TrainState | None:
    """The checkpoint ``latest.json`` names, with both files verified against their sha256;
    ``None`` when the run has none yet."""
    meta = latest_record(ckpt_dir)
    if meta is None:
        return None
    weights = ckpt_dir / meta["weights"]
    state_file = ckpt_dir / meta["state_file"]
    for path, key in ((weights, "weights_sha256"), (state_file, "state_sha256")):
        if not path.is_file():
            raise CheckpointError(f"{path}: missing from the training checkpoint")
        if file_sha256(path) != meta[key]:
            raise CheckpointError(f"{path}: sha256 differs from the training state (corrupt file)")
    try:
        tensors = safetensors.torch.load_file(str(state_file))
    except Exception as err:  # safetensors raises its own error types
        raise CheckpointError(f"{state_file}: unreadable safetensors file ({err})") from None
    return TrainState(step=int(meta["step"]), weights=weights, meta=meta, tensors=tensors)
