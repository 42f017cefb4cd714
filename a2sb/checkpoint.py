"""Model checkpoints: safetensors weights plus a JSON sidecar, and t-partition bundles (SPEC 4, 5).

A checkpoint ``model.safetensors`` always comes with ``model.json``::

    {"format": "a2sb-checkpoint/1", "weights": "model.safetensors", "sha256": ...,
     "model_config": {...}, "stft_config": {...}, "t_range": [lo, hi],
     "git_commit": ... | null, "git_dirty": ... | null, "created": ..., "torch_version": ...,
     "extra": {...}}

Both files are written atomically (:func:`a2sb.io.atomic.atomic_write`), the weights first. Loading verifies the sha256, builds the network from ``model_config`` and
loads the weights strictly; every failure is a one-line ``CheckpointError`` naming the file.

A bundle (``*.json``, format ``a2sb-bundle/1``) lists the checkpoints of a t-range
partitioning; their ranges must tile [0, 1].
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from torch import nn

from .errors import CheckpointError
from .io.atomic import atomic_write, write_json
from .io.provenance import file_sha256, git_state
from .network import A2SBUNet, ModelConfig, build_model, resolve_config

CHECKPOINT_FORMAT = "a2sb-checkpoint/1"
BUNDLE_FORMAT = "a2sb-bundle/1"
WEIGHTS_SUFFIX = ".safetensors"

PathLike = str | os.PathLike[str]
Partition = tuple[A2SBUNet, tuple[float, float], dict[str, Any]]
"""``(model, (t_lo, t_hi), sidecar)``."""


# ----------------------------------------------------------------------------- small helpers


def sidecar_path(path: PathLike) -> Path:
    """``model.safetensors -> model.json``."""
    return Path(path).with_suffix(".json")


def shape_mismatch(
    expected: Mapping[str, Sequence[int]], got: Mapping[str, Sequence[int]], limit: int = 4
) -> str | None:
    """One-line description of missing, unexpected and wrongly shaped entries, or ``None``."""
    missing = [k for k in expected if k not in got]
    unexpected = [k for k in got if k not in expected]
    wrong = [
        f"{k} {list(got[k])} (expected {list(expected[k])})"
        for k in expected
        if k in got and tuple(got[k]) != tuple(expected[k])
    ]
    parts = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
        if items:
            more = f" and {len(items) - limit} more" if len(items) > limit else ""
            parts.append(f"{len(items)} {label}: {', '.join(items[:limit])}{more}")
    return "; ".join(parts) or None


def expected_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """State-dict names and shapes of the network of ``config`` (built on the meta device)."""
    with torch.device("meta"):
        model = build_model(config)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _config_of(spec: Any, where: str) -> ModelConfig:
    try:
        return resolve_config(spec)
    except (ValueError, TypeError) as err:
        raise CheckpointError(f"{where}: bad model config: {err}") from None


def _check_t_range(t_range: Sequence[float], where: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in t_range)
    except (TypeError, ValueError):
        raise CheckpointError(f"{where}: t_range must be [lo, hi], got {t_range!r}") from None
    if not 0.0 <= lo < hi <= 1.0:
        raise CheckpointError(f"{where}: t_range must satisfy 0 <= lo < hi <= 1, got [{lo}, {hi}]")
    return lo, hi


# ----------------------------------------------------------------------------- single checkpoints


def save_checkpoint(
    path: PathLike,
    model_or_state_dict: nn.Module | Mapping[str, torch.Tensor],
    model_config: Mapping[str, Any] | ModelConfig,
    stft_config: Mapping[str, Any] | Any,
    t_range: Sequence[float] = (0.0, 1.0),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``path`` (.safetensors) and its JSON sidecar atomically; return the sidecar dict.

    ``stft_config`` is a dict or an object with ``to_dict()`` (``STFTConfig``); ``extra`` must be
    JSON-serialisable.

    The weights must match ``model_config`` in names and shapes (checked on the meta device).
    """
    path = Path(path)
    if path.suffix != WEIGHTS_SUFFIX:
        raise CheckpointError(f"{path}: a checkpoint file name must end in {WEIGHTS_SUFFIX}")
    config = _config_of(model_config, str(path))
    lo, hi = _check_t_range(t_range, str(path))
    if isinstance(model_or_state_dict, nn.Module):
        state = model_or_state_dict.state_dict()
    else:
        state = model_or_state_dict
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
    problem = shape_mismatch(expected_shapes(config), {k: v.shape for k, v in tensors.items()})
    if problem:
        raise CheckpointError(f"{path}: weights do not match the model config: {problem}")

    commit, dirty = git_state()
    sidecar = {
        "format": CHECKPOINT_FORMAT,
        "weights": path.name,
        "sha256": None,
        "model_config": config.to_dict(),
        "stft_config": (
            stft_config.to_dict() if hasattr(stft_config, "to_dict") else dict(stft_config)
        ),
        "t_range": [lo, hi],
        "git_commit": commit,
        "git_dirty": dirty,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "torch_version": torch.__version__,
        "extra": dict(extra or {}),
    }
    try:  # fail before writing anything
        json.dumps(sidecar)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: sidecar is not JSON-serialisable ({err})") from None

    atomic_write(path, lambda tmp: safetensors.torch.save_file(tensors, str(tmp)))
    sidecar["sha256"] = file_sha256(path)
    write_json(sidecar_path(path), sidecar)
    return sidecar


def read_sidecar(path: PathLike) -> dict[str, Any]:
    """The sidecar of checkpoint ``path`` (the .safetensors or the .json itself), checked for keys."""
    json_path = sidecar_path(path)
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{json_path}: checkpoint sidecar not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{json_path}: unreadable checkpoint sidecar ({err})") from None
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{json_path}: not an {CHECKPOINT_FORMAT} sidecar")
    missing = [k for k in ("sha256", "model_config", "t_range") if k not in data]
    if missing:
        raise CheckpointError(f"{json_path}: sidecar lacks {missing}")
    _check_t_range(data["t_range"], str(json_path))
    return data


def _config_diff(expected: ModelConfig, got: ModelConfig) -> list[str]:
    e, g = expected.to_dict(), got.to_dict()
    return [f"{k}: {g[k]!r} (expected {e[k]!r})" for k in e if e[k] != g[k]]


def _load_weights(
    path: Path,
    sidecar: dict[str, Any],
    map_location: str | torch.device,
    expect_model_config: Any,
) -> A2SBUNet:
    """Build the sidecar's network and load the (already verified) weights strictly."""
    config = _config_of(sidecar["model_config"], str(path))
    if expect_model_config is not None:
        diff = _config_diff(_config_of(expect_model_config, "expected model config"), config)
        if diff:
            raise CheckpointError(
                f"{path}: model config differs from the expected one: {'; '.join(diff)}"
            )
    device = torch.device(map_location)
    try:
        state = safetensors.torch.load_file(str(path), device=str(device))
    except Exception as err:  # safetensors raises its own error types
        raise CheckpointError(f"{path}: unreadable safetensors file ({err})") from None
    problem = shape_mismatch(expected_shapes(config), {k: v.shape for k, v in state.items()})
    if problem:
        raise CheckpointError(f"{path}: weights do not match the model config: {problem}")
    with torch.device("meta"):
        model = build_model(config)
    model.load_state_dict(state, strict=True, assign=True)
    return model.eval()


def load_checkpoint(
    path: PathLike,
    map_location: str | torch.device = "cpu",
    expect_model_config: str | Mapping[str, Any] | ModelConfig | None = None,
) -> tuple[A2SBUNet, dict[str, Any]]:
    """Load ``path`` (.safetensors) after checking its sha256 against the sidecar.

    Returns ``(model in eval mode on map_location, sidecar)``. With ``expect_model_config``
    (preset name, dict or ``ModelConfig``), a different stored config is an error.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    sidecar = read_sidecar(path)
    digest = file_sha256(path)
    if digest != sidecar["sha256"]:
        raise CheckpointError(
            f"{path}: sha256 {digest[:12]}... differs from the sidecar's "
            f"{str(sidecar['sha256'])[:12]}... (corrupt or replaced file)"
        )
    return _load_weights(path, sidecar, map_location, expect_model_config), sidecar


# ----------------------------------------------------------------------------- partition bundles


def check_tiling(
    ranges: Sequence[Sequence[float]], where: str, tol: float = 1e-9
) -> list[tuple[float, float]]:
    """Sorted ranges if they tile [0, 1] without gaps or overlaps, else ``CheckpointError``."""
    if not ranges:
        raise CheckpointError(f"{where}: no partitions")
    checked = sorted(_check_t_range(r, where) for r in ranges)
    if not math.isclose(checked[0][0], 0.0, abs_tol=tol):
        raise CheckpointError(f"{where}: t-ranges start at {checked[0][0]}, not 0: {checked}")
    if not math.isclose(checked[-1][1], 1.0, abs_tol=tol):
        raise CheckpointError(f"{where}: t-ranges end at {checked[-1][1]}, not 1: {checked}")
    for (_, hi), (lo, _) in zip(checked[:-1], checked[1:]):
        if not math.isclose(hi, lo, abs_tol=tol):
            kind = "gap" if lo > hi else "overlap"
            raise CheckpointError(
                f"{where}: t-ranges must tile [0, 1]: {kind} between {hi} and {lo} in {checked}"
            )
    return checked


def write_bundle(
    path: PathLike, entries: Sequence[tuple[PathLike, Sequence[float]]]
) -> dict[str, Any]:
    """Write a partition bundle listing ``(checkpoint, (lo, hi))`` entries; return its dict.

    Checkpoint paths are stored relative to the bundle's directory, with their sha256 (each is
    checked against its own sidecar first). The ranges must tile [0, 1].
    """
    path = Path(path)
    if path.suffix != ".json":
        raise CheckpointError(f"{path}: a bundle file name must end in .json")
    check_tiling([r for _, r in entries], str(path))
    partitions = []
    for ckpt, t_range in sorted(entries, key=lambda e: float(e[1][0])):
        ckpt = Path(ckpt)
        if not ckpt.is_file():
            raise CheckpointError(f"{path}: checkpoint {ckpt} not found")
        digest = file_sha256(ckpt)
        if digest != read_sidecar(ckpt)["sha256"]:
            raise CheckpointError(f"{ckpt}: sha256 differs from its sidecar's")
        rel = os.path.relpath(ckpt.resolve(), path.resolve().parent)
        lo, hi = _check_t_range(t_range, str(path))
        partitions.append(
            {"checkpoint": Path(rel).as_posix(), "t_range": [lo, hi], "sha256": digest}
        )
    bundle = {"format": BUNDLE_FORMAT, "partitions": partitions}
    write_json(path, bundle)
    return bundle


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: unreadable JSON ({err})") from None


def load_bundle(path: PathLike, map_location: str | torch.device = "cpu") -> list[Partition]:
    """Load every checkpoint of a bundle: ``[(model, (lo, hi), sidecar)]`` sorted by ``lo``.

    Checks the bundle's format, that its ranges tile [0, 1], and each file's sha256 against both
    the bundle and the checkpoint's sidecar, before loading any weights.
    """
    path = Path(path)
    data = _read_json(path)
    if not isinstance(data, dict) or data.get("format") != BUNDLE_FORMAT:
        raise CheckpointError(f"{path}: not an {BUNDLE_FORMAT} file")
    entries = data.get("partitions")
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and {"checkpoint", "t_range", "sha256"} <= set(e) for e in entries
    ):
        raise CheckpointError(f"{path}: partitions must be a list of checkpoint/t_range/sha256")
    check_tiling([e["t_range"] for e in entries], str(path))
    verified = []
    for entry in sorted(entries, key=lambda e: float(e["t_range"][0])):
        ckpt = path.parent / entry["checkpoint"]
        if not ckpt.is_file():
            raise CheckpointError(f"{path}: checkpoint {ckpt} not found")
        sidecar = read_sidecar(ckpt)
        digest = file_sha256(ckpt)
        if digest != entry["sha256"] or digest != sidecar["sha256"]:
            raise CheckpointError(
                f"{ckpt}: sha256 {digest[:12]}... differs from the one recorded in "
                f"{path.name if digest != entry['sha256'] else ckpt.with_suffix('.json').name}"
            )
        verified.append((ckpt, _check_t_range(entry["t_range"], str(path)), sidecar))
    return [
        (_load_weights(ckpt, sidecar, map_location, None), t_range, sidecar)
        for ckpt, t_range, sidecar in verified
    ]


def load_partitions(path: PathLike, map_location: str | torch.device = "cpu") -> list[Partition]:
    """A single checkpoint (.safetensors, or its .json sidecar) or a bundle (.json) -> partitions.

    A single checkpoint yields ``[(model, its sidecar's t_range, sidecar)]``.
    """
    path = Path(path)
    if path.suffix == ".json":
        data = _read_json(path)
        fmt = data.get("format") if isinstance(data, dict) else None
        if fmt == BUNDLE_FORMAT:
            return load_bundle(path, map_location)
        if fmt != CHECKPOINT_FORMAT:
            raise CheckpointError(f"{path}: neither a bundle nor a checkpoint sidecar")
        path = path.with_suffix(WEIGHTS_SUFFIX)
    model, sidecar = load_checkpoint(path, map_location)
    lo, hi = _check_t_range(sidecar["t_range"], str(path))
    return [(model, (lo, hi), sidecar)]
