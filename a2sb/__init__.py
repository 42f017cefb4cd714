"""A2SB: Audio-to-Audio Schroedinger Bridges for music restoration (reproduction library).

Public API::

    cfg = a2sb.STFTConfig()
    x = a2sb.encode(wave, cfg, kind="factorized")           # [..., L] -> [..., 3, N, W]
    wave = a2sb.decode(x, cfg, length=L, kind="factorized")
    sched = a2sb.BridgeSchedule(beta_max=1.0)
    model = a2sb.build_model("paper")
    out = a2sb.restore(audio, sample_rate, task="bandwidth-extension", cutoff_hz=4000,
                       checkpoint=path, steps=50, seed=0)   # protocol="official": a2sb.protocol
    start = a2sb.starting_point(audio, sample_rate, task="bandwidth-extension", cutoff_hz=4000,
                                checkpoint=path, seed=0)    # restore()'s X1 (eq. 8), no network
    a2sb.restore_file(a2sb.Restorer.from_checkpoint(path), "in.wav", "out.wav",
                      task="inpainting", gaps=[(2.0, 2.3)], steps=50)  # streaming: any length
    # 2-channel input: stereo_mode="matched-coherence" by default (a2sb.stereo; README "Stereo")

The names are imported on first use: ``import a2sb`` (and the torch-free :mod:`a2sb.io`,
:mod:`a2sb.tasks`, :mod:`a2sb.errors` that :mod:`metrics` uses) does not load torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import A2SBError, CheckpointError, InputError
from .tasks import Setting, Task

__version__ = "0.1.0"

#: public name -> the module that defines it
_LAZY = {
    "BridgeSchedule": "bridge",
    "partition_boundaries": "partitions",
    "time_grid": "bridge",
    "MaskConfig": "masks",
    "WindowConfig": "multidiffusion",
    "STFTConfig": "representation",
    "decode": "representation",
    "encode": "representation",
    "phase_error_map": "representation",
    "Protocol": "protocol",
    "Restorer": "restoration",
    "estimate_cutoff": "cutoff",
    "restore": "restoration",
    "starting_point": "restoration",
    "restore_file": "stream.restore",
    "restore_stream": "stream.restore",
    "StereoMode": "stereo",
    "build_model": "network",
}

__all__ = ["A2SBError", "CheckpointError", "InputError", "Setting", "Task", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'a2sb' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
