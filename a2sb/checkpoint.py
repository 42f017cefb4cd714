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

Every key the loaders use is checked (:func:`check_sidecar`, :func:`check_bundle`): a missing or
wrongly typed one is a ``CheckpointError`` naming the JSON file, the key and what was expected.
:func:`load_partitions` also takes a training run folder or a pipeline results folder
(:func:`resolve_checkpoint`) and points an official Lightning ``.ckpt`` at
``a2sb convert-checkpoint``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import sys
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
from .representation import STFTConfig

CHECKPOINT_FORMAT = "a2sb-checkpoint/1"
BUNDLE_FORMAT = "a2sb-bundle/1"
WEIGHTS_SUFFIX = ".safetensors"
OFFICIAL_SUFFIX = ".ckpt"
RUN_FINAL = "final.safetensors"
RESULTS_BUNDLES = ("a2sb_p2.json", "a2sb_p1.json")
"""Bundles a results folder's ``models/`` is searched for, in order (the paper's released model
is the two-partition one)."""

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


def _check_t_range(
    t_range: Sequence[float], where: str, label: str = "t_range"
) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in t_range)
    except (TypeError, ValueError):
        raise CheckpointError(f"{where}: {label} must be [lo, hi], got {t_range!r}") from None
    if not 0.0 <= lo < hi <= 1.0:
        raise CheckpointError(f"{where}: {label} must satisfy 0 <= lo < hi <= 1, got [{lo}, {hi}]")
    return lo, hi


# ----------------------------------------------------------------------------- JSON schemas


def _describe(value: Any) -> str:
    """A JSON value for an error message: containers by type, scalars as written (shortened)."""
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, list | tuple):
        return "list"
    text = json.dumps(value) if isinstance(value, str | int | float | None) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _require_keys(data: Mapping[str, Any], keys: Sequence[str], where: str, label: str) -> None:
    missing = [k for k in keys if k not in data]
    if missing:
        names = ", ".join(repr(k) for k in missing)
        raise CheckpointError(f"{where}: {label} lacks key{'s' * (len(missing) > 1)} {names}")


def _mapping(value: Any, where: str, label: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise CheckpointError(f"{where}: {label} must be a mapping, got {_describe(value)}")
    return value


def _check_sha256(value: Any, where: str, label: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{64}", value):
        raise CheckpointError(
            f"{where}: {label} must be a sha256 of 64 lowercase hex digits, got {_describe(value)}"
        )
    return value


def _json_t_range(value: Any, where: str, label: str) -> tuple[float, float]:
    """A stored ``[lo, hi]``: a list of two numbers with 0 <= lo < hi <= 1."""
    if not isinstance(value, list) or len(value) != 2 or not all(map(_is_number, value)):
        raise CheckpointError(
            f"{where}: {label} must be a list of two numbers [lo, hi], got {_describe(value)}"
        )
    return _check_t_range(value, where, label)


STFT_INT_KEYS = ("sample_rate", "n_fft", "hop_length", "win_length", "segment_frames")


def check_stft_config(value: Any, where: str, label: str = "stft_config") -> dict[str, Any]:
    """The keys of a stored STFT config, each checked (one ``CheckpointError`` per problem).

    Keys left out take :class:`~a2sb.representation.STFTConfig`'s defaults when it is built, so
    the order relation ``hop_length <= win_length <= n_fft`` is checked among the keys given.
    """
    cfg = _mapping(value, where, f"key {label!r}")
    known = [f.name for f in dataclasses.fields(STFTConfig)]
    unknown = sorted(set(cfg) - set(known))
    if unknown:
        raise CheckpointError(f"{where}: {label} has unknown keys {unknown} (known: {known})")
    for key in STFT_INT_KEYS:
        if key in cfg and not _is_positive_int(cfg[key]):
            raise CheckpointError(
                f"{where}: {label}.{key} must be a positive integer, got {_describe(cfg[key])}"
            )
    if cfg.get("n_fft", 2) % 2:
        raise CheckpointError(f"{where}: {label}.n_fft must be even, got {cfg['n_fft']}")
    rho = cfg.get("rho", 1.0)
    if not _is_number(rho) or not 0 < rho < math.inf:
        raise CheckpointError(
            f"{where}: {label}.rho must be a positive number, got {_describe(rho)}"
        )
    order = [k for k in ("hop_length", "win_length", "n_fft") if k in cfg]
    for small, large in zip(order[:-1], order[1:]):
        if cfg[small] > cfg[large]:
            raise CheckpointError(
                f"{where}: {label} needs hop_length <= win_length <= n_fft, got "
                f"{small} {cfg[small]} > {large} {cfg[large]}"
            )
    return dict(cfg)


def stft_config_of(sidecar: Mapping[str, Any], where: PathLike) -> STFTConfig:
    """The :class:`STFTConfig` of a (checked) sidecar; a ``CheckpointError`` naming ``where``
    (the sidecar) when the keys, with the defaults of those left out, do not make one."""
    try:
        return STFTConfig.from_dict(check_stft_config(sidecar.get("stft_config"), str(where)))
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{where}: invalid stft_config ({err})") from None


def check_sidecar(data: Any, where: str) -> dict[str, Any]:
    """Every key of a checkpoint sidecar the loaders use, checked; returns ``data``."""
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{where}: not an {CHECKPOINT_FORMAT} sidecar")
    _require_keys(data, ("sha256", "model_config", "stft_config", "t_range"), where, "sidecar")
    _check_sha256(data["sha256"], where, "key 'sha256'")
    model_config = _mapping(data["model_config"], where, "key 'model_config'")
    try:
        resolve_config(model_config)
    except (TypeError, ValueError, OverflowError) as err:
        raise CheckpointError(f"{where}: invalid model_config ({err})") from None
    check_stft_config(data["stft_config"], where)
    _json_t_range(data["t_range"], where, "key 't_range'")
    extra = _mapping(data.get("extra", {}), where, "key 'extra'")
    if extra.get("mask_config") is not None:
        _mapping(extra["mask_config"], where, "extra.mask_config")
    beta_max = extra.get("beta_max", 1.0)
    if not _is_number(beta_max) or not 0 < beta_max < math.inf:
        raise CheckpointError(
            f"{where}: extra.beta_max must be a positive number, got {_describe(beta_max)}"
        )
    return data


def check_bundle(data: Any, where: str) -> list[dict[str, Any]]:
    """The partitions of a bundle, each entry's keys checked (not yet the tiling); in file order."""
    if not isinstance(data, dict) or data.get("format") != BUNDLE_FORMAT:
        raise CheckpointError(f"{where}: not an {BUNDLE_FORMAT} file")
    _require_keys(data, ("partitions",), where, "bundle")
    entries = data["partitions"]
    if not isinstance(entries, list):
        raise CheckpointError(
            f"{where}: key 'partitions' must be a list of {{checkpoint, t_range, sha256}}, "
            f"got {_describe(entries)}"
        )
    if not entries:
        raise CheckpointError(f"{where}: key 'partitions' is empty (a bundle needs a checkpoint)")
    for i, entry in enumerate(entries):
        label = f"partitions[{i}]"
        _mapping(entry, where, label)
        _require_keys(entry, ("checkpoint", "t_range", "sha256"), where, label)
        ckpt = entry["checkpoint"]
        if not isinstance(ckpt, str) or not ckpt.endswith(WEIGHTS_SUFFIX):
            raise CheckpointError(
                f"{where}: {label}.checkpoint must be the path of a {WEIGHTS_SUFFIX} file, "
                f"got {_describe(ckpt)}"
            )
        _json_t_range(entry["t_range"], where, f"{label}.t_range")
        _check_sha256(entry["sha256"], where, f"{label}.sha256")
    return entries


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
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as err:
        raise CheckpointError(f"{json_path}: unreadable checkpoint sidecar ({err})") from None
    return check_sidecar(data, str(json_path))


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
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as err:
        raise CheckpointError(f"{path}: unreadable JSON ({err})") from None


def load_bundle(path: PathLike, map_location: str | torch.device = "cpu") -> list[Partition]:
    """Load every checkpoint of a bundle: ``[(model, (lo, hi), sidecar)]`` sorted by ``lo``.

    Checks the bundle's format, that its ranges tile [0, 1], and each file's sha256 against both
    the bundle and the checkpoint's sidecar, before loading any weights.
    """
    path = Path(path)
    entries = check_bundle(_read_json(path), str(path))
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
    """Any checkpoint :func:`resolve_checkpoint` accepts -> partitions.

    A single checkpoint yields ``[(model, its sidecar's t_range, sidecar)]``.
    """
    path = resolve_checkpoint(path)
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


# ----------------------------------------------------------------------------- what to load


EXPECTED = (
    "a .safetensors checkpoint, its .json sidecar, a bundle .json, a training run folder "
    f"({RUN_FINAL} + final.json) or a results folder (models/{RESULTS_BUNDLES[0]})"
)


def resolve_checkpoint(path: PathLike, announce: bool = True) -> Path:
    """The file to load for ``path``: a checkpoint or bundle file as it is, a training run
    folder's ``final.safetensors``, or a results folder's ``models/a2sb_p2.json`` (else
    ``a2sb_p1.json``, else its only bundle; the choice is named on stderr with ``announce``).

    An official Lightning ``.ckpt``, an unfinished run and any other folder or file are refused
    with a ``CheckpointError`` saying what to do (nothing is unpickled).
    """
    path = Path(path)
    if path.is_dir():
        return _resolve_folder(path, announce)
    if path.suffix == OFFICIAL_SUFFIX:
        if not path.is_file():
            raise CheckpointError(f"{path}: checkpoint not found")
        raise CheckpointError(
            f"{path}: an official A2SB checkpoint (PyTorch Lightning .ckpt); convert it first: "
            f"a2sb convert-checkpoint {path} OUT.safetensors --preset paper"
        )
    if path.suffix not in (WEIGHTS_SUFFIX, ".json") and path.exists():
        raise CheckpointError(f"{path}: not a checkpoint; expected {EXPECTED}")
    return path


def _resolve_folder(folder: Path, announce: bool) -> Path:
    """A run folder's final checkpoint or a results folder's chosen bundle (see above)."""
    if (folder / RUN_FINAL).is_file():
        return folder / RUN_FINAL
    models = folder / "models"
    if models.is_dir():
        choice = _results_bundle(folder, models)
        if announce:
            print(f"a2sb: using {choice}", file=sys.stderr)
        return choice
    step = _latest_step(folder / "checkpoints")
    if step is not None:
        raise CheckpointError(
            f"{folder}: training has not finished (no {RUN_FINAL} yet); "
            f"its latest step checkpoint is {step}"
        )
    raise CheckpointError(f"{folder}: a folder that holds no checkpoint; expected {EXPECTED}")


def _results_bundle(folder: Path, models: Path) -> Path:
    for name in RESULTS_BUNDLES:
        if (models / name).is_file():
            return models / name
    bundles = sorted(p for p in models.glob("*.json") if not p.name.startswith("."))
    if len(bundles) == 1:
        return bundles[0]
    if not bundles:
        raise CheckpointError(
            f"{folder}: {models} holds no bundle .json (has the pipeline trained a model yet?)"
        )
    names = ", ".join(p.name for p in bundles)
    raise CheckpointError(
        f"{folder}: no {' or '.join(RESULTS_BUNDLES)} in {models}; pass one of its bundles: {names}"
    )


def _latest_step(ckpt_dir: Path) -> Path | None:
    """The newest ``step_*`` checkpoint in ``ckpt_dir`` (its .safetensors file), or ``None``."""
    if not ckpt_dir.is_dir():
        return None
    steps = {}
    for entry in ckpt_dir.glob("step_*"):
        found = re.match(r"step_(\d+)", entry.name)
        if found:
            steps[int(found.group(1))] = found.group(0)
    if not steps:
        return None
    name = steps[max(steps)]
    weights = ckpt_dir / f"{name}{WEIGHTS_SUFFIX}"
    return weights if weights.is_file() else ckpt_dir / name
