"""Classical reference methods that need no training (our additions, not baselines of the paper).

- :class:`SpectralBandReplication` (bandwidth extension): copies the highest known octave of the
  magnitude STFT upwards with a fitted spectral roll-off.
- :class:`BurgInpainting` (inpainting): Burg-fitted autoregressive extrapolation from both sides
  of each gap with a raised-cosine cross-fade.
- :class:`Identity`: the degraded input itself (the "degraded input" row of every table).

Written from the textbook methods for this project (Apache-2.0); no code is adapted.
"""

from __future__ import annotations

import numpy as np

from ..interface import Degradation
from .burg import BurgInpainting, burg, extrapolate
from .sbr import SpectralBandReplication


class Identity:
    """Returns the degraded input unchanged: the lower bound every method must beat."""

    name = "degraded"

    def restore(self, audio: np.ndarray, sample_rate: int, degradation: Degradation) -> np.ndarray:
        degradation.check(audio, sample_rate)
        return np.array(audio, copy=True)


#: name -> implementation (their tasks and labels: :mod:`baselines.registry`).
METHODS = {
    "degraded": Identity,
    "sbr": SpectralBandReplication,
    "burg": BurgInpainting,
}

__all__ = [
    "METHODS",
    "BurgInpainting",
    "Identity",
    "SpectralBandReplication",
    "burg",
    "extrapolate",
]
