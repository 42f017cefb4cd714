"""The offline corpus: public-domain scores (music21) rendered by the project's synthesizer.

``build_corpus(out, profile, seed)`` writes audio, MIDI, manifests and ``corpus_report.json``;
see :mod:`a2sb.data.corpus.build`.
"""

from __future__ import annotations

from .build import PROFILES, build_corpus

__all__ = ["PROFILES", "build_corpus"]
