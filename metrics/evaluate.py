"""Pairing of reference and estimate folders and per-item scoring: one row per item and metric.

Files pair by relative path (an estimate may have another audio extension: ``a/b.wav`` pairs
with ``a/b.flac``); reference MIDI files, for MIDI-F1, by the same relative path with ``.mid``
or ``.midi``. Both signals are downmixed to mono for LSD, SiSpec, ViSQOL and MIDI-F1; the stereo
metrics (:data:`STEREO_METRICS`, :mod:`metrics.stereo`) read the two channels, over the region
set by :attr:`EvalOptions.cutoff_hz` (bandwidth extension) or the gap list
``<gaps_dir>/<item>.gaps.json`` (inpainting), else the whole signal; the per-channel LSD and
SiSpec (:data:`CHANNEL_METRICS`, ``lsd_left`` ...) score each channel over the whole signal. The estimate is resampled
to the evaluation rate (the reference's, unless given) by :func:`a2sb.io.audio.resample`
(soxr "HQ"), and both are trimmed to the shorter length; each such step is recorded in the
row's ``notes``. A failure (missing estimate, unreadable file, NaN or Inf samples, a metric that
raises) becomes a row with ``status`` ``error`` and a one-line ``error``; an undefined metric
(e.g. SiSpec of silence, a stereo metric of a mono file) a row with ``status`` ``undefined`` and
an empty ``value``. Nothing raised by one item stops the run.
"""

from __future__ import annotations

import concurrent.futures
import csv
import io
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from a2sb.io.audio import audio_files, resample

from .audio import load_audio, prepare
from .degradations import gaps_json_path, read_gaps_json
from .errors import MetricsError, MetricUndefined
from .lsd import lsd_from_spectra
from .sispec import sispec_from_spectra
from .stereo import StereoMeasures, check_stereo, stereo_measures
from .stft import magnitude_stft

#: Stereo metrics (:mod:`metrics.stereo`), each read from one :class:`StereoMeasures`:
#: ``icc_err`` (0-1), ``ild_err`` and ``width_err`` (dB) lower is better; ``width_ref`` and
#: ``width_est`` are the side/mid ratios in dB (no better direction).
STEREO_METRICS = ("icc_err", "ild_err", "width_err", "width_ref", "width_est")

#: LSD and SiSpec of one channel of a stereo pair (no downmix): name -> (metric, channel index).
CHANNEL_METRICS = {
    "lsd_left": ("lsd", 0),
    "lsd_right": ("lsd", 1),
    "sispec_left": ("sispec", 0),
    "sispec_right": ("sispec", 1),
}

#: Metric names, in the order rows are written.
METRICS = ("lsd", "sispec", "visqol", "midi_f1", *STEREO_METRICS, *CHANNEL_METRICS)

#: Columns of per_item.csv after the ``--tag`` columns.
COLUMNS = (
    "item",
    "metric",
    "value",
    "status",
    "error",
    "notes",
    "seconds",
    "sample_rate",
    "duration_s",
    "reference",
    "estimate",
)

MIDI_EXTENSIONS = (".mid", ".midi")


@dataclass(frozen=True)
class Pair:
    """One item: its reference audio, its estimate (None when missing), its reference MIDI."""

    item: str
    reference: Path
    estimate: Path | None
    midi: Path | None = None
    problem: str = ""  # why the estimate is None or ambiguous


@dataclass(frozen=True)
class EvalOptions:
    """What to compute for each pair."""

    metrics: tuple[str, ...] = METRICS[:3]
    sample_rate: int | None = None  # evaluation rate for LSD and SiSpec; None: the reference's
    tags: dict[str, str] = field(default_factory=dict)
    need_midi: bool = False
    cutoff_hz: float | None = None  # stereo metrics: bandwidth extension above this cutoff
    gaps_dir: Path | None = None  # stereo metrics: inpainting, <gaps_dir>/<item>.gaps.json


def parse_metrics(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"lsd,sispec"`` -> ``("lsd", "sispec")``, checked against :data:`METRICS`."""
    names = [t.strip() for t in (text.split(",") if isinstance(text, str) else text)]
    names = [n for n in names if n]
    unknown = sorted(set(names) - set(METRICS))
    if unknown or not names:
        raise MetricsError(f"unknown metric(s) {unknown or names}; choose from {','.join(METRICS)}")
    return tuple(dict.fromkeys(names))


def check_stereo_options(
    metrics: Sequence[str],
    cutoff_hz: float | None,
    gaps_dir: str | os.PathLike[str] | None,
) -> None:
    """Refuse a stereo region that nothing uses, both a cutoff and gaps, a cutoff that is not
    a positive number, or a gap folder that does not exist (:class:`MetricsError`)."""
    if cutoff_hz is None and gaps_dir is None:
        return
    if not any(m in STEREO_METRICS for m in metrics):
        raise MetricsError(
            "--cutoff-hz and --gaps-dir set the region of the stereo metrics only; "
            f"add one of {','.join(STEREO_METRICS)} to --metrics"
        )
    if cutoff_hz is not None and gaps_dir is not None:
        raise MetricsError("give --cutoff-hz (bandwidth extension) or --gaps-dir, not both")
    if cutoff_hz is not None and not (math.isfinite(cutoff_hz) and cutoff_hz > 0):
        raise MetricsError(f"--cutoff-hz {cutoff_hz:g}: must be a positive number of Hz")
    if gaps_dir is not None and not Path(gaps_dir).is_dir():
        raise MetricsError(f"{gaps_dir}: gap list folder not found (--gaps-dir)")


def pair_files(
    reference_dir: str | os.PathLike[str],
    estimate_dir: str | os.PathLike[str],
    midi_dir: str | os.PathLike[str] | None = None,
) -> tuple[list[Pair], list[Path]]:
    """Pairs for every reference audio file, and the estimates that have no reference."""
    reference_dir, estimate_dir = Path(reference_dir), Path(estimate_dir)
    for name, folder in (("reference", reference_dir), ("estimate", estimate_dir)):
        if not folder.is_dir():
            raise MetricsError(f"{folder}: {name} folder not found")
    if midi_dir is not None and not Path(midi_dir).is_dir():
        raise MetricsError(f"{midi_dir}: MIDI folder not found")
    by_stem: dict[Path, list[Path]] = {}
    for est in audio_files(estimate_dir):
        by_stem.setdefault(est.relative_to(estimate_dir).with_suffix(""), []).append(est)
    pairs = []
    used: set[Path] = set()
    for ref in audio_files(reference_dir):
        rel = ref.relative_to(reference_dir)
        candidates = by_stem.get(rel.with_suffix(""), [])
        exact = [c for c in candidates if c.relative_to(estimate_dir) == rel]
        estimate, problem = None, ""
        if exact or len(candidates) == 1:
            estimate = (exact or candidates)[0]
        elif candidates:
            problem = "ambiguous estimate: " + ", ".join(str(c) for c in candidates)
        else:
            problem = f"missing estimate: {estimate_dir / rel}"
        used.update(candidates)
        midi = None
        if midi_dir is not None:
            for ext in MIDI_EXTENSIONS:
                path = Path(midi_dir) / rel.with_suffix(ext)
                if path.is_file():
                    midi = path
                    break
        pairs.append(Pair(rel.as_posix(), ref, estimate, midi, problem))
    orphans = sorted(p for group in by_stem.values() for p in group if p not in used)
    return pairs, orphans


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, MetricsError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _row(pair: Pair, options: EvalOptions, metric: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict(options.tags)
    row.update({c: "" for c in COLUMNS})
    row.update(
        item=pair.item,
        metric=metric,
        reference=str(pair.reference),
        estimate=str(pair.estimate or ""),
    )
    row.update(values)
    return row


def conform_pair(
    reference: np.ndarray, ref_rate: int, estimate: np.ndarray, est_rate: int, rate: int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Both signals ([T] or [T, C]) resampled to ``rate`` and trimmed to the shorter length,
    and the notes saying which of these steps happened."""
    notes = []
    if ref_rate != rate:
        notes.append(f"resampled reference {ref_rate}->{rate} Hz")
        reference = resample(reference, ref_rate, rate, axis=0)
    if est_rate != rate:
        notes.append(f"resampled estimate {est_rate}->{rate} Hz")
        estimate = resample(estimate, est_rate, rate, axis=0)
    n = min(len(reference), len(estimate))
    for what, x in (("reference", reference), ("estimate", estimate)):
        if len(x) != n:
            notes.append(f"trimmed {what} from {len(x)} to {n} samples")
    return reference[:n], estimate[:n], notes


def _stereo_region(pair: Pair, options: EvalOptions, rate: int) -> tuple[dict[str, Any], str]:
    """Keyword arguments of :func:`stereo_measures` for ``pair`` (cutoff, gaps or neither)
    and the note that says which."""
    if options.cutoff_hz is not None:
        if not options.cutoff_hz < rate / 2:
            raise MetricsError(f"cutoff {options.cutoff_hz:g} Hz is not below Nyquist at {rate} Hz")
        return {"cutoff_hz": options.cutoff_hz}, f"stereo region: above {options.cutoff_hz:g} Hz"
    if options.gaps_dir is not None:
        path = gaps_json_path(Path(options.gaps_dir) / pair.item)
        if not path.is_file():
            raise MetricsError(f"{path}: gap list not found (stereo metrics, --gaps-dir)")
        try:
            gaps = read_gaps_json(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise MetricsError(f"{path}: not a gap list ({_one_line(exc)})") from None
        return {"gaps": gaps}, f"stereo region: {len(gaps)} gap(s) from {path}"
    return {}, "stereo region: whole signal"


def evaluate_item(pair: Pair, options: EvalOptions) -> list[dict[str, Any]]:
    """Rows of one item, one per metric of ``options``; never raises."""
    notes: list[str] = []

    def failed(reason: str) -> list[dict[str, Any]]:
        return [
            _row(pair, options, m, status="error", error=reason, notes="; ".join(notes))
            for m in options.metrics
        ]

    try:
        if pair.estimate is None:
            return failed(pair.problem or "missing estimate")
        ref_raw, ref_rate = load_audio(pair.reference)
        est_raw, est_rate = load_audio(pair.estimate)
        for what, x in (("reference", ref_raw), ("estimate", est_raw)):
            if x.ndim == 2 and x.shape[1] > 1:
                notes.append(f"downmixed {what} from {x.shape[1]} channels")
        ref, est = prepare(ref_raw, "reference"), prepare(est_raw, "estimate")
        rate = options.sample_rate or ref_rate
        ref, est, conform_notes = conform_pair(ref, ref_rate, est, est_rate, rate)
        notes += conform_notes
        n = len(ref)
        for what, x in (("reference", ref), ("estimate", est)):
            if not np.any(x):
                notes.append(f"{what} is silent")
    except Exception as exc:  # every failure is a row, never a crash
        return failed(_one_line(exc))

    spectra: dict[str, np.ndarray] = {}

    def spectrum(which: str) -> np.ndarray:
        if which not in spectra:
            spectra[which] = magnitude_stft(ref if which == "ref" else est, rate)
        return spectra[which]

    # the stereo metrics share one computation on the two channels, and its notes (no downmix)
    stereo: dict[str, Any] = {"notes": list(conform_notes)}

    pair2: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def stereo_pair() -> tuple[np.ndarray, np.ndarray]:
        """Both signals [T, 2] at ``rate``, same length (raises on a mono one)."""
        if "pair" not in pair2:
            ref2 = check_stereo(ref_raw, "reference")
            est2 = check_stereo(est_raw, "estimate")
            pair2["pair"] = conform_pair(ref2, ref_rate, est2, est_rate, rate)[:2]
        return pair2["pair"]

    def channel_spectrum(which: str, channel: int) -> np.ndarray:
        key = f"{which}{channel}"
        if key not in spectra:
            x = stereo_pair()[0 if which == "ref" else 1][:, channel]
            spectra[key] = magnitude_stft(np.ascontiguousarray(x), rate)
        return spectra[key]

    def stereo_of_item() -> StereoMeasures:
        if "result" not in stereo:
            try:
                region, note = _stereo_region(pair, options, rate)
                stereo["notes"].append(note)
                ref2, est2 = stereo_pair()
                for what, x in (("reference", ref2), ("estimate", est2)):
                    if not np.any(x):
                        stereo["notes"].append(f"{what} is silent")
                stereo["result"] = stereo_measures(ref2, est2, rate, **region)
            except Exception as exc:
                stereo["result"] = exc
        if isinstance(stereo["result"], Exception):
            raise stereo["result"]
        return stereo["result"]

    def notes_of_metric(metric: str) -> list[str]:
        """The downmixed signals' notes, the stereo region's, or (per channel) the conforming's."""
        if metric in STEREO_METRICS:
            return stereo["notes"]
        return list(conform_notes) if metric in CHANNEL_METRICS else notes

    rows = []
    for metric in options.metrics:
        started = time.perf_counter()
        value: float | None = None
        status, error = "ok", ""
        try:
            if metric == "lsd":
                value = lsd_from_spectra(spectrum("ref"), spectrum("est"))
            elif metric == "sispec":
                value = sispec_from_spectra(spectrum("ref"), spectrum("est"))
            elif metric == "visqol":
                from .visqol import visqol

                value = visqol(ref, est, rate)
            elif metric == "midi_f1":
                if pair.midi is None:
                    raise MetricsError(
                        "missing reference MIDI (no .mid/.midi of this item in --midi)"
                        if options.need_midi
                        else "no MIDI folder given (--midi DIR)"
                    )
                from .midi_f1 import midi_f1

                value = midi_f1(est, rate, pair.midi)
            elif metric in STEREO_METRICS:
                value = getattr(stereo_of_item(), metric)
            elif metric in CHANNEL_METRICS:
                base, ch = CHANNEL_METRICS[metric]
                score = lsd_from_spectra if base == "lsd" else sispec_from_spectra
                value = score(channel_spectrum("ref", ch), channel_spectrum("est", ch))
            else:
                raise MetricsError(f"unknown metric {metric!r}")
        except MetricUndefined as exc:
            status, error = "undefined", _one_line(exc)
        except Exception as exc:
            status, error = "error", _one_line(exc)
        rows.append(
            _row(
                pair,
                options,
                metric,
                value="" if value is None else repr(float(value)),
                status=status,
                error=error,
                notes="; ".join(notes_of_metric(metric)),
                seconds=f"{time.perf_counter() - started:.3f}",
                sample_rate=rate,
                duration_s=f"{n / rate:.3f}",
            )
        )
    return rows


def _evaluate_item_star(args: tuple[Pair, EvalOptions]) -> list[dict[str, Any]]:
    return evaluate_item(*args)


def evaluate_pairs(
    pairs: Sequence[Pair],
    options: EvalOptions,
    jobs: int = 1,
    progress: Callable[[int, int, Pair], None] | None = None,
) -> list[dict[str, Any]]:
    """Rows of every pair, in pair order; ``jobs`` > 1 scores items in parallel processes."""
    rows: list[dict[str, Any]] = []
    if jobs <= 1 or len(pairs) <= 1:
        for i, pair in enumerate(pairs):
            rows.extend(evaluate_item(pair, options))
            if progress:
                progress(i + 1, len(pairs), pair)
        return rows
    context = multiprocessing.get_context("spawn")  # no fork of onnxruntime or numba threads
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=min(jobs, len(pairs)), mp_context=context
    ) as pool:
        futures = [pool.submit(_evaluate_item_star, (pair, options)) for pair in pairs]
        for i, (pair, future) in enumerate(zip(pairs, futures)):
            try:
                rows.extend(future.result())
            except Exception as exc:  # a worker that died (e.g. out of memory)
                reason = f"worker process failed: {_one_line(exc)}"
                rows.extend(
                    _row(pair, options, m, status="error", error=reason) for m in options.metrics
                )
            if progress:
                progress(i + 1, len(pairs), pair)
    return rows


def evaluate_dirs(
    reference_dir: str | os.PathLike[str],
    estimate_dir: str | os.PathLike[str],
    metrics: Sequence[str] = METRICS[:3],
    midi_dir: str | os.PathLike[str] | None = None,
    sample_rate: int | None = None,
    tags: dict[str, str] | None = None,
    jobs: int = 1,
    progress: Callable[[int, int, Pair], None] | None = None,
    cutoff_hz: float | None = None,
    gaps_dir: str | os.PathLike[str] | None = None,
) -> list[dict[str, Any]]:
    """Score every reference file of ``reference_dir`` against its estimate: rows as dicts.

    ``cutoff_hz`` or ``gaps_dir`` (folder of ``<item>.gaps.json``, e.g. the degraded inputs)
    set the region of the stereo metrics; neither: the whole signal.
    """
    metrics = parse_metrics(metrics)
    check_stereo_options(metrics, cutoff_hz, gaps_dir)
    pairs, orphans = pair_files(reference_dir, estimate_dir, midi_dir)
    if not pairs:
        raise MetricsError(f"{reference_dir}: no audio files in the reference folder")
    for orphan in orphans:
        print(f"warning: estimate without reference, ignored: {orphan}", file=sys.stderr)
    options = EvalOptions(
        metrics=metrics,
        sample_rate=sample_rate,
        tags=dict(tags or {}),
        need_midi=midi_dir is not None,
        cutoff_hz=None if cutoff_hz is None else float(cutoff_hz),
        gaps_dir=None if gaps_dir is None else Path(gaps_dir),
    )
    return evaluate_pairs(pairs, options, jobs=jobs, progress=progress)


def rows_to_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """CSV text of ``rows``; columns: given, else those of the first row, in order."""
    rows = list(rows)
    if columns is None:
        columns = list(rows[0]) if rows else list(COLUMNS)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def read_rows_csv(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
) -> list[dict[str, str]]:
    """Rows of one or more per-item CSV files (missing columns read as empty strings)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    rows: list[dict[str, str]] = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise MetricsError(f"{path}: per-item CSV not found")
        with path.open(newline="", encoding="utf-8") as f:
            rows.extend({k: v or "" for k, v in row.items()} for row in csv.DictReader(f))
    return rows
