"""ViSQOL audio mode through visqol-python (numba-accelerated), at 48 kHz."""

from __future__ import annotations

import numpy as np
import pytest

from metrics import bandwidth_limit, visqol
from metrics.errors import MetricUndefined
from metrics.synthetic import music_like

pytest.importorskip("visqol")


@pytest.fixture(scope="module")
def music48() -> np.ndarray:
    return music_like(4.0, 48000, seed=4)


def test_visqol_of_identical_signals_is_the_ceiling(music48: np.ndarray) -> None:
    assert visqol(music48, music48, 48000) == pytest.approx(4.732, abs=1e-3)


def test_visqol_drops_for_a_4khz_lowpass(music48: np.ndarray) -> None:
    low = bandwidth_limit(music48, 48000, 4000)
    score = visqol(music48, low, 48000)
    assert 1.0 <= score < 4.732 - 0.5


def test_visqol_resamples_to_48k() -> None:
    x = music_like(2.0, 44100, seed=5)
    assert visqol(x, x, 44100) == pytest.approx(4.732, abs=1e-3)


def test_visqol_of_silence_is_undefined(music48: np.ndarray) -> None:
    with pytest.raises(MetricUndefined, match="estimate is silent"):
        visqol(music48, np.zeros_like(music48), 48000)
    with pytest.raises(MetricUndefined, match="reference is silent"):
        visqol(np.zeros_like(music48), music48, 48000)
