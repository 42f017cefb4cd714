"""a2sb.cutoff: the band-limit estimator (``--cutoff-hz auto``) and the official roll-off one.

Signals from ``benchmarks/cutoff_signals.py``: 3 s at 44.1 kHz (white noise, pink noise, a
harmonic music-like mix), band-limited, plus a -90 dBFS noise floor. The true edge is the
cutoff for a brick wall or a shelf, and the filter's own -6 dB point for the elliptic low-pass.
Tolerances asserted on ``estimate_cutoff - edge``:

- noise signals: within +-25 Hz (about one 21.5 Hz bin);
- the harmonic mix: within -300 / +100 Hz (a line spectrum leaves gaps just below the edge
  that a long-term spectrum cannot tell from the cut, so the estimate errs low);
- gentle roll-off (6 dB over 500 Hz) then a drop: -150 / +25 Hz for noise, -300 / +100 Hz for
  the harmonic mix (on the drop, not at the start of the roll-off 500 Hz lower);
- the project's own degradation (soxr to twice the cutoff and back): between 0.93 and 1.0 times
  the nominal cutoff (soxr's pass band ends at ~0.93 of it, its stop band starts at 1.0).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from a2sb.cutoff import estimate_cutoff, rolloff_cutoff
from a2sb.errors import InputError
from benchmarks import cutoff_signals as cs

SR = cs.SR
CUTOFFS = (2000.0, 4000.0, 8000.0, 11025.0, 12000.0, 16000.0)
TOLERANCE = {"white": (-25.0, 25.0), "pink": (-25.0, 25.0), "harmonic": (-300.0, 100.0)}


@functools.cache
def signal(kind: str) -> np.ndarray:
    return cs.make(kind, 3.0, SR, seed=0)


def check(kind: str, estimate: float, edge: float, tolerance: tuple[float, float] | None = None):
    lo, hi = tolerance or TOLERANCE[kind]
    assert lo <= estimate - edge <= hi, f"{kind}: estimate {estimate:.1f} Hz, edge {edge:.1f} Hz"


@pytest.mark.parametrize("cutoff", CUTOFFS)
@pytest.mark.parametrize("kind", cs.KINDS)
def test_brickwall(kind: str, cutoff: float) -> None:
    x = cs.dither(cs.brickwall(signal(kind), SR, cutoff))
    check(kind, estimate_cutoff(x, SR), cutoff)


@pytest.mark.parametrize("cutoff", CUTOFFS)
@pytest.mark.parametrize("kind", cs.KINDS)
def test_elliptic_lowpass(kind: str, cutoff: float) -> None:
    x = cs.dither(cs.elliptic(signal(kind), SR, cutoff))
    check(kind, estimate_cutoff(x, SR), cs.edge_hz(cs.elliptic, cutoff))


@pytest.mark.parametrize("shelf_db", [-30.0, -50.0])
@pytest.mark.parametrize("cutoff", [11025.0, 16000.0])
@pytest.mark.parametrize("kind", cs.KINDS)
def test_mp3_like_shelf(kind: str, cutoff: float, shelf_db: float) -> None:
    """Content above the cutoff attenuated, not removed: the edge is still the cutoff."""
    x = cs.dither(cs.shelf(signal(kind), SR, cutoff, shelf_db))
    check(kind, estimate_cutoff(x, SR), cutoff)


@pytest.mark.parametrize("kind", cs.KINDS)
def test_gentle_rolloff_before_steep_drop(kind: str) -> None:
    x = cs.dither(cs.rolloff_then_drop(signal(kind), SR, 16000.0, -6.0, 500.0))
    tol = (-150.0, 25.0) if kind != "harmonic" else (-300.0, 100.0)
    check(kind, estimate_cutoff(x, SR), 16000.0, tol)


@pytest.mark.parametrize("cutoff", [4000.0, 16000.0])
def test_project_degradation(cutoff: float) -> None:
    x = cs.resampled(signal("pink"), SR, cutoff)
    assert 0.93 * cutoff <= estimate_cutoff(x, SR) <= cutoff


@pytest.mark.parametrize(("rate", "cutoff"), [(48000, 16000.0), (22050, 4000.0), (16000, 6000.0)])
def test_other_rates(rate: int, cutoff: float) -> None:
    x = cs.dither(cs.brickwall(cs.white(3.0, rate), rate, cutoff))
    estimate = estimate_cutoff(x, rate)
    assert -25.0 <= estimate - cutoff <= 25.0
    assert estimate < rate / 2


def test_stereo() -> None:
    mono = cs.dither(cs.brickwall(signal("pink"), SR, 8000.0))
    assert estimate_cutoff(np.stack([mono, mono]), SR) == pytest.approx(estimate_cutoff(mono, SR))
    other = cs.dither(cs.brickwall(signal("harmonic"), SR, 8000.0), seed=2)
    check("pink", estimate_cutoff(np.stack([mono, other]).astype(np.float32), SR), 8000.0)


def test_full_band_noise_raises() -> None:
    with pytest.raises(InputError, match="full-band") as info:
        estimate_cutoff(cs.dither(signal("white")), SR, name="song.wav")
    message = str(info.value)
    assert message.startswith("song.wav: no band limit found") and "--cutoff-hz" in message
    assert "\n" not in message
    with pytest.raises(InputError, match="full-band"):  # a 20 dB shelf is not a band limit
        estimate_cutoff(cs.dither(cs.shelf(signal("white"), SR, 8000.0, -15.0)), SR)


def test_silent_or_short_input_raises() -> None:
    with pytest.raises(InputError, match="x.wav: silent input"):
        estimate_cutoff(np.zeros((2, SR)), SR, name="x.wav")
    with pytest.raises(InputError, match="too short"):
        estimate_cutoff(signal("white")[:1000], SR)
    with pytest.raises(InputError, match="NaN"):
        estimate_cutoff(np.full(SR, np.nan), SR)
    with pytest.raises(InputError, match=r"\[L\] or \[C, L\]"):
        estimate_cutoff(np.zeros((1, 2, SR)), SR)


def test_rolloff_sine_at_its_bin() -> None:
    """A sine on bin 43: every frame away from the ends holds exactly bins 42, 43, 44 at
    magnitudes 1/4, 1/2, 1/4, so its cumulative share is 25, 75, 100 %: the 99 % roll-off is
    bin 44, the 70 % one bin 43. The few frames that reach into the zero padding (2 at each
    end) can add at most 4 x Nyquist / n_frames to the mean."""
    length = 30 * SR
    bin_hz = SR / 2048
    x = 0.5 * np.sin(2 * np.pi * 43 * bin_hz * np.arange(length) / SR)
    slack = 4 * (SR / 2) / (1 + length // 512)
    assert 44 * bin_hz - 1 <= rolloff_cutoff(x, SR) <= 44 * bin_hz + slack
    assert 43 * bin_hz - 1 <= rolloff_cutoff(x, SR, roll_percent=0.7) <= 43 * bin_hz + slack
    assert rolloff_cutoff(np.zeros(SR), SR) == 0.0  # all-zero frames give 0 Hz
    assert rolloff_cutoff(x, SR) == float(int(rolloff_cutoff(x, SR)))  # truncated to whole Hz


@pytest.mark.parametrize("kind", cs.KINDS)
def test_rolloff_matches_librosa(kind: str) -> None:
    """librosa's spectral_rolloff on the mono mix, averaged and truncated (white: 8009.69 Hz
    must give 8009, not 8010)."""
    librosa = pytest.importorskip("librosa")
    x = cs.dither(cs.brickwall(signal(kind), SR, 8000.0))
    stereo = np.stack([x, 0.5 * x[::-1]])
    expected = np.mean(
        librosa.feature.spectral_rolloff(y=stereo.mean(axis=0), sr=SR, roll_percent=0.99)
    )
    assert rolloff_cutoff(stereo, SR) == int(expected)


@pytest.mark.parametrize("kind", ["pink", "harmonic"])
def test_rolloff_underestimates(kind: str) -> None:
    x = cs.dither(cs.brickwall(signal(kind), SR, 16000.0))
    official, ours = rolloff_cutoff(x, SR), estimate_cutoff(x, SR)
    assert official < 16000.0 - 250.0
    assert abs(ours - 16000.0) < abs(official - 16000.0)
