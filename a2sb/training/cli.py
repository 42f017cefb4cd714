"""``a2sb train`` and ``a2sb bundle`` (registered by :mod:`a2sb.cli`).

A run's config is generated from a profile by the pipeline (``snakemake --cores 1
results/default/configs/pretrain.json``; fine-tuning runs ``finetune_p<N>_<I>`` carry their
t-range)::

    a2sb train --config results/default/configs/pretrain.json --out runs/pretrain
    a2sb train --config results/default/configs/finetune_p2_0.json --out runs/finetune_p2_0
    a2sb train --out runs/pretrain --resume --max-steps 2000     # continue a killed run
    torchrun --nproc-per-node 8 -m a2sb train --config results/paper/configs/pretrain.json --out ...
    a2sb bundle --out runs/bundle-2.json runs/finetune_p2_0 runs/finetune_p2_1
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from ..errors import CheckpointError, InputError
from .config import RESUMABLE_KEYS, TrainConfig, absolute_paths, partition_range, read_config_file


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` and ``bundle`` sub-commands."""
    p = subparsers.add_parser(
        "train",
        help="pre-train or fine-tune an A2SB model (single process or under torchrun)",
        description="Train an A2SB model (SPEC 6). Under torchrun, data parallel over all ranks.",
    )
    p.add_argument(
        "--config", type=Path, help="training config (YAML or JSON); optional with --resume"
    )
    p.add_argument("--out", type=Path, help="run directory (default: results/train/<config name>)")
    p.add_argument("--init", help="checkpoint (.safetensors) to start from (fine-tuning)")
    p.add_argument(
        "--t-range", nargs=2, type=float, metavar=("LO", "HI"), help="train on t in [LO, HI]"
    )
    p.add_argument(
        "--partition",
        nargs=2,
        type=int,
        metavar=("I", "N"),
        help="train on the t-range of partition I (0-based) of N = 1, 2 or 4 (SPEC 4)",
    )
    p.add_argument("--max-steps", type=int, help="stop after this many optimiser steps in total")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key (VALUE parsed as YAML), repeatable",
    )
    p.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its latest checkpoint"
    )
    p.add_argument("--dry-run", action="store_true", help="print the resolved options and exit")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run_train)

    b = subparsers.add_parser(
        "bundle",
        help="write a t-partition bundle from finished fine-tuning runs",
        description="List partition checkpoints (run directories or .safetensors files) in a bundle JSON; "
        "their t-ranges come from their sidecars and must tile [0, 1].",
    )
    b.add_argument("--out", type=Path, required=True, help="bundle file (.json)")
    b.add_argument(
        "checkpoints",
        nargs="+",
        type=Path,
        help="run directories (final.safetensors) or checkpoints",
    )
    b.set_defaults(func=run_bundle)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise InputError(f"--set {key}: value {value!r} is not valid YAML") from None
    if args.init is not None:
        out["init"] = args.init
    if args.t_range is not None and args.partition is not None:
        raise InputError("give --t-range or --partition, not both")
    if args.t_range is not None:
        out["t_range"] = list(args.t_range)
    if args.partition is not None:
        out["t_range"] = list(partition_range(*args.partition))
    if args.max_steps is not None:
        out["max_steps"] = args.max_steps
    return out


def config_of_args(args: argparse.Namespace) -> tuple[TrainConfig, Path]:
    """The run's config: the file plus CLI overrides; on ``--resume`` without ``--config``, the run
    directory's ``config.json`` plus overrides. A resumed run may change only the bookkeeping keys
    (:data:`RESUMABLE_KEYS`)."""
    overrides = _overrides(args)
    if args.out is None and args.config is None:
        raise InputError("give --config (and --out), or --out with --resume")
    out = args.out or Path("results") / "train" / args.config.stem
    stored = out / "config.json"
    if args.config is not None:
        base, source = read_config_file(args.config), str(args.config)
    elif args.resume and stored.exists():
        base, source = _read_stored(stored), str(stored)
    else:
        raise InputError(f"--resume: {stored} not found; give --config to start the run")
    cfg = absolute_paths(TrainConfig.from_dict({**base, **overrides}, source))
    if args.resume and stored.exists():
        changed = _changed(TrainConfig.from_dict(_read_stored(stored), str(stored)), cfg)
        if changed:
            raise InputError(
                f"--resume: {source} differs from {stored} in {', '.join(changed)} "
                f"(a resumed run may change only {', '.join(sorted(RESUMABLE_KEYS))})"
            )
    return cfg, out


def _read_stored(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: unreadable run config ({err})") from None


def _changed(old: TrainConfig, new: TrainConfig) -> list[str]:
    a, b = old.to_dict(), new.to_dict()
    return [k for k in a if a[k] != b[k] and k not in RESUMABLE_KEYS and k != "description"]


def run_train(args: argparse.Namespace) -> int:
    cfg, out = config_of_args(args)
    if args.dry_run:
        from .distributed import _env_int

        world = _env_int("WORLD_SIZE", 1)
        info = {
            "out": str(out),
            "resume": args.resume,
            "world_size": world,
            "accumulation_steps": cfg.accumulation_steps(world),
            "config_hash": cfg.config_hash(),
            "config": cfg.to_dict(),
        }
        print(json.dumps(info, indent=2))
        return 0
    from .trainer import train

    summary = train(
        cfg, out, resume=args.resume, progress=not args.no_progress, threads=args.threads
    )
    if summary:
        print(
            f"a2sb train: {summary['steps']} steps in {summary['wall_time_s']:.1f} s "
            f"({summary['samples_per_s'] or 0:.3g} samples/s), final loss {summary['final_loss']}, "
            f"-> {out / summary['final_checkpoint']}"
        )
    return 0


def bundle_entries(paths: list[Path]) -> list[tuple[Path, tuple[float, float]]]:
    """``(checkpoint, t_range)`` of run directories or checkpoint files, checked for agreement."""
    from ..checkpoint import read_sidecar

    entries, sidecars = [], []
    for path in paths:
        ckpt = path / "final.safetensors" if path.is_dir() else path
        if not ckpt.is_file():
            raise CheckpointError(f"{ckpt}: checkpoint not found")
        sidecar = read_sidecar(ckpt)
        entries.append((ckpt, tuple(float(v) for v in sidecar["t_range"])))
        sidecars.append((ckpt, sidecar))
    first_path, first = sidecars[0]
    for ckpt, sidecar in sidecars[1:]:
        for key in ("model_config", "stft_config"):
            if sidecar.get(key) != first.get(key):
                raise CheckpointError(f"{ckpt}: {key} differs from {first_path}'s")
        for key in ("kind", "mask_config", "beta_max"):
            if (sidecar.get("extra") or {}).get(key) != (first.get("extra") or {}).get(key):
                raise CheckpointError(f"{ckpt}: extra.{key} differs from {first_path}'s")
    return entries


def run_bundle(args: argparse.Namespace) -> int:
    from ..checkpoint import write_bundle

    entries = bundle_entries(list(args.checkpoints))
    bundle = write_bundle(args.out, entries)
    ranges = ", ".join(
        f"[{p['t_range'][0]:.4g}, {p['t_range'][1]:.4g}]" for p in bundle["partitions"]
    )
    print(f"a2sb bundle: {len(entries)} partition(s) {ranges} -> {args.out}")
    return 0
