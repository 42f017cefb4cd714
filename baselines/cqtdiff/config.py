"""CQTDiff configuration: defaults (the default CPU profile) and :func:`full_config`.

A config is a mapping with the top-level keys ``seed``, ``sample_rate`` and the sections
``model``, ``diffusion``, ``train`` and ``sampler`` (see :data:`DEFAULTS`); missing keys take the
defaults, unknown ones are a :class:`BaselineError` naming the config file and the key. The
``train`` section holds the shared training loop's keys (:data:`baselines.common.LOOP_DEFAULTS`)
next to CQTDiff's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from a2sb.config_merge import require

from ..common import LOOP_DEFAULTS, resolve_config
from ..interface import BaselineError

#: Every key with its default-profile value.
DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "sample_rate": 44100,
    "model": {
        "bins_per_octave": 12,  # CQT bins per octave (the CQTDiff paper: 64 at 22.05 kHz)
        "depth": 8,  # U-Net levels = CQT octaves (lowest centre: (fs / 2) / 2^depth)
        "channels": [4, 8, 8, 12, 16, 16, 16, 16, 16],  # per level, then the middle blocks
        "emb_dim": 32,  # noise-level embedding width
        "dilations": [1, 3],  # frequency dilations of the layers of each residual block
        "blocks": 1,  # residual blocks per level and side
    },
    "diffusion": {
        "sigma_data": None,  # None: the RMS of the training crops
        "sigma_min": 1.0e-4,
        "sigma_max": 1.0,
        "rho": 7.0,  # sampling schedule exponent
        "train_sigma": "rho",  # "rho" (CQTDiff code) or "lognormal" (EDM)
        "rho_train": 10.0,
        "p_mean": -1.2,
        "p_std": 1.2,
    },
    "train": {
        **LOOP_DEFAULTS,  # steps, batch_size, grad_clip, ema, log_every, checkpoint_every, ...
        "steps": 400,
        "batch_size": 4,
        "grad_clip": 1.0,
        "ema": 0.99,  # EMA decay of the weights written to final.safetensors; None: no EMA
        "log_every": 25,
        "checkpoint_every": 100,  # resumable step checkpoints every N steps (and at the end)
        "keep_checkpoints": 2,
        "segment_s": 1.0,  # crop length (rounded up to the CQT quantum)
        "optimizer": "adam",  # "adam" or "adamw"
        "lr": 5.0e-4,
        "weight_decay": 0.0,
        "betas": [0.9, 0.999],
        "sigma_data_crops": 32,  # crops used to estimate sigma_data
    },
    "sampler": {
        "steps": 6,  # Heun steps (the paper: 35)
        "s_churn": 5.0,
        "s_noise": 1.0,
        "s_tmin": 0.0,
        "s_tmax": 50.0,
        "xi": 0.2,  # reconstruction-guidance step (0: none)
        "consistency_inpainting": True,  # paste known samples into D at every evaluation
        "consistency_bwe": True,  # paste the known band into D at every evaluation
        "segment_s": 4.0,  # longest restored segment (a file up to this long is one segment)
        "overlap_s": 0.25,  # cross-fade between segments of longer files
        "context_s": 0.5,  # inpainting: known audio restored around each gap, each side
        "seed": 0,
    },
}

CHOICES = {
    "diffusion.train_sigma": ("rho", "lognormal"),
    "train.optimizer": ("adam", "adamw"),
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def full_config(config: Mapping[str, Any] | None, source: str = "config") -> dict[str, Any]:
    """``config`` over :data:`DEFAULTS`, validated; a :class:`BaselineError` naming ``source``
    on an unknown key or a bad value."""
    out = resolve_config(DEFAULTS, config, source, choices=CHOICES)

    def check(condition: bool, message: str) -> None:
        require(condition, source, message, error=BaselineError)

    sigma_data = out["diffusion"]["sigma_data"]
    check(sigma_data is None or _is_number(sigma_data),
          f"diffusion.sigma_data must be a number or null, got {sigma_data!r}")  # fmt: skip
    for name in ("model.channels", "model.dilations", "train.betas"):
        section, key = name.split(".")
        value = out[section][key]
        check(all(_is_number(v) for v in value), f"{name} must be a list of numbers, got {value!r}")
    m = out["model"]
    check(len(m["channels"]) == m["depth"] + 1,
          f"model.channels needs depth + 1 = {m['depth'] + 1} entries, got {len(m['channels'])}")  # fmt: skip
    check(m["depth"] >= 1 and m["bins_per_octave"] >= 2 and bool(m["dilations"]),
          "model needs depth >= 1, bins_per_octave >= 2, dilations")  # fmt: skip
    for name in ("train.segment_s", "train.batch_size", "sampler.steps", "sampler.segment_s",
                 "diffusion.sigma_min", "diffusion.sigma_max"):  # fmt: skip
        section, key = name.split(".")
        check(out[section][key] > 0, f"{name} must be positive")
    return out
