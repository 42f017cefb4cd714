"""Evaluation metrics of the A2SB reproduction, usable on any model's outputs.

One module per metric, each stating its reference implementation, parameters and sign
convention (see ``metrics/README.md``)::

    from metrics import lsd, sispec, visqol, midi_f1
    lsd(reference, estimate, 44100)      # eq. 21, lower is better
    sispec(reference, estimate, 44100)   # eq. 22, dB, higher is better
    visqol(reference, estimate, 44100)   # MOS-LQO 1-5 at 48 kHz, higher is better
    midi_f1(estimate, 44100, "ref.mid")  # note-onset F1, higher is better
    stereo_measures(reference, estimate, 44100, cutoff_hz=4000)  # [T, 2]: ICC, ILD, width

The package-level names are the functions; module constants are imported from the modules
(``from metrics.lsd import EPS``). Of the ``a2sb`` package it uses only the torch-free
:mod:`a2sb.io` (audio files, resampling, atomic writes), :mod:`a2sb.errors` and
:mod:`a2sb.tasks`: importing ``metrics`` does not load torch.
"""

from __future__ import annotations

from .aggregate import aggregate_rows, mean_ci
from .degradations import apply_gaps, bandwidth_limit, inpainting_gaps
from .errors import AudioError, MetricsError, MetricUndefined
from .evaluate import METRICS, evaluate_dirs
from .lsd import lsd
from .midi_f1 import midi_f1, transcribe
from .sispec import sispec
from .stereo import StereoMeasures, stereo_measures
from .visqol import visqol

__all__ = [
    "METRICS",
    "AudioError",
    "MetricUndefined",
    "MetricsError",
    "StereoMeasures",
    "aggregate_rows",
    "apply_gaps",
    "bandwidth_limit",
    "evaluate_dirs",
    "inpainting_gaps",
    "lsd",
    "mean_ci",
    "midi_f1",
    "sispec",
    "stereo_measures",
    "transcribe",
    "visqol",
]
