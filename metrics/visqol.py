"""ViSQOL v3 audio mode: MOS-LQO from 1 to 5, higher is better.

Reference: Google's ViSQOL v3.3 (C++) in audio mode, through its pure-Python port
``visqol-python`` (``VisqolApi().create(mode="audio")``: 32 gammatone bands from 50 Hz, patches
of 30 frames, 25 % window overlap, search window 60, the bundled libsvm nu-SVR model
``libsvm_nu_svr_model.txt``, global alignment and realignment on). Audio mode expects 48 kHz:
both signals are downmixed to mono, resampled to 48 kHz by :func:`a2sb.io.audio.resample` (soxr,
quality "HQ") and cut to the shorter length before scoring. The paper's ground truth scores 4.732 against itself (ViSQOL's
audio-mode ceiling). ``numba``, when installed, JIT-compiles visqol-python's inner loops (about
ten times faster, identical scores; the first call in a fresh environment compiles for ~10 s and
caches the result).

Undefined (:class:`metrics.errors.MetricUndefined`) for a silent reference or estimate: ViSQOL
matches the estimate's level to the reference's, which has no meaning for silence.
"""

from __future__ import annotations

import functools
import logging
import math
from typing import Any

import numpy as np

from a2sb.io.audio import resample

from .audio import prepare
from .errors import MetricUndefined

#: Rate of ViSQOL's audio mode.
VISQOL_RATE = 48000


@functools.lru_cache(maxsize=1)
def _api() -> Any:
    """One ``VisqolApi`` per process (creating it loads the SVR model)."""
    try:
        from visqol import VisqolApi
    except ImportError as exc:
        raise ImportError(
            f"ViSQOL needs visqol-python ({exc}): pip install visqol-python numba"
        ) from exc

    # visqol-python logs a warning per call for duration or rate mismatches we handle ourselves.
    logging.getLogger("visqol").setLevel(logging.ERROR)
    api = VisqolApi()
    api.create(mode="audio")
    return api


def visqol(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """ViSQOL audio-mode MOS-LQO of ``estimate`` against ``reference``, [T] or [T, C] at
    ``sample_rate`` (resampled to 48 kHz). Raises :class:`MetricUndefined` for silence."""
    ref = resample(prepare(reference, "reference"), sample_rate, VISQOL_RATE, axis=0)
    est = resample(prepare(estimate, "estimate"), sample_rate, VISQOL_RATE, axis=0)
    n = min(len(ref), len(est))
    ref, est = ref[:n], est[:n]
    if not np.any(ref):
        raise MetricUndefined("ViSQOL undefined: reference is silent")
    if not np.any(est):
        raise MetricUndefined("ViSQOL undefined: estimate is silent")
    score = float(_api().measure_from_arrays(ref, est, VISQOL_RATE).moslqo)
    if not math.isfinite(score):
        raise MetricUndefined(f"ViSQOL returned a non-finite score ({score})")
    return score
