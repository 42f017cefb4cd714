"""CQTDiff configuration: defaults (the default CPU profile), validation and resolution.

A config is a mapping with the top-level keys ``seed``, ``sample_rate`` and the sections
``model``, ``diffusion``, ``train`` and ``sampler`` (see :data:`DEFAULTS`); missing keys take the
defaults, unknown ones are a :class:`BaselineError` naming the config file and the key.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

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
        "segment_s": 1.0,  # crop length (rounded up to the CQT quantum)
        "batch_size": 4,
        "steps": 400,
        "optimizer": "adam",  # "adam" or "adamw"
        "lr": 5.0e-4,
        "weight_decay": 0.0,
        "betas": [0.9, 0.999],
        "grad_clip": 1.0,
        "ema": 0.99,  # EMA decay of the weights written to final.safetensors; None: no EMA
        "sigma_data_crops": 32,  # crops used to estimate sigma_data
        "log_every": 25,
        "checkpoint_every": 0,  # resumable step checkpoints every N steps (0: none)
        "max_wall_s": None,  # stop early after this many seconds (None: no limit)
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

_CHOICES = {
    ("diffusion", "train_sigma"): ("rho", "lognormal"),
    ("train", "optimizer"): ("adam", "adamw"),
}


def _check_type(value: Any, default: Any, name: str, source: str) -> None:
    def bad(kind: str) -> BaselineError:
        return BaselineError(f"{source}: {name} must be {kind}, got {value!r}")

    if default is None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise bad("a number or null")
    elif isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad("true or false")
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("an integer")
    elif isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a number")
    elif isinstance(default, str):
        if not isinstance(value, str):
            raise bad("a string")
    elif isinstance(default, list):
        if not isinstance(value, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
        ):
            raise bad("a list of numbers")


def resolve(config: Mapping[str, Any] | None, source: str = "config") -> dict[str, Any]:
    """Defaults overlaid with ``config``, validated; a :class:`BaselineError` on a bad key."""
    out = copy.deepcopy(DEFAULTS)
    config = dict(config or {})
    for key, value in config.items():
        if key not in DEFAULTS:
            raise BaselineError(
                f"{source}: unknown key {key!r} (known: {', '.join(sorted(DEFAULTS))})"
            )
        if isinstance(DEFAULTS[key], dict):
            if value is None:
                continue
            if not isinstance(value, Mapping):
                raise BaselineError(f"{source}: {key} must be a mapping")
            for sub, v in value.items():
                if sub not in DEFAULTS[key]:
                    known = ", ".join(sorted(DEFAULTS[key]))
                    raise BaselineError(f"{source}: unknown key '{key}.{sub}' (known: {known})")
                _check_type(v, DEFAULTS[key][sub], f"{key}.{sub}", source)
                choices = _CHOICES.get((key, sub))
                if choices and v not in choices:
                    raise BaselineError(
                        f"{source}: {key}.{sub} must be one of {choices}, got {v!r}"
                    )
                out[key][sub] = copy.deepcopy(v)
        else:
            _check_type(value, DEFAULTS[key], key, source)
            out[key] = value
    m = out["model"]
    if len(m["channels"]) != m["depth"] + 1:
        raise BaselineError(
            f"{source}: model.channels needs depth + 1 = {m['depth'] + 1} entries, "
            f"got {len(m['channels'])}"
        )
    if m["depth"] < 1 or m["bins_per_octave"] < 2 or not m["dilations"]:
        raise BaselineError(f"{source}: model needs depth >= 1, bins_per_octave >= 2, dilations")
    positive = [
        ("train", "segment_s"),
        ("train", "batch_size"),
        ("sampler", "steps"),
        ("sampler", "segment_s"),
        ("diffusion", "sigma_min"),
        ("diffusion", "sigma_max"),
    ]
    for sec, key in positive:
        if not out[sec][key] > 0:
            raise BaselineError(f"{source}: {sec}.{key} must be positive")
    if out["train"]["steps"] < 0:
        raise BaselineError(f"{source}: train.steps must be >= 0")
    ema = out["train"]["ema"]
    if ema is not None and not 0 <= ema < 1:
        raise BaselineError(f"{source}: train.ema must lie in [0, 1) or be null")
    return out
