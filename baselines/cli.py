"""``python -m baselines``: restore with any baseline, train the learned ones.

::

    python -m baselines restore --method sbr --task bandwidth-extension --cutoff-hz 4000 IN.wav OUT.wav
    python -m baselines restore --method burg --task inpainting --in-dir degraded/ --out-dir restored/
    python -m baselines restore --method degraded --task inpainting --gaps 2.35-2.65 IN.wav OUT.wav
    python -m baselines train --method cqtdiff --config cfg.yaml --manifest train.csv --out runs/cqtdiff
    python -m baselines train --method cqtdiff --config cfg.yaml --manifest train.csv --out runs/cqtdiff --resume
    python -m baselines restore --method cqtdiff --checkpoint runs/cqtdiff/final.safetensors \
        --task inpainting --in-dir degraded/ --out-dir restored/ --steps 35 --seed 0

The methods, their tasks and which need a checkpoint come from :mod:`baselines.registry`.
Inpainting reads the gaps from ``--gaps`` or else from ``IN.gaps.json`` beside each input (as
``python -m metrics degrade`` writes it). Outputs are 32-bit float in the format of their
extension, written atomically; an output that would overwrite an input is refused before any
work. Training goes through the shared loop (:mod:`a2sb.training.loop`): ``--resume`` continues
the run in ``--out`` from its last step checkpoint. Errors: one line ``baselines: error: ...``
and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import numpy as np

from a2sb.cli import add_version, run_program
from a2sb.errors import A2SBError, report_error
from a2sb.io.audio import clipping_note, plan_outputs, read_audio, write_audio
from a2sb.tasks import Task, parse_gaps

from .interface import BaselineError, Degradation
from .registry import METHODS, Kind, load_restorer, method

RESTORERS = [
    m.name for m in METHODS.values() if not m.from_a2sb_checkpoint and m.kind is not Kind.COMPONENT
]
TRAINED = [m.name for m in METHODS.values() if m.trained]


def cmd_restore(args: argparse.Namespace) -> int:
    jobs = plan_outputs(args.paths, args.in_dir, args.out_dir, None)
    gaps = tuple(parse_gaps(args.gaps)) if args.gaps else ()
    restorer = load_restorer(args.method, args.task, args.checkpoint, steps=args.steps,
                             seed=args.seed, vocoder=args.vocoder, weights=args.weights)  # fmt: skip
    for source, target in jobs:
        audio, rate = read_audio(source)
        degradation = Degradation.for_file(args.task, source, args.cutoff_hz, gaps)
        try:
            out = restorer.restore(audio[0] if audio.shape[0] == 1 else audio, rate, degradation)
        except BaselineError as exc:
            raise BaselineError(f"{source}: {exc}") from None
        note = clipping_note(target, np.asarray(out), None)
        if note:
            print(f"baselines: warning: {note}", file=sys.stderr)
        write_audio(target, np.asarray(out), rate)  # FLOAT for WAV, PCM_24 for FLAC
        if not args.quiet:
            print(f"{args.method}: {source} -> {target}", file=sys.stderr)
    return 0


def read_config(path: Path) -> dict:
    """A YAML or JSON mapping; a one-line :class:`BaselineError` naming the file otherwise."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"{path}: config not found") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BaselineError(f"{path}: unreadable config ({first})") from None
    if not isinstance(data, dict):
        raise BaselineError(f"{path}: a config must be a mapping of keys to values")
    return data


def cmd_train(args: argparse.Namespace) -> int:
    module = method(args.method).module_object()
    config_path, out = Path(args.config), Path(args.out)
    config = read_config(config_path)
    manifests = [str(m) for m in args.manifest]
    for manifest in manifests:
        if not Path(manifest).is_file():
            raise BaselineError(f"{manifest}: manifest not found")
    if args.dry_run:
        from a2sb.training.loop import check_resumable

        from .common import training_hash

        cfg = module.full_config(config, str(config_path))
        digest = training_hash(cfg)
        step = check_resumable(out, digest) if args.resume else 0
        print(json.dumps({"method": args.method, "out": str(out), "resume_from": step,
                          "config_hash": digest, "config": cfg}, indent=2))  # fmt: skip
        return 0
    summary = module.train(config, out, manifests=manifests, threads=args.threads,
                           source=str(config_path), resume=args.resume,
                           progress=not (args.quiet or args.no_progress))  # fmt: skip
    if not args.quiet:
        print(f"{args.method}: trained -> {out / 'final.safetensors'}", file=sys.stderr)
        for key in ("steps", "resumed_from", "final_loss", "wall_time_s"):
            print(f"  {key}: {summary.get(key)}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m baselines", description="Baseline restorations and training."
    )
    add_version(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("restore", help="restore a file or a folder with a baseline")
    r.add_argument("--method", required=True, choices=RESTORERS)
    r.add_argument("--checkpoint", help="learned methods: the trained .safetensors")
    r.add_argument("--vocoder", help="mel methods (MAID, IBAR): the vocoder's .safetensors")
    r.add_argument("--weights", help="AudioSR: folder of the published weights")
    r.add_argument("--steps", type=int, help="learned methods: sampler steps (default: config)")
    r.add_argument("--seed", type=int, help="learned methods: sampling seed (default: config)")
    r.add_argument("--task", required=True, type=Task, choices=list(Task))
    r.add_argument("--cutoff-hz", type=float, help="bandwidth extension: known band ends here")
    r.add_argument("--gaps", help="inpainting: START-END,... in seconds (default: IN.gaps.json)")
    r.add_argument("--in-dir", help="folder mode: every audio file below it")
    r.add_argument("--out-dir", help="folder mode: mirrored output folder")
    r.add_argument("--quiet", action="store_true", help="no progress on stderr")
    r.add_argument("paths", nargs="*", metavar="IN OUT")
    r.set_defaults(func=cmd_restore)
    t = sub.add_parser("train", help="train a learned baseline from manifests")
    t.add_argument("--method", required=True, choices=TRAINED)
    t.add_argument("--config", required=True, help="YAML or JSON training config")
    t.add_argument("--manifest", action="append", default=[], help="CSV manifest (repeatable)")
    t.add_argument("--out", required=True, help="run folder (final.safetensors + final.json)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out")
    t.add_argument("--dry-run", action="store_true",
                   help="print the resolved config and where a --resume would start; exit")  # fmt: skip
    t.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--quiet", action="store_true", help="no progress bar and no summary on stderr")
    t.set_defaults(func=cmd_train)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except A2SBError as exc:
        return report_error("baselines", exc)


def run() -> NoReturn:
    """``python -m baselines``: :func:`a2sb.cli.run_program` of :func:`main` (training keeps
    freed blocks, :mod:`a2sb.allocator`)."""
    run_program(main)
