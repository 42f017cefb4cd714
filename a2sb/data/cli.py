"""``a2sb data ...``: registry, downloads, licences, filtering, manifests, offline corpus, replicas.

The main CLI calls :func:`register_cli` with its sub-parsers. Each command's ``func(args)``
returns an exit code; library errors print one line ``a2sb: error: ...`` and return 2.
``python -m a2sb.data.cli data ...`` runs the same commands standalone.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from a2sb.errors import A2SBError

Command = Callable[[argparse.Namespace], int]


def _guard(func: Command) -> Command:
    """Turn library and OS errors into one stderr line and exit status 2."""

    @functools.wraps(func)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except A2SBError as exc:
            print(f"a2sb: error: {exc}", file=sys.stderr)
        except OSError as exc:
            where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
            print(f"a2sb: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2

    return wrapper


def _registry(args: argparse.Namespace):
    from .registry import load_registry

    return load_registry(args.registry)


@_guard
def cmd_list(args: argparse.Namespace) -> int:
    """Print the registry: one line per dataset (or JSON)."""
    from .registry import summary_rows

    rows = summary_rows(_registry(args))
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'name':<20} {'role':<15} {'licence':<28} {'files':>5}  manual")
    for r in rows:
        licence = r["license"] or "unknown"  # summary_rows keeps the registry's key
        print(f"{r['name']:<20} {r['role']:<15} {licence:<28} {r['files']:>5}  {r['manual']}")
    return 0


@_guard
def cmd_fetch(args: argparse.Namespace) -> int:
    """Download (and safely extract) datasets; manual ones print instructions."""
    from .download import fetch

    reports = fetch(
        args.names,
        _registry(args),
        args.root,
        files=args.files,
        extract=not args.no_extract,
        max_extract_bytes=int(args.max_extract_gb * (1 << 30)) if args.max_extract_gb else None,
        retries=args.retries,
        timeout=args.timeout,
        progress=not args.no_progress,
    )
    for r in reports:
        parts = [
            f"{len(r.downloaded)} downloaded",
            f"{len(r.present)} already present",
            f"{len(r.extracted)} extracted",
        ]
        if r.unverified:
            parts.append(f"{len(r.unverified)} without a published checksum")
        if r.skipped:
            parts.append(f"{len(r.skipped)} skipped")
        if r.manual:
            parts.append("manual steps printed above")
        print(f"{r.dataset}: " + ", ".join(parts))
    return 0


@_guard
def cmd_licence(args: argparse.Namespace) -> int:
    """Classify a licence string: prints ``class<TAB>reason``."""
    from .licences import classify

    text = " ".join(args.text)
    verdict = classify(text, allow_sampling_plus=args.allow_sampling_plus)
    if args.json:
        print(json.dumps({"text": text, "class": verdict.licence_class, "reason": verdict.reason}))
    else:
        print(f"{verdict.licence_class}\t{verdict.reason}")
    return 0


@_guard
def cmd_filter(args: argparse.Namespace) -> int:
    """Licence-filter fetched datasets; write kept/dropped lists, reports and the table."""
    from .filtering import (
        discover_items,
        filter_items,
        licence_report,
        write_filter_outputs,
        write_report_table,
    )
    from .registry import get_dataset

    registry = _registry(args)
    root = Path(args.root)
    out = Path(args.out) if args.out else root
    reports = []
    for name in args.names:
        ds = get_dataset(name, registry)
        items = discover_items(ds, root / ds.name / "raw", probe_durations=not args.no_durations)
        decisions = filter_items(
            ds, items, allow_sampling_plus=args.allow_sampling_plus, research_use=args.research_use
        )
        report = licence_report(
            ds,
            decisions,
            allow_sampling_plus=args.allow_sampling_plus,
            research_use=args.research_use,
        )
        write_filter_outputs(out / ds.name, ds, decisions, report)
        reports.append(report)
        print(
            f"{ds.name}: kept {report['kept']['items']} items ({report['kept']['hours']:.2f} h), dropped {report['dropped']['items']} ({report['dropped']['hours']:.2f} h)"
        )
    write_report_table(out / "licence_report.csv", reports)
    write_report_table(out / "licence_report.md", reports)
    return 0


@_guard
def cmd_manifest(args: argparse.Namespace) -> int:
    """Write a manifest CSV (and its dropped list) for audio files or directories."""
    from .filtering import read_kept, read_kept_splits
    from .manifest import build_manifest, dropped_path, find_audio

    files = find_audio(args.inputs)
    split_arg: str | Callable[[Path], str] = args.split
    if args.kept:
        kept = read_kept(args.kept)
        splits = read_kept_splits(args.kept)
        raw = Path(args.raw_dir).resolve() if args.raw_dir else Path(args.kept).parent.resolve()

        def key_of(p: Path) -> str | None:
            try:
                return p.resolve().relative_to(raw).as_posix()
            except ValueError:
                return None

        def licence_of(p: Path) -> str | None:
            key = key_of(p)
            return None if key is None else kept.get(key, (None, None))[0]

        licence_arg: str | Callable[[Path], str | None] | None = licence_of
        if splits:  # the dataset's own splits (MAESTRO's csv); --split for the others

            def split_of(p: Path) -> str:
                return splits.get(key_of(p) or "", args.split)

            split_arg = split_of
    else:
        licence_arg = args.licence
    allowed = None if args.all_classes else ("permissive",)
    rows, dropped = build_manifest(
        args.out,
        files,
        dataset=args.dataset,
        split=split_arg,
        licence=licence_arg,
        allowed_classes=allowed,
        progress=not args.no_progress,
    )
    print(f"{args.out}: {len(rows)} rows; {len(dropped)} dropped -> {dropped_path(args.out)}")
    return 0


@_guard
def cmd_corpus(args: argparse.Namespace) -> int:
    """Build the offline corpus (no network)."""
    from .corpus.build import build_corpus

    report = build_corpus(
        args.out,
        args.profile,
        args.seed,
        sets=args.sets,
        renderer=args.renderer,
        soundfont=args.soundfont,
        progress=not args.no_progress,
        log=lambda m: print(m, file=sys.stderr),
    )
    print(
        f"{args.out}: {report['total_seconds']:.1f} s of audio, {report['total_bytes'] / 1e6:.1f} MB, built in {report['build_seconds']:.1f} s"
    )
    return 0


@_guard
def cmd_replica(args: argparse.Namespace) -> int:
    """Build miniature replicas of every registry dataset (serve OUT/www at the base URL)."""
    from .replica import build_replicas

    replicas = build_replicas(args.out, args.base_url, seed=args.seed, seconds=args.seconds)
    for name, e in replicas.expected.items():
        print(
            f"{name}: {replicas.summary.get(name, '')}; {e['items']} items, kept {e['kept']}, dropped {e['dropped']}, research-use kept {e['kept_research']}"
        )
    print(f"{args.out}: registry {replicas.registry}; serve {replicas.www} at {args.base_url}")
    return 0


def register_cli(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``data`` command and its sub-commands to the main CLI's sub-parsers."""
    p = subparsers.add_parser(
        "data",
        help="datasets: registry, downloads, licences, manifests, offline corpus",
        description=__doc__.splitlines()[0],
    )
    sub = p.add_subparsers(dest="data_command", metavar="COMMAND", required=True)

    def registry_arg(q: argparse.ArgumentParser) -> None:
        q.add_argument(
            "--registry",
            type=Path,
            default=None,
            metavar="FILE",
            help="registry YAML (default: the built-in a2sb/data/registry.yaml)",
        )

    q = sub.add_parser("list", help="list the dataset registry")
    registry_arg(q)
    q.add_argument(
        "--json", action="store_true", help="JSON with verified and unknown facts per entry"
    )
    q.set_defaults(func=cmd_list)

    q = sub.add_parser("fetch", help="download, verify and extract datasets (NAME... or all)")
    q.add_argument("names", nargs="+", metavar="NAME")
    registry_arg(q)
    q.add_argument(
        "--root",
        required=True,
        type=Path,
        metavar="DIR",
        help="data root: files go to DIR/<name>/{downloads,raw}",
    )
    q.add_argument(
        "--file",
        action="append",
        dest="files",
        metavar="FILENAME",
        help="fetch only this file of the dataset (repeatable)",
    )
    q.add_argument("--no-extract", action="store_true", help="download only")
    q.add_argument(
        "--max-extract-gb",
        type=float,
        default=None,
        help="cap on each archive's expanded size (default 20x its size)",
    )
    q.add_argument("--retries", type=int, default=5)
    q.add_argument("--timeout", type=float, default=60.0, help="seconds per network operation")
    q.add_argument("--no-progress", action="store_true")
    q.set_defaults(func=cmd_fetch)

    q = sub.add_parser("licence", aliases=["license"], help="classify a licence string")
    q.add_argument("text", nargs="+", metavar="TEXT")
    q.add_argument(
        "--allow-sampling-plus",
        action="store_true",
        help="keep CC Sampling+ 1.0 (rejected by default)",
    )
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_licence)

    q = sub.add_parser(
        "filter", help="licence-filter fetched datasets and write the licence report"
    )
    q.add_argument("names", nargs="+", metavar="NAME")
    registry_arg(q)
    q.add_argument("--root", required=True, type=Path, metavar="DIR")
    q.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output dir (default: --root); writes <name>/{kept,dropped}.csv, licence_report.*",
    )
    q.add_argument("--allow-sampling-plus", action="store_true")
    q.add_argument(
        "--research-use",
        action="store_true",
        help="keep research-use-only datasets (Maestro) for the separate experiment",
    )
    q.add_argument(
        "--no-durations", action="store_true", help="do not read audio headers for durations"
    )
    q.set_defaults(func=cmd_filter)

    q = sub.add_parser("manifest", help="write a manifest CSV for audio files or directories")
    q.add_argument("inputs", nargs="+", metavar="PATH")
    q.add_argument("--out", required=True, type=Path, metavar="FILE")
    q.add_argument("--dataset", required=True)
    q.add_argument(
        "--split",
        required=True,
        help="split of every file; with --kept, the dataset's own split where it names one",
    )
    lic = q.add_mutually_exclusive_group(required=True)
    lic.add_argument(
        "--licence", "--license", dest="licence", metavar="TEXT", help="one licence for every file"
    )
    lic.add_argument(
        "--kept",
        type=Path,
        metavar="FILE",
        help="kept.csv from 'a2sb data filter' (per-file licences)",
    )
    q.add_argument(
        "--raw-dir", type=Path, default=None, help="directory the kept.csv paths are relative to"
    )
    q.add_argument(
        "--all-classes",
        action="store_true",
        help="keep every licence class (research-use manifests)",
    )
    q.add_argument("--no-progress", action="store_true")
    q.set_defaults(func=cmd_manifest)

    q = sub.add_parser("corpus", help="build the offline corpus (no network)")
    q.add_argument("--out", required=True, type=Path, metavar="DIR")
    q.add_argument("--profile", default="default", choices=("default", "ci"))
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--sets", nargs="+", default=None, metavar="SET", help="build only these sets")
    q.add_argument(
        "--renderer",
        default="builtin",
        choices=("builtin", "fluidsynth"),
        help="fluidsynth needs the program and a GM soundfont",
    )
    q.add_argument("--soundfont", default=None, metavar="SF2")
    q.add_argument("--no-progress", action="store_true")
    q.set_defaults(func=cmd_corpus)

    q = sub.add_parser("replica", help="build miniature replicas of every registry dataset")
    q.add_argument("--out", required=True, type=Path, metavar="DIR")
    q.add_argument(
        "--base-url",
        required=True,
        metavar="URL",
        help="where DIR/www will be served (the replica registry's URLs)",
    )
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--seconds", type=float, default=2.0, help="audio per item")
    q.set_defaults(func=cmd_replica)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point (the project CLI is ``a2sb``)."""
    parser = argparse.ArgumentParser(prog="a2sb")
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
