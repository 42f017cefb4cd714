"""Band-limited test signals for the cutoff estimators (``a2sb.cutoff``).

Shared by ``tests/test_cutoff.py`` and ``benchmarks/bench_cutoff.py``. Every signal is float64
``[L]``, peak 0.5 before the band limit, deterministic for a given seed:

- :func:`white`, :func:`pink` (power ~ 1/f above 20 Hz) and :func:`harmonic` (a music-like sum
  of notes: inharmonic partials up to 0.49 x the rate with 1/k amplitudes, an attack/decay
  envelope per note, plus noise 60 dB below the peak);
- band limits: :func:`brickwall` (FFT: every bin above the cutoff zeroed), :func:`elliptic`
  (order-10 elliptic low-pass, 0.1 dB ripple, 90 dB stop band, passband edge at the cutoff,
  run forwards and backwards), :func:`resampled` (the project's evaluation degradation,
  ``metrics.bandwidth_limit``: soxr HQ to twice the cutoff and back), :func:`shelf` (MP3-like:
  the content above the cutoff attenuated by ``shelf_db``, not removed) and :func:`rolloff_then_drop`
  (a gentle linear-in-dB roll-off over the band below the cutoff, then a brick wall);
- :func:`dither`: white noise at ``level_dbfs`` RMS (a 16-bit-like noise floor, -90 dBFS);
- :func:`edge_hz`: where a band limit's gain first falls more than 6 dB (the point
  ``a2sb.cutoff.estimate_cutoff`` aims at), measured on a unit impulse.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

SR = 44100
KINDS = ("white", "pink", "harmonic")


def white(duration_s: float, sample_rate: int = SR, seed: int = 0) -> np.ndarray:
    """White Gaussian noise."""
    x = np.random.default_rng(seed).standard_normal(int(duration_s * sample_rate))
    return 0.5 * x / np.abs(x).max()


def pink(duration_s: float, sample_rate: int = SR, seed: int = 0) -> np.ndarray:
    """Gaussian noise with power ~ 1/f above 20 Hz (flat below)."""
    n = int(duration_s * sample_rate)
    spec = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / sample_rate)
    x = np.fft.irfft(spec / np.sqrt(np.maximum(f, 20.0)), n)
    return 0.5 * x / np.abs(x).max()


def harmonic(
    duration_s: float, sample_rate: int = SR, seed: int = 0, notes_per_s: float = 4.0
) -> np.ndarray:
    """Music-like mix: overlapping notes (fundamentals 80-1000 Hz, log-uniform), each with
    partials ``f_k = k f0 sqrt(1 + B k^2)`` (B = 1e-4, piano-like stretch) up to 0.49 x the rate
    and amplitudes 1/k (random phases), an exponential attack/decay envelope of 0.3-1.2 s;
    plus white noise 60 dB below the peak. Built in the frequency domain, so it is fast."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * sample_rate)
    out = np.zeros(n)
    for start in np.arange(0.0, duration_s, 1.0 / notes_per_s):
        f0 = float(np.exp(rng.uniform(np.log(80.0), np.log(1000.0))))
        length = min(int(rng.uniform(0.3, 1.2) * sample_rate), n - int(start * sample_rate))
        if length < 64:
            continue
        k = np.arange(1, 400)
        freqs = k * f0 * np.sqrt(1.0 + 1e-4 * k**2)
        keep = freqs < 0.49 * sample_rate
        spec = np.zeros(length // 2 + 1, dtype=complex)
        bins = np.round(freqs[keep] * length / sample_rate).astype(int)
        phases = rng.uniform(0, 2 * np.pi, keep.sum())
        np.add.at(spec, bins, np.exp(1j * phases) / k[keep])
        note = np.fft.irfft(spec, length)
        t = np.arange(length) / sample_rate
        env = (1.0 - np.exp(-t / 0.005)) * np.exp(-t / rng.uniform(0.2, 0.6))
        s = int(start * sample_rate)
        out[s : s + length] += note * env * rng.uniform(0.5, 1.0)
    out /= np.abs(out).max()
    out += 1e-3 * rng.standard_normal(n)
    return 0.5 * out / np.abs(out).max()


GENERATORS: dict[str, Callable[..., np.ndarray]] = {
    "white": white,
    "pink": pink,
    "harmonic": harmonic,
}


def make(kind: str, duration_s: float = 4.0, sample_rate: int = SR, seed: int = 0) -> np.ndarray:
    """A test signal of ``kind`` (one of :data:`KINDS`)."""
    return GENERATORS[kind](duration_s, sample_rate, seed)


def _shape(
    x: np.ndarray, sample_rate: int, gain_db: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Multiply the spectrum of the whole signal by ``10 ** (gain_db(f) / 20)``."""
    n = x.shape[-1]
    f = np.fft.rfftfreq(n, 1.0 / sample_rate)
    return np.fft.irfft(np.fft.rfft(x) * 10.0 ** (gain_db(f) / 20.0), n)


def brickwall(x: np.ndarray, sample_rate: int, cutoff_hz: float) -> np.ndarray:
    """Every FFT bin above ``cutoff_hz`` zeroed (whole-signal FFT)."""
    return _shape(x, sample_rate, lambda f: np.where(f > cutoff_hz, -np.inf, 0.0))


def elliptic(x: np.ndarray, sample_rate: int, cutoff_hz: float) -> np.ndarray:
    """Order-10 elliptic low-pass (0.1 dB ripple, 90 dB stop band, passband edge at
    ``cutoff_hz``), zero phase (``sosfiltfilt``)."""
    from scipy.signal import ellip, sosfiltfilt

    sos = ellip(10, 0.1, 90.0, cutoff_hz, fs=sample_rate, output="sos")
    return sosfiltfilt(sos, x)


def resampled(x: np.ndarray, sample_rate: int, cutoff_hz: float) -> np.ndarray:
    """``metrics.bandwidth_limit``: soxr HQ to ``2 cutoff_hz`` and back (-6 dB at ~0.95 x)."""
    from metrics import bandwidth_limit

    return bandwidth_limit(x, sample_rate, cutoff_hz)


def shelf(x: np.ndarray, sample_rate: int, cutoff_hz: float, shelf_db: float = -40.0) -> np.ndarray:
    """MP3-like: content above ``cutoff_hz`` kept but attenuated by ``shelf_db``."""
    return _shape(x, sample_rate, lambda f: np.where(f > cutoff_hz, shelf_db, 0.0))


def rolloff_then_drop(
    x: np.ndarray,
    sample_rate: int,
    cutoff_hz: float,
    rolloff_db: float = -6.0,
    rolloff_hz: float = 500.0,
) -> np.ndarray:
    """Gain falling linearly in dB from 0 at ``cutoff_hz - rolloff_hz`` to ``rolloff_db`` at
    ``cutoff_hz``, then nothing above ``cutoff_hz``."""

    def gain(f: np.ndarray) -> np.ndarray:
        g = rolloff_db * np.clip((f - (cutoff_hz - rolloff_hz)) / rolloff_hz, 0.0, 1.0)
        return np.where(f > cutoff_hz, -np.inf, g)

    return _shape(x, sample_rate, gain)


FILTERS: dict[str, Callable[[np.ndarray, int, float], np.ndarray]] = {
    "brickwall": brickwall,
    "elliptic": elliptic,
    "resampled": resampled,
}


def dither(x: np.ndarray, level_dbfs: float = -90.0, seed: int = 1) -> np.ndarray:
    """``x`` plus white noise of RMS ``level_dbfs`` (a 16-bit-like noise floor)."""
    rng = np.random.default_rng(seed)
    return x + 10.0 ** (level_dbfs / 20.0) * rng.standard_normal(x.shape)


def edge_hz(
    degrade: Callable[[np.ndarray, int, float], np.ndarray],
    cutoff_hz: float,
    sample_rate: int = SR,
    drop_db: float = 6.0,
) -> float:
    """Lowest frequency at which ``degrade(x, sample_rate, cutoff_hz)`` attenuates by more than
    ``drop_db``: its gain on a unit impulse in the middle of 2 s (0.5 Hz resolution)."""
    n = 2 * sample_rate
    impulse = np.zeros(n)
    impulse[n // 2] = 1.0
    gain = np.abs(np.fft.rfft(degrade(impulse, sample_rate, cutoff_hz)))
    below = np.nonzero(20.0 * np.log10(np.maximum(gain, 1e-30)) < -drop_db)[0]
    return float(below[0] * sample_rate / n)
