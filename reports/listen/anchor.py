"""MUSHRA's low anchor: the reference low-passed at 3.5 kHz (ITU-R BS.1534-3, 5.1), as WAV bytes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

from a2sb.errors import InputError

from .trials import ANCHOR_HZ

ORDER = 8  # Butterworth order; run forward and backward (zero phase, 16th-order slope)


def lowpass_wav(path: Path, cutoff_hz: float = ANCHOR_HZ) -> bytes:
    """16-bit WAV of ``path`` low-passed at ``cutoff_hz``: an 8th-order Butterworth filter run
    forward and backward (no phase shift against the reference), at the file's sample rate."""
    audio, rate = sf.read(str(path), dtype="float64", always_2d=True)  # [N, C]
    if cutoff_hz >= rate / 2:
        raise InputError(f"{path}: sample rate {rate} Hz has no band above {cutoff_hz:g} Hz")
    sos = signal.butter(ORDER, cutoff_hz, btype="lowpass", fs=rate, output="sos")
    pad = 3 * (2 * len(sos) + 1)  # sosfiltfilt's default padding
    if len(audio) <= pad:
        raise InputError(f"{path}: {len(audio)} samples, too short to low-pass for the anchor")
    low = signal.sosfiltfilt(sos, audio, axis=0)
    out = io.BytesIO()
    sf.write(out, np.clip(low, -1, 1), rate, subtype="PCM_16", format="WAV")
    return out.getvalue()
