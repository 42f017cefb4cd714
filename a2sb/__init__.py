"""A2SB: Audio-to-Audio Schroedinger Bridges for music restoration (reproduction library).

Public API::

    cfg = a2sb.STFTConfig()
    x = a2sb.encode(wave, cfg, kind="factorized")           # [..., L] -> [..., 3, N, W]
    wave = a2sb.decode(x, cfg, length=L, kind="factorized")
    sched = a2sb.BridgeSchedule(beta_max=1.0)
    model = a2sb.build_model("paper")
    out = a2sb.restore(audio, sample_rate, task="bandwidth-extension", cutoff_hz=4000,
                       checkpoint=path, steps=50, seed=0)
"""

from __future__ import annotations

from typing import Any

from .bridge import BridgeSchedule, partition_boundaries, time_grid
from .errors import A2SBError, CheckpointError, InputError
from .masks import MaskConfig
from .multidiffusion import WindowConfig
from .representation import STFTConfig, decode, encode, phase_error_map
from .restore import Restorer, restore

__version__ = "0.1.0"

__all__ = [
    "A2SBError",
    "BridgeSchedule",
    "CheckpointError",
    "InputError",
    "MaskConfig",
    "Restorer",
    "STFTConfig",
    "WindowConfig",
    "build_model",
    "decode",
    "encode",
    "partition_boundaries",
    "phase_error_map",
    "restore",
    "time_grid",
]


def __getattr__(name: str) -> Any:
    # The network pulls in more code than the signal functions: import it on first use.
    if name == "build_model":
        from .network import build_model

        return build_model
    raise AttributeError(f"module 'a2sb' has no attribute {name!r}")
