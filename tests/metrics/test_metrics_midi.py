"""MIDI-F1: basic-pitch (ONNX) transcription scored onset-only with mir_eval (50 ms)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from metrics import bandwidth_limit
from metrics.errors import MetricUndefined
from metrics.midi_f1 import Note, load_midi_notes, midi_scores, note_scores
from metrics.synthetic import example_score, render_piano, write_midi

pytest.importorskip("basic_pitch")
pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SR = 44100


@pytest.fixture(scope="module")
def score(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Note], Path]:
    notes = example_score(seed=0)
    path = tmp_path_factory.mktemp("midi") / "score.mid"
    write_midi(notes, path)
    return notes, path


def test_midi_round_trip(score: tuple[list[Note], Path]) -> None:
    notes, path = score
    loaded = load_midi_notes(path)
    assert [n.pitch for n in loaded] == [n.pitch for n in notes]
    np.testing.assert_allclose([n.start for n in loaded], [n.start for n in notes], atol=2e-3)


def test_note_scores_hand_checked() -> None:
    ref = [Note(0.0, 0.5, 60), Note(1.0, 1.5, 64), Note(2.0, 2.5, 67), Note(3.0, 3.5, 72)]
    # One exact, one 40 ms late (within 50 ms), one 80 ms late (miss), one wrong pitch, one extra.
    est = [
        Note(0.0, 0.2, 60),
        Note(1.04, 1.5, 64),
        Note(2.08, 2.5, 67),
        Note(3.0, 3.5, 73),
        Note(4.0, 4.5, 50),
    ]
    scores = note_scores(ref, est)
    assert scores.precision == pytest.approx(2 / 5)
    assert scores.recall == pytest.approx(2 / 4)
    assert scores.f1 == pytest.approx(2 * 0.4 * 0.5 / 0.9)
    assert note_scores(ref, []).f1 == 0.0
    with pytest.raises(MetricUndefined):
        note_scores([], est)


def test_clean_rendering_scores_high_and_degraded_lower(score: tuple[list[Note], Path]) -> None:
    notes, path = score
    clean = render_piano(notes, SR)
    clean_scores = midi_scores(clean, SR, path)
    assert clean_scores.f1 >= 0.6, clean_scores
    rng = np.random.default_rng(1)
    degraded = bandwidth_limit(clean, SR, 500) + 0.3 * rng.standard_normal(clean.shape)
    degraded_scores = midi_scores(degraded, SR, path)
    assert degraded_scores.f1 < clean_scores.f1 - 0.1, (clean_scores, degraded_scores)
