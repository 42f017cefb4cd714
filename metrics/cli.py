"""Command line of the metrics library: ``python -m metrics`` or ``a2sb-metrics``.

::

    python -m metrics evaluate --reference DIR --estimate DIR [--metrics lsd,sispec,visqol,midi_f1]
        [--midi DIR] [--sample-rate HZ] [--tag method=a2sb ...] [--jobs N] --out per_item.csv
        [--cutoff-hz HZ | --gaps-dir DIR]   # region of the stereo metrics icc_err, ild_err, ...
    python -m metrics stereo --reference REF.wav --estimate EST.wav
        [--cutoff-hz HZ | --gaps 2.0-2.3,7.0-7.3 | --gaps-json X.gaps.json] [--json]
    python -m metrics aggregate per_item.csv [more.csv ...] --by method,dataset,setting
        --out summary.csv
    python -m metrics degrade --task bandwidth-extension --cutoff-hz 4000 IN OUT
    python -m metrics degrade --task inpainting --gap-ms 300 --in-dir DIR --out-dir DIR

Exit status: 0 on success (failed items are rows, not a failure of the command), 2 for any error
of the command, bad arguments included (one line on stderr, ``metrics: error: ...``, the same
convention as ``a2sb`` and ``python -m baselines``); options and output paths are checked before
any file is read.
``degrade`` never writes over its own input: an output path that is an input file is refused
before anything is written.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import soundfile as sf

from a2sb.cli import add_version
from a2sb.errors import A2SBError, report_error
from a2sb.io.atomic import check_output_path, write_text
from a2sb.io.audio import audio_format, plan_outputs, write_audio
from a2sb.tasks import Task, parse_gaps

from .aggregate import STAT_COLUMNS, aggregate_rows
from .audio import load_audio
from .degradations import (
    apply_gaps,
    bandwidth_limit,
    inpainting_gaps,
    read_gaps_json,
    write_gaps_json,
)
from .errors import AudioError, MetricsError
from .evaluate import (
    COLUMNS,
    METRICS,
    Pair,
    check_stereo_options,
    conform_pair,
    evaluate_dirs,
    parse_metrics,
    read_rows_csv,
    rows_to_csv,
)
from .stereo import StereoMeasures, check_gaps, stereo_measures

#: Name that starts the command's one-line error messages (``metrics: error: ...``).
PROG = "metrics"
#: ``--sample-rate`` bounds (Hz): telephone band to 8x 48 kHz; a typo such as 1e8 is refused
#: before it resamples every file to gigabytes
MIN_RATE, MAX_RATE = 1000, 384_000
#: ``--jobs`` upper bound (processes)
MAX_JOBS = 256


def _parse_tags(items: Sequence[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise MetricsError(f"--tag needs NAME=VALUE, got {item!r}")
        if key in COLUMNS:
            raise MetricsError(f"--tag {key} would overwrite the column {key!r}")
        tags[key] = value
    return tags


def _progress(done: int, total: int, pair: Pair) -> None:
    print(f"[{done}/{total}] {pair.item}", file=sys.stderr, flush=True)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    # every option first, then the output path, then the input folders: before any file is read
    if args.sample_rate is not None and not MIN_RATE <= args.sample_rate <= MAX_RATE:
        raise MetricsError(
            f"--sample-rate {args.sample_rate}: out of range ({MIN_RATE} to {MAX_RATE} Hz)"
        )
    if not 1 <= args.jobs <= MAX_JOBS:
        raise MetricsError(f"--jobs {args.jobs}: out of range (1 to {MAX_JOBS})")
    metrics = parse_metrics(args.metrics)
    if "midi_f1" in metrics and args.midi is None:
        raise MetricsError("metric midi_f1 needs the reference MIDI folder: --midi DIR")
    check_stereo_options(metrics, args.cutoff_hz, args.gaps_dir)
    tags = _parse_tags(args.tag)
    check_output_path(args.out)
    for name, folder in (("reference", args.reference), ("estimate", args.estimate)):
        if not Path(folder).is_dir():
            raise MetricsError(f"{folder}: {name} folder not found")
    rows = evaluate_dirs(
        args.reference,
        args.estimate,
        metrics=metrics,
        midi_dir=args.midi,
        sample_rate=args.sample_rate,
        tags=tags,
        jobs=args.jobs,
        progress=None if args.quiet else _progress,
        cutoff_hz=args.cutoff_hz,
        gaps_dir=args.gaps_dir,
    )
    write_text(args.out, rows_to_csv(rows, list(tags) + list(COLUMNS)))
    bad = sum(r["status"] != "ok" for r in rows)
    print(
        f"wrote {len(rows)} rows to {args.out} ({bad} not ok: see columns status and error)",
        file=sys.stderr,
    )
    return 0


def _cmd_aggregate(args: argparse.Namespace) -> int:
    check_output_path(args.out)
    by = [c.strip() for c in args.by.split(",") if c.strip()] if args.by else []
    rows = read_rows_csv(args.per_item)
    summary = aggregate_rows(rows, by)
    keys = [c for c in by if c != "metric"] + ["metric"]
    write_text(args.out, rows_to_csv(summary, keys + list(STAT_COLUMNS)))
    print(f"wrote {len(summary)} groups to {args.out}", file=sys.stderr)
    return 0


def _stereo_table(m: StereoMeasures) -> str:
    """The per-band table and the errors of ``python -m metrics stereo``."""
    head = ("band_hz", "bins", "scored", "icc_ref", "icc_est", "ild_ref", "ild_est")
    lines = [
        f"region: {m.region}, {m.n_frames} STFT frames at {m.sample_rate} Hz "
        "(ILD and width in dB, + = left louder; bands not scored: reference silent)",
        "{:>13} {:>5} {:>6} {:>7} {:>7} {:>7} {:>7} {:>9} {:>9}".format(
            *head, "width_ref", "width_est"
        ),
    ]
    edges = m.band_edges_hz
    for b in range(len(m.band_bins)):
        band = f"{edges[b]:.0f}-{edges[b + 1]:.0f}"
        lines.append(
            f"{band:>13} {m.band_bins[b]:>5d} {'yes' if m.active[b] else 'no':>6} "
            f"{m.icc_ref[b]:7.3f} {m.icc_est[b]:7.3f} {m.ild_ref[b]:7.2f} {m.ild_est[b]:7.2f} "
            f"{m.width_band_ref[b]:9.2f} {m.width_band_est[b]:9.2f}"
        )
    lines.append(
        f"icc_err {m.icc_err:.4f}  ild_err {m.ild_err:.3f} dB  width_ref {m.width_ref:.2f} dB  "
        f"width_est {m.width_est:.2f} dB  width_err {m.width_err:.3f} dB"
    )
    return "\n".join(lines)


def _cmd_stereo(args: argparse.Namespace) -> int:
    # options first, then the files
    gaps: list[tuple[float, float]] | None = None
    if args.cutoff_hz is not None and not (math.isfinite(args.cutoff_hz) and args.cutoff_hz > 0):
        raise MetricsError(f"--cutoff-hz {args.cutoff_hz:g}: must be a positive number of Hz")
    if args.gaps is not None:
        gaps = check_gaps(parse_gaps(args.gaps))
    elif args.gaps_json is not None:
        try:
            gaps = read_gaps_json(args.gaps_json)
        except FileNotFoundError:
            raise MetricsError(f"{args.gaps_json}: gap list not found") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise MetricsError(f"{args.gaps_json}: not a gap list ({exc})") from None
        gaps = check_gaps(gaps)
    signals = []
    for path in (args.reference, args.estimate):
        audio, rate = load_audio(path)
        channels = 1 if audio.ndim == 1 else audio.shape[1]
        if channels != 2:
            raise MetricsError(f"{path}: {channels} channel(s); the stereo measures need 2")
        signals.append((audio, rate))
    (ref, ref_rate), (est, est_rate) = signals
    ref, est, notes = conform_pair(ref, ref_rate, est, est_rate, ref_rate)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    try:
        measures = stereo_measures(ref, est, ref_rate, cutoff_hz=args.cutoff_hz, gaps=gaps)
    except MetricsError as exc:
        raise MetricsError(f"{args.reference} vs {args.estimate}: {exc}") from None
    print(json.dumps(measures.to_dict(), indent=1) if args.json else _stereo_table(measures))
    return 0


def _subtype(source: Path, target: Path, requested: str | None) -> str | None:
    """The requested subtype, else the source's when the target format takes it."""
    if requested:
        return requested
    info = sf.info(str(source))
    return info.subtype if sf.check_format(audio_format(target), info.subtype) else None


def _degrade_file(source: Path, target: Path, args: argparse.Namespace) -> None:
    audio, rate = load_audio(source)  # [T] or [T, C]
    if args.task == Task.BANDWIDTH_EXTENSION:
        out = bandwidth_limit(audio, rate, args.cutoff_hz)
    else:
        gaps = inpainting_gaps(len(audio) / rate, args.gap_ms)
        out = apply_gaps(audio, rate, gaps)
    subtype = _subtype(source, target, args.subtype)
    write_audio(target, out.T if out.ndim == 2 else out, rate, subtype=subtype)
    if args.task == Task.INPAINTING:
        write_gaps_json(target, gaps, args.gap_ms, rate)


def _cmd_degrade(args: argparse.Namespace) -> int:
    if args.task == Task.BANDWIDTH_EXTENSION and args.cutoff_hz is None:
        raise MetricsError("--task bandwidth-extension needs --cutoff-hz")
    if args.task == Task.INPAINTING and args.gap_ms is None:
        raise MetricsError("--task inpainting needs --gap-ms")
    jobs = plan_outputs(args.paths, args.in_dir, args.out_dir, args.subtype)
    for source, target in jobs:
        _degrade_file(source, target, args)
        if not args.quiet:
            print(f"{source} -> {target}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m metrics``."""
    parser = argparse.ArgumentParser(
        prog="python -m metrics",
        description="A2SB evaluation metrics (LSD, SiSpec, ViSQOL, MIDI-F1, stereo image) and "
        "degradations.",
    )
    add_version(parser)
    sub = parser.add_subparsers(dest="command", required=True)

    ev = sub.add_parser("evaluate", help="score estimates against references: per_item.csv")
    ev.add_argument("--reference", required=True, help="folder of ground-truth audio")
    ev.add_argument("--estimate", required=True, help="folder of restored audio (same paths)")
    ev.add_argument(
        "--metrics",
        default="lsd,sispec,visqol",
        help=f"comma-separated subset of {','.join(METRICS)} (default: lsd,sispec,visqol)",
    )
    ev.add_argument("--midi", help="folder of reference MIDI files (same paths, .mid/.midi)")
    ev.add_argument(
        "--sample-rate",
        type=int,
        help="evaluation rate for LSD and SiSpec (default: each reference's own rate)",
    )
    ev.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="constant column for every row, e.g. --tag method=a2sb (repeatable)",
    )
    ev.add_argument("--jobs", type=int, default=1, help="parallel processes (default 1)")
    ev.add_argument("--out", required=True, help="per-item CSV to write")
    ev.add_argument("--quiet", action="store_true", help="no progress on stderr")
    ev_region = ev.add_mutually_exclusive_group()
    ev_region.add_argument(
        "--cutoff-hz",
        type=float,
        help="stereo metrics: bandwidth extension, measured above this cutoff",
    )
    ev_region.add_argument(
        "--gaps-dir",
        help="stereo metrics: inpainting, measured inside the gaps of DIR/<item>.gaps.json "
        "(the degraded folder); default for both: the whole signal",
    )
    ev.set_defaults(func=_cmd_evaluate)

    ag = sub.add_parser("aggregate", help="mean, std, n and 95%% CI per group: summary.csv")
    ag.add_argument("per_item", nargs="+", help="per-item CSV file(s) from evaluate")
    ag.add_argument("--by", default="", help="comma-separated grouping columns (plus metric)")
    ag.add_argument("--out", required=True, help="summary CSV to write")
    ag.set_defaults(func=_cmd_aggregate)

    st = sub.add_parser(
        "stereo", help="inter-channel coherence, level difference and width per band, one pair"
    )
    st.add_argument("--reference", required=True, help="ground-truth stereo audio file")
    st.add_argument("--estimate", required=True, help="restored stereo audio file")
    st_region = st.add_mutually_exclusive_group()
    st_region.add_argument("--cutoff-hz", type=float, help="bandwidth extension: above this cutoff")
    st_region.add_argument(
        "--gaps", help="inpainting: gaps in seconds, START-END[,START-END...], e.g. 2.0-2.3"
    )
    st_region.add_argument("--gaps-json", help="inpainting: the X.gaps.json beside the input")
    st.add_argument("--json", action="store_true", help="print JSON instead of a table")
    st.set_defaults(func=_cmd_stereo)

    dg = sub.add_parser("degrade", help="make the evaluation inputs (SPEC 8)")
    dg.add_argument("--task", required=True, choices=[t.value for t in Task])
    dg.add_argument("--cutoff-hz", type=float, help="bandwidth extension: cutoff in Hz")
    dg.add_argument("--gap-ms", type=float, help="inpainting: gap length in ms")
    dg.add_argument("--in-dir", help="folder mode: every audio file below it (not hidden ones)")
    dg.add_argument("--out-dir", help="folder mode: mirrored output folder")
    dg.add_argument("--subtype", help="soundfile subtype, e.g. FLOAT (default: the input's)")
    dg.add_argument("--quiet", action="store_true", help="no progress on stderr")
    dg.add_argument("paths", nargs="*", metavar="IN OUT", help="input and output audio files")
    dg.set_defaults(func=_cmd_degrade)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or bad arguments (2, argparse's own message)
        return int(exc.code or 0)
    try:
        return int(args.func(args))
    except (MetricsError, AudioError, A2SBError, ValueError, OSError) as exc:
        return report_error(PROG, exc)
