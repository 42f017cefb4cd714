"""Command line of the metrics library: ``python -m metrics`` or ``a2sb-metrics``.

::

    python -m metrics evaluate --reference DIR --estimate DIR [--metrics lsd,sispec,visqol,midi_f1]
        [--midi DIR] [--sample-rate HZ] [--tag method=a2sb ...] [--jobs N] --out per_item.csv
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
import sys
from collections.abc import Sequence
from pathlib import Path

import soundfile as sf

from a2sb.cli import add_version
from a2sb.errors import A2SBError, report_error
from a2sb.io.atomic import check_output_path, write_text
from a2sb.io.audio import audio_format, plan_outputs, write_audio
from a2sb.tasks import Task

from .aggregate import STAT_COLUMNS, aggregate_rows
from .audio import load_audio
from .degradations import apply_gaps, bandwidth_limit, inpainting_gaps, write_gaps_json
from .errors import AudioError, MetricsError
from .evaluate import (
    COLUMNS,
    METRICS,
    Pair,
    evaluate_dirs,
    parse_metrics,
    read_rows_csv,
    rows_to_csv,
)

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
        description="A2SB evaluation metrics (LSD, SiSpec, ViSQOL, MIDI-F1) and degradations.",
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
    ev.set_defaults(func=_cmd_evaluate)

    ag = sub.add_parser("aggregate", help="mean, std, n and 95%% CI per group: summary.csv")
    ag.add_argument("per_item", nargs="+", help="per-item CSV file(s) from evaluate")
    ag.add_argument("--by", default="", help="comma-separated grouping columns (plus metric)")
    ag.add_argument("--out", required=True, help="summary CSV to write")
    ag.set_defaults(func=_cmd_aggregate)

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
