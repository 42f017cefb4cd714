"""IBAR's configuration: nested sections with defaults, every key validated.

A config file holds any subset of :data:`DEFAULTS` (the default profile's values); a key that is
not listed is an error naming the file (``source``) and the dotted key. The resolved config (every
key filled in) is what the checkpoint's sidecar stores, so a checkpoint rebuilds its own model.
"""

from __future__ import annotations

import copy
from typing import Any

from ..interface import BaselineError
from ..mel import MelConfig

#: Every key with its default value (the default profile: a 2-core CPU, minutes of training).
DEFAULTS: dict[str, Any] = {
    "description": "",
    "seed": 0,
    # The mel of the shared vocoder (baselines.vocoder): must equal the vocoder's MelConfig.
    "mel": MelConfig().to_dict(),
    "model": {
        "hidden": 192,  # DiT width
        "depth": 4,  # DiT blocks
        "heads": 4,
        "mlp_ratio": 4.0,
        "patch_mels": 16,  # patch height (mel bins); divides mel.n_mels
        "patch_frames": 8,  # patch width (frames); divides segment_frames
        "segment_frames": 256,  # training crop and inference segment, in mel frames
        "mel_mean": -5.0,  # log-mel normalisation: (log_mel - mean) / std
        "mel_std": 2.5,
    },
    "text": {
        "encoder": "bytes",  # "bytes" (trained byte-level encoder) or "byt5" (frozen byT5)
        "width": 128,  # bytes: embedding width
        "layers": 2,  # bytes: transformer layers
        "heads": 4,  # bytes: attention heads
        "max_bytes": 64,  # bytes: instructions are cut to this many UTF-8 bytes
        "byt5_path": None,  # byt5: local folder of google/byt5-small (or -base)
    },
    "flow": {"sigma_min": 1.0e-4},
    "data": {
        "split": "train",  # manifest rows used
        "p_inpainting": 0.5,  # probability that an item is an inpainting item
        "cutoff_hz_range": [2000.0, 16000.0],  # bandwidth extension: uniform cutoff
        "gap_s_range": [0.1, 1.0],  # inpainting: uniform gap length, gap inside the crop
    },
    "train": {
        "steps": 300,
        "batch_size": 8,
        "lr": 4.0e-4,
        "weight_decay": 0.0,
        "warmup_steps": 30,
        "min_lr_ratio": 0.1,  # cosine decay to lr * min_lr_ratio
        "grad_clip": 1.0,
        "log_every": 50,
        "device": "cpu",  # "cpu", "cuda" or "auto"
        "precision": "fp32",  # "fp32" or "bf16" (autocast, CUDA only)
    },
    "sample": {
        "steps": 8,
        "solver": "midpoint",  # "euler" or "midpoint"
        "seed": 0,
        "overlap_frames": 32,  # cross-faded overlap of consecutive segments
        "crossfade_ms": 5.0,  # inpainting: fade from the input into the generation at gap edges
        "vocoder": None,  # default vocoder checkpoint when restore gets no --vocoder
        "device": "cpu",  # "cpu", "cuda" or "auto"
    },
}

SOLVERS = ("euler", "midpoint")
ENCODERS = ("bytes", "byt5")
DEVICES = ("cpu", "cuda", "auto")
PRECISIONS = ("fp32", "bf16")


def _type_ok(default: Any, value: Any) -> bool:
    """``value`` has the type of ``default`` (an int may stand for a float; ``None`` is free)."""
    if default is None:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, str):
        return isinstance(value, str)
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return True


def _merge(defaults: dict[str, Any], given: dict[str, Any], prefix: str, source: str) -> dict:
    out = copy.deepcopy(defaults)
    for key, value in given.items():
        name = f"{prefix}{key}"
        if key not in defaults:
            raise BaselineError(f"{source}: unknown config key {name!r}")
        if isinstance(defaults[key], dict) and key != "mel":
            if not isinstance(value, dict):
                raise BaselineError(f"{source}: {name} must be a mapping")
            out[key] = _merge(defaults[key], value, f"{name}.", source)
        elif key == "mel":
            if not isinstance(value, dict):
                raise BaselineError(f"{source}: mel must be a mapping")
            for k in value:
                if k not in defaults["mel"]:
                    raise BaselineError(f"{source}: unknown config key 'mel.{k}'")
            out[key] = {**defaults["mel"], **value}
        else:
            if not _type_ok(defaults[key], value):
                kind = type(defaults[key]).__name__
                raise BaselineError(f"{source}: {name} must be a {kind}, got {value!r}")
            out[key] = float(value) if isinstance(defaults[key], float) else value
    return out


def _need(ok: bool, source: str, message: str) -> None:
    if not ok:
        raise BaselineError(f"{source}: {message}")


def resolve(config: dict[str, Any] | None, source: str) -> dict[str, Any]:
    """``config`` merged over :data:`DEFAULTS`, checked; :class:`BaselineError` naming ``source``."""
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise BaselineError(f"{source}: a config must be a mapping")
    cfg = _merge(DEFAULTS, config, "", source)
    try:
        mel = MelConfig.from_dict(cfg["mel"])
    except (TypeError, ValueError) as exc:
        raise BaselineError(f"{source}: {exc}") from None
    m, t, d, tr, s = cfg["model"], cfg["text"], cfg["data"], cfg["train"], cfg["sample"]
    for section, keys in (
        ("model", ("hidden", "depth", "heads", "patch_mels", "patch_frames", "segment_frames")),
        ("text", ("width", "layers", "heads", "max_bytes")),
        ("train", ("steps", "batch_size", "log_every")),
        ("sample", ("steps",)),
    ):
        for key in keys:
            value = cfg[section][key]
            _need(
                isinstance(value, int) and not isinstance(value, bool) and value >= 1,
                source,
                f"{section}.{key} must be a positive integer, got {value!r}",
            )
    _need(
        isinstance(cfg["seed"], int) and not isinstance(cfg["seed"], bool), source, "seed: integer"
    )
    _need(m["hidden"] % m["heads"] == 0, source, "model.hidden must be a multiple of model.heads")
    _need(m["hidden"] % 4 == 0, source, "model.hidden must be a multiple of 4 (2-D positions)")
    _need(mel.n_mels % m["patch_mels"] == 0, source, "model.patch_mels must divide mel.n_mels")
    _need(
        m["segment_frames"] % m["patch_frames"] == 0,
        source,
        "model.patch_frames must divide model.segment_frames",
    )
    _need(float(m["mel_std"]) > 0, source, "model.mel_std must be positive")
    _need(t["encoder"] in ENCODERS, source, f"text.encoder must be one of {ENCODERS}")
    _need(t["width"] % t["heads"] == 0, source, "text.width must be a multiple of text.heads")
    if t["encoder"] == "byt5":
        _need(bool(t["byt5_path"]), source, "text.encoder byt5 needs text.byt5_path (local)")
    _need(0 <= float(cfg["flow"]["sigma_min"]) < 1, source, "flow.sigma_min must be in [0, 1)")
    _need(0 <= float(d["p_inpainting"]) <= 1, source, "data.p_inpainting must be in [0, 1]")
    for key in ("cutoff_hz_range", "gap_s_range"):
        r = d[key]
        _need(
            isinstance(r, (list, tuple)) and len(r) == 2 and 0 < float(r[0]) <= float(r[1]),
            source,
            f"data.{key} must be [low, high] with 0 < low <= high",
        )
    _need(
        float(d["cutoff_hz_range"][1]) < mel.sample_rate / 2,
        source,
        "data.cutoff_hz_range must stay below Nyquist",
    )
    segment_s = m["segment_frames"] * mel.hop_length / mel.sample_rate
    _need(
        float(d["gap_s_range"][1]) < segment_s,
        source,
        f"data.gap_s_range must stay below the segment ({segment_s:.3f} s)",
    )
    _need(float(tr["lr"]) > 0, source, "train.lr must be positive")
    _need(float(tr["grad_clip"]) > 0, source, "train.grad_clip must be positive")
    _need(0 < float(tr["min_lr_ratio"]) <= 1, source, "train.min_lr_ratio must be in (0, 1]")
    _need(int(tr["warmup_steps"]) >= 0, source, "train.warmup_steps must be >= 0")
    _need(tr["device"] in DEVICES, source, f"train.device must be one of {DEVICES}")
    _need(tr["precision"] in PRECISIONS, source, f"train.precision must be one of {PRECISIONS}")
    _need(s["solver"] in SOLVERS, source, f"sample.solver must be one of {SOLVERS}")
    _need(s["device"] in DEVICES, source, f"sample.device must be one of {DEVICES}")
    _need(
        isinstance(s["overlap_frames"], int) and 0 <= s["overlap_frames"] < m["segment_frames"],
        source,
        "sample.overlap_frames must be an integer in [0, model.segment_frames)",
    )
    _need(float(s["crossfade_ms"]) >= 0, source, "sample.crossfade_ms must be >= 0")
    return cfg


def mel_config(cfg: dict[str, Any]) -> MelConfig:
    """The resolved config's :class:`MelConfig`."""
    return MelConfig.from_dict(cfg["mel"])


def device_of(name: str):  # noqa: ANN201
    """``"cpu"``, ``"cuda"`` or ``"auto"`` -> a ``torch.device`` (``BaselineError`` without CUDA)."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise BaselineError("device 'cuda' asked for, but torch sees no CUDA device")
    return torch.device(name)
