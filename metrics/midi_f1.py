"""Note-onset F1 of an automatic transcription against the reference MIDI (Maestro tables).
From 0 to 1, higher is better.

Reference implementations:

- transcription: Spotify's basic-pitch (ICASSP 2022 model; always its ONNX export
  ``saved_models/icassp_2022/nmp.onnx``, shipped in the wheel, run by onnxruntime on CPU: no
  TensorFlow, no download) through ``basic_pitch.inference.predict`` with its defaults: input
  read with ``librosa.load(sr=22050, mono=True)`` (soxr "HQ" resampling), onset threshold 0.5,
  frame threshold 0.3, minimum note length 127.7 ms, melodia trick on, no frequency limits;
- scoring: ``mir_eval.transcription.precision_recall_f1_overlap`` onset-only
  (``offset_ratio=None``), onset tolerance 50 ms, pitch tolerance 50 cents.

Reference notes are every note of every non-drum instrument of the MIDI file (pretty_midi); a
note with non-positive duration is given 1 ms (mir_eval needs positive intervals; offsets are
not scored). A reference without notes makes the metric undefined (:class:`MetricUndefined`);
an empty transcription scores 0. Install: ``pip install --no-deps basic-pitch`` plus
onnxruntime, librosa, ``resampy<0.4.3``, scikit-learn and ``setuptools<81`` (its declared
TensorFlow dependency would pull a huge wheel and downgrade numpy).
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from .audio import prepare
from .errors import AudioError, MetricUndefined

#: Onset tolerance of the note matching, in seconds.
ONSET_TOLERANCE_S = 0.05


@dataclass(frozen=True)
class Note:
    """A note event: onset and offset in seconds, MIDI pitch, velocity-like amplitude in [0, 1]."""

    start: float
    end: float
    pitch: int
    amplitude: float = 1.0


@dataclass(frozen=True)
class NoteScores:
    """Onset-only note precision, recall and F1, with the note counts."""

    precision: float
    recall: float
    f1: float
    n_reference: int
    n_estimate: int


@contextlib.contextmanager
def _quiet() -> Any:
    """Silence basic-pitch's import-time warnings (logged on the root logger), resampy's
    pkg_resources deprecation warning, mir_eval's empty-input warnings and predict()'s print."""
    root = logging.getLogger()
    null = logging.NullHandler()
    root.addHandler(null)  # stops logging.warning() from installing a stderr handler
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)
        root.removeHandler(null)


@functools.lru_cache(maxsize=1)
def _model() -> Any:
    """The basic-pitch ONNX model, loaded once per process."""
    with _quiet():
        try:
            from basic_pitch import FilenameSuffix, build_icassp_2022_model_path
            from basic_pitch.inference import Model
        except ImportError as exc:
            raise ImportError(
                f"MIDI-F1 needs basic-pitch ({exc}): pip install --no-deps basic-pitch==0.4.0 "
                "plus the metrics extra (onnxruntime, librosa, resampy<0.4.3, scikit-learn)"
            ) from exc

        path = build_icassp_2022_model_path(FilenameSuffix.onnx)
        if not path.is_file():
            raise AudioError(f"basic-pitch ONNX model not found: {path}")
        return Model(path)


def transcribe(audio: np.ndarray, sample_rate: int) -> list[Note]:
    """Transcribe [T] or [T, C] audio (downmixed) with basic-pitch -> notes sorted by onset."""
    mono = prepare(audio, "estimate").astype(np.float32)
    model = _model()
    with _quiet():
        from basic_pitch.inference import predict

        fd, tmp = tempfile.mkstemp(suffix=".wav")
        os.close(fd)
        try:
            # basic-pitch reads a file; FLOAT keeps the samples exact.
            sf.write(tmp, mono, sample_rate, subtype="FLOAT")
            _, _, events = predict(tmp, model)
        finally:
            Path(tmp).unlink(missing_ok=True)
    notes = [Note(float(s), float(e), int(p), float(a)) for s, e, p, a, _ in events]
    return sorted(notes, key=lambda n: (n.start, n.pitch))


def load_midi_notes(path: str | os.PathLike[str]) -> list[Note]:
    """Notes of every non-drum instrument of a MIDI file, sorted by onset."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"missing MIDI file: {path}")
    with _quiet():
        import pretty_midi

        try:
            midi = pretty_midi.PrettyMIDI(str(path))
        except Exception as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise AudioError(f"unreadable MIDI file {path}: {reason}") from exc
    notes = [
        Note(float(n.start), float(n.end), int(n.pitch), n.velocity / 127.0)
        for inst in midi.instruments
        if not inst.is_drum
        for n in inst.notes
    ]
    return sorted(notes, key=lambda n: (n.start, n.pitch))


def _as_mir_eval(notes: list[Note]) -> tuple[np.ndarray, np.ndarray]:
    if not notes:
        return np.zeros((0, 2)), np.zeros(0)
    intervals = np.array([[n.start, max(n.end, n.start + 1e-3)] for n in notes], dtype=float)
    pitches = 440.0 * 2.0 ** ((np.array([n.pitch for n in notes], dtype=float) - 69.0) / 12.0)
    return intervals, pitches


def note_scores(
    reference: list[Note], estimate: list[Note], onset_tolerance: float = ONSET_TOLERANCE_S
) -> NoteScores:
    """Onset-only precision, recall and F1 (mir_eval, 50 cents, ``onset_tolerance`` s).

    Raises :class:`MetricUndefined` when the reference has no notes.
    """
    if not reference:
        raise MetricUndefined("MIDI-F1 undefined: the reference MIDI has no notes")
    if not estimate:
        return NoteScores(0.0, 0.0, 0.0, len(reference), 0)
    import mir_eval

    ref_int, ref_pitch = _as_mir_eval(reference)
    est_int, est_pitch = _as_mir_eval(estimate)
    with _quiet():
        p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(
            ref_int,
            ref_pitch,
            est_int,
            est_pitch,
            onset_tolerance=onset_tolerance,
            pitch_tolerance=50.0,
            offset_ratio=None,
        )
    return NoteScores(float(p), float(r), float(f), len(reference), len(estimate))


def midi_scores(
    estimate_audio: np.ndarray, sample_rate: int, reference_midi_path: str | os.PathLike[str]
) -> NoteScores:
    """Transcribe ``estimate_audio`` and score it against the notes of ``reference_midi_path``."""
    reference = load_midi_notes(reference_midi_path)
    if not reference:
        raise MetricUndefined(f"MIDI-F1 undefined: no notes in {reference_midi_path}")
    return note_scores(reference, transcribe(estimate_audio, sample_rate))


def midi_f1(
    estimate_audio: np.ndarray, sample_rate: int, reference_midi_path: str | os.PathLike[str]
) -> float:
    """Note-onset F1 of the basic-pitch transcription of ``estimate_audio`` against the MIDI."""
    return midi_scores(estimate_audio, sample_rate, reference_midi_path).f1
