"""``python -m baselines``: restore with any baseline, train the learned ones.

::

    python -m baselines restore --method sbr --task bandwidth-extension --cutoff-hz 4000 IN.wav OUT.wav
    python -m baselines restore --method burg --task inpainting --in-dir degraded/ --out-dir restored/
    python -m baselines restore --method degraded --task inpainting --gaps 2.35-2.65 IN.wav OUT.wav
    python -m baselines train --method cqtdiff --config cfg.yaml --manifest train.csv --out runs/cqtdiff
    python -m baselines restore --method cqtdiff --checkpoint runs/cqtdiff/final.safetensors \
        --task inpainting --in-dir degraded/ --out-dir restored/ --steps 35 --seed 0

Classical methods (:mod:`baselines.classical`) need no checkpoint; learned ones
(:mod:`baselines.learned`) take ``--checkpoint`` (MAID and IBAR also ``--vocoder``).

Inpainting reads the gaps from ``--gaps`` or else from ``IN.gaps.json`` beside each input (as
``python -m metrics degrade`` writes it). Outputs are 32-bit float WAV (or the suffix's format),
written atomically. Errors: one line ``baselines: error: ...`` and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from .classical import METHODS, TASKS_OF
from .interface import TASKS, BaselineError, Degradation, Restorer
from .learned import MODULES, module_of

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".aiff", ".aif")


def parse_gaps(text: str) -> tuple[tuple[float, float], ...]:
    """``"2.0-2.3,7.5-8.0"`` -> ``((2.0, 2.3), (7.5, 8.0))``."""
    gaps = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            a, b = (float(v) for v in part.split("-"))
        except ValueError:
            raise BaselineError(
                f"--gaps: cannot read {part!r}; expected START-END in seconds"
            ) from None
        gaps.append((a, b))
    return tuple(gaps)


def read(path: Path) -> tuple[np.ndarray, int]:
    """Audio as float32 ``[L]`` or ``[C, L]`` and its rate."""
    if not path.is_file():
        raise BaselineError(f"{path}: no such file")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises several types
        raise BaselineError(
            f"{path}: not a readable audio file ({str(exc).splitlines()[0]})"
        ) from None
    audio = data.T
    return (audio[0] if audio.shape[0] == 1 else audio), int(rate)


def write(path: Path, audio: np.ndarray, rate: int) -> None:
    """Write atomically (temporary file in the same folder, then ``os.replace``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=path.suffix or ".wav", dir=path.parent
    )
    os.close(fd)
    try:
        sf.write(tmp, audio.T if audio.ndim == 2 else audio, rate, subtype="FLOAT")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def degradation_for(args: argparse.Namespace, source: Path) -> Degradation:
    if args.task == "bandwidth-extension":
        if args.cutoff_hz is None:
            raise BaselineError("--task bandwidth-extension needs --cutoff-hz")
        return Degradation(args.task, cutoff_hz=args.cutoff_hz)
    if args.gaps:
        return Degradation(args.task, gaps_s=parse_gaps(args.gaps))
    sidecar = source.with_suffix(".gaps.json")
    if not sidecar.is_file():
        raise BaselineError(f"{source}: no --gaps and no {sidecar.name} beside it")
    return Degradation.from_gaps_json(sidecar)


def restorer_for(args: argparse.Namespace) -> Restorer:
    """The restorer of ``--method``: a classical one, or a learned one from ``--checkpoint``."""
    if args.method in METHODS:
        if args.task not in TASKS_OF[args.method]:
            raise BaselineError(f"method {args.method!r} does not do {args.task}")
        return METHODS[args.method]()
    module = module_of(args.method)
    if args.task not in module.TASKS:
        raise BaselineError(f"method {args.method!r} does not do {args.task}")
    options = {
        k: v
        for k, v in (("steps", args.steps), ("seed", args.seed), ("vocoder", args.vocoder))
        if v is not None
    }
    if args.weights is not None:
        options["weights"] = args.weights
    if args.checkpoint is None and args.method != "audiosr":
        raise BaselineError(f"method {args.method!r} needs --checkpoint")
    checkpoint = Path(args.checkpoint) if args.checkpoint else None
    if checkpoint is not None and not checkpoint.is_file():
        raise BaselineError(f"{checkpoint}: checkpoint not found")
    return module.load(checkpoint, options)


def cmd_restore(args: argparse.Namespace) -> int:
    if args.in_dir or args.out_dir:
        if not (args.in_dir and args.out_dir) or args.paths:
            raise BaselineError("folder mode takes both --in-dir and --out-dir and no IN OUT")
        in_dir, out_dir = Path(args.in_dir), Path(args.out_dir)
        if not in_dir.is_dir():
            raise BaselineError(f"{in_dir}: input folder not found")
        sources = sorted(p for p in in_dir.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
        if not sources:
            raise BaselineError(f"{in_dir}: no audio files")
        jobs = [(p, out_dir / p.relative_to(in_dir)) for p in sources]
    else:
        if len(args.paths) != 2:
            raise BaselineError("restore takes IN OUT (or --in-dir and --out-dir)")
        jobs = [(Path(args.paths[0]), Path(args.paths[1]))]
    method = restorer_for(args)
    for source, target in jobs:
        audio, rate = read(source)
        degradation = degradation_for(args, source)
        try:
            out = method.restore(audio, rate, degradation)
        except BaselineError as exc:
            raise BaselineError(f"{source}: {exc}") from None
        write(target, out, rate)
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
    module = module_of(args.method)
    config_path = Path(args.config)
    config = read_config(config_path)
    manifests = [str(m) for m in args.manifest]
    for manifest in manifests:
        if not Path(manifest).is_file():
            raise BaselineError(f"{manifest}: manifest not found")
    summary = module.train(
        config, Path(args.out), manifests=manifests, threads=args.threads, source=str(config_path)
    )
    if not args.quiet:
        print(f"{args.method}: trained -> {Path(args.out) / 'final.safetensors'}", file=sys.stderr)
        for key in ("steps", "final_loss", "wall_s"):
            if key in summary:
                print(f"  {key}: {summary[key]}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m baselines", description="Baseline restorations and training."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("restore", help="restore a file or a folder with a baseline")
    r.add_argument("--method", required=True, choices=sorted(METHODS) + sorted(MODULES))
    r.add_argument("--checkpoint", help="learned methods: the trained .safetensors")
    r.add_argument("--vocoder", help="mel methods (MAID, IBAR): the vocoder's .safetensors")
    r.add_argument("--weights", help="AudioSR: folder of the published weights")
    r.add_argument("--steps", type=int, help="learned methods: sampler steps (default: config)")
    r.add_argument("--seed", type=int, help="learned methods: sampling seed (default: config)")
    r.add_argument("--task", required=True, choices=TASKS)
    r.add_argument("--cutoff-hz", type=float, help="bandwidth extension: known band ends here")
    r.add_argument("--gaps", help="inpainting: START-END,... in seconds (default: IN.gaps.json)")
    r.add_argument("--in-dir", help="folder mode: every audio file below it")
    r.add_argument("--out-dir", help="folder mode: mirrored output folder")
    r.add_argument("--quiet", action="store_true", help="no progress on stderr")
    r.add_argument("paths", nargs="*", metavar="IN OUT")
    r.set_defaults(func=cmd_restore)
    t = sub.add_parser("train", help="train a learned baseline from manifests")
    t.add_argument("--method", required=True, choices=sorted(MODULES))
    t.add_argument("--config", required=True, help="YAML or JSON training config")
    t.add_argument("--manifest", action="append", default=[], help="CSV manifest (repeatable)")
    t.add_argument("--out", required=True, help="run folder (final.safetensors + final.json)")
    t.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    t.add_argument("--quiet", action="store_true", help="no summary on stderr")
    t.set_defaults(func=cmd_train)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BaselineError as exc:
        print(f"baselines: error: {exc}", file=sys.stderr)
        return 2
