"""IBAR's configuration: nested sections with defaults (:data:`DEFAULTS`) and :func:`full_config`.

A config file holds any subset of :data:`DEFAULTS` (the default profile's values); missing keys
take the defaults, an unknown key or a value of the wrong type is a :class:`BaselineError` naming
the file (``source``) and the dotted key (:func:`baselines.common.resolve_config`), and the values
are then checked. The ``train`` section holds the shared training loop's keys
(:data:`baselines.common.LOOP_DEFAULTS`) next to IBAR's own. The ``mel`` section is the shared
vocoder's: the profiles' ``config/baselines/ibar/*.yaml`` do not spell it, the workflow writes the
vocoder's mel into the config it generates for IBAR, and its default here equals the vocoder's
default. The resolved config (every key filled in) is what the checkpoint's sidecar stores, so a
checkpoint rebuilds its own model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from a2sb.config_merge import require

from ..common import LOOP_DEFAULTS, resolve_config
from ..interface import BaselineError
from ..mel import MelConfig

#: Every key with its default value (the default profile: a 2-core CPU, minutes of training).
DEFAULTS: dict[str, Any] = {
    "description": "",
    "seed": 0,
    # The mel of the shared vocoder (baselines.vocoder), written here by the workflow: it must
    # equal the vocoder's MelConfig (checked at load). Default: the vocoder's default.
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
        **LOOP_DEFAULTS,  # steps, batch_size, grad_clip, ema, log_every, checkpoint_every, ...
        "steps": 300,
        "batch_size": 8,
        "grad_clip": 1.0,  # gradient-norm clipping (0: none)
        "log_every": 50,
        "checkpoint_every": 50,  # resumable step checkpoints every N steps (and at the end)
        "lr": 4.0e-4,
        "weight_decay": 0.0,
        "warmup_steps": 30,
        "min_lr_ratio": 0.1,  # cosine decay to lr * min_lr_ratio
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
DEVICES = ("cpu", "cuda", "auto")
CHOICES = {
    "text.encoder": ("bytes", "byt5"),
    "train.device": DEVICES,
    "train.precision": ("fp32", "bf16"),
    "sample.solver": SOLVERS,
    "sample.device": DEVICES,
}

#: Integer keys that must be >= 1 (the others' lower bounds are checked one by one).
_POSITIVE = (
    "model.hidden", "model.depth", "model.heads", "model.patch_mels", "model.patch_frames",
    "model.segment_frames", "text.width", "text.layers", "text.heads", "text.max_bytes",
    "train.steps", "train.batch_size", "train.log_every", "sample.steps",
)  # fmt: skip


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def full_config(config: Mapping[str, Any] | None, source: str = "config") -> dict[str, Any]:
    """``config`` over :data:`DEFAULTS`, checked; a :class:`BaselineError` naming ``source``."""
    cfg = resolve_config(DEFAULTS, config, source, choices=CHOICES)

    def need(ok: bool, message: str) -> None:
        require(ok, source, message, error=BaselineError)

    try:
        mel = MelConfig.from_dict(cfg["mel"])
    except (TypeError, ValueError) as exc:
        raise BaselineError(f"{source}: {exc}") from None
    for name in _POSITIVE:
        section, key = name.split(".")
        need(
            cfg[section][key] >= 1, f"{name} must be a positive integer, got {cfg[section][key]!r}"
        )
    m, t, d, tr, s = cfg["model"], cfg["text"], cfg["data"], cfg["train"], cfg["sample"]
    need(m["hidden"] % m["heads"] == 0, "model.hidden must be a multiple of model.heads")
    need(m["hidden"] % 4 == 0, "model.hidden must be a multiple of 4 (2-D positions)")
    need(mel.n_mels % m["patch_mels"] == 0, "model.patch_mels must divide mel.n_mels")
    need(m["segment_frames"] % m["patch_frames"] == 0,
         "model.patch_frames must divide model.segment_frames")  # fmt: skip
    need(m["mel_std"] > 0, "model.mel_std must be positive")
    need(t["width"] % t["heads"] == 0, "text.width must be a multiple of text.heads")
    need(t["byt5_path"] is None or isinstance(t["byt5_path"], str), "text.byt5_path: a folder")
    if t["encoder"] == "byt5":
        need(bool(t["byt5_path"]), "text.encoder byt5 needs text.byt5_path (local)")
    need(0 <= cfg["flow"]["sigma_min"] < 1, "flow.sigma_min must be in [0, 1)")
    need(0 <= d["p_inpainting"] <= 1, "data.p_inpainting must be in [0, 1]")
    for key in ("cutoff_hz_range", "gap_s_range"):
        r = d[key]
        need(len(r) == 2 and all(map(_number, r)) and 0 < r[0] <= r[1],
             f"data.{key} must be [low, high] with 0 < low <= high")  # fmt: skip
    need(
        d["cutoff_hz_range"][1] < mel.sample_rate / 2,
        "data.cutoff_hz_range must stay below Nyquist",
    )
    segment_s = m["segment_frames"] * mel.hop_length / mel.sample_rate
    need(d["gap_s_range"][1] < segment_s,
         f"data.gap_s_range must stay below the segment ({segment_s:.3f} s)")  # fmt: skip
    need(tr["lr"] > 0, "train.lr must be positive")
    need(0 < tr["min_lr_ratio"] <= 1, "train.min_lr_ratio must be in (0, 1]")
    need(tr["warmup_steps"] >= 0, "train.warmup_steps must be >= 0")
    need(s["vocoder"] is None or isinstance(s["vocoder"], str), "sample.vocoder: a checkpoint path")
    need(0 <= s["overlap_frames"] < m["segment_frames"],
         "sample.overlap_frames must be an integer in [0, model.segment_frames)")  # fmt: skip
    need(s["crossfade_ms"] >= 0, "sample.crossfade_ms must be >= 0")
    return cfg


def mel_config(cfg: Mapping[str, Any]) -> MelConfig:
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
