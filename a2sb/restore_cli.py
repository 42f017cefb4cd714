"""``a2sb restore IN OUT``: restore one audio file (bandwidth extension or inpainting)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .errors import InputError
from .io.atomic import check_not_inputs
from .io.audio import check_writable, clipping_note, read_audio, write_audio
from .protocol import Protocol, official_gaps
from .restoration import TASKS, Restorer, check_gaps, paper_gaps, resolve_cutoff, restore
from .tasks import parse_gaps


def register_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("restore", help="restore an audio file", description=__doc__)
    p.add_argument("input", type=Path, help="input audio file (any rate, mono or stereo)")
    p.add_argument("output", type=Path, help="output file, written at the model's sample rate")
    p.add_argument("--task", choices=TASKS, required=True)
    p.add_argument(
        "--cutoff-hz",
        help="bandwidth extension: known band ends here (Hz), or 'auto' to estimate it from the input",
    )
    p.add_argument("--gaps", help="inpainting: gaps in seconds, e.g. 2.0-2.3,7.5-8.0")
    p.add_argument("--gap-every", type=float, help="inpainting: the paper's protocol, period in s")
    p.add_argument("--gap-ms", type=float, help="inpainting: gap length in ms with --gap-every")
    p.add_argument(
        "--checkpoint", type=Path, required=True, help=".safetensors file or bundle .json"
    )
    p.add_argument(
        "--protocol",
        choices=[p.value for p in Protocol],
        default=Protocol.OURS.value,
        help="'ours' (default) or 'official': reproduce the official A2SB inference (README)",
    )
    p.add_argument(
        "--steps",
        type=int,
        help="sampling steps; ours: network calls (default 50); official: its n, n - 1 calls "
        "(default 100 for bandwidth extension, 200 for inpainting)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--window-frames", type=int, help="MultiDiffusion window (default: training segment)"
    )
    p.add_argument("--hop-frames", type=int, help="MultiDiffusion hop (default: half the window)")
    p.add_argument("--batch-size", type=int, default=16, help="windows per network call")
    p.add_argument(
        "--subtype",
        help="soundfile subtype of the output (default: FLOAT for WAV, PCM_24 for FLAC, "
        "else the format's default)",
    )
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


MAX_STEPS = 10_000  # the paper uses 100 / 200; beyond this a typo is likelier than a wish
MAX_WINDOW_SEGMENTS = 16  # MultiDiffusion windows up to 16 training segments long


def check_options(args: argparse.Namespace) -> None:
    """Option ranges and the device, before any file is read (one-line :class:`InputError`)."""
    if args.steps is not None and not 1 <= args.steps <= MAX_STEPS:
        raise InputError(f"--steps {args.steps}: must lie in 1..{MAX_STEPS}")
    if args.batch_size < 1:
        raise InputError(f"--batch-size {args.batch_size}: must be at least 1")
    if args.seed < 0:
        raise InputError(f"--seed {args.seed}: must be 0 or more")
    for flag, value in (("--window-frames", args.window_frames), ("--hop-frames", args.hop_frames)):
        if value is not None and value < 1:
            raise InputError(f"{flag} {value}: must be at least 1")
    if args.device != "cpu":
        import torch

        try:
            device = torch.device(args.device)
        except (RuntimeError, ValueError):
            raise InputError(
                f"--device {args.device!r}: not a device (cpu, cuda, cuda:N)"
            ) from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise InputError(f"--device {args.device}: CUDA is not available on this machine")


def check_window(args: argparse.Namespace, segment_frames: int) -> None:
    """Window and hop against the checkpoint's training segment."""
    limit = MAX_WINDOW_SEGMENTS * segment_frames
    window = args.window_frames or segment_frames
    if window > limit:
        raise InputError(
            f"--window-frames {window}: at most {limit} ({MAX_WINDOW_SEGMENTS} x the checkpoint's "
            f"{segment_frames}-frame training segment)"
        )
    if args.hop_frames is not None and args.hop_frames > window:
        raise InputError(f"--hop-frames {args.hop_frames}: must not exceed the window ({window})")


def run(args: argparse.Namespace) -> int:
    check_options(args)
    audio, rate = read_audio(args.input)
    name = str(args.input)
    duration = audio.shape[-1] / rate
    gaps = None
    cutoff = None
    if args.task == "inpainting":
        if args.gaps and args.gap_every is not None:
            raise InputError(f"{name}: give either --gaps or --gap-every/--gap-ms, not both")
        if args.gaps:
            try:
                gaps = parse_gaps(args.gaps)
            except InputError as exc:
                raise InputError(f"{name}: {exc}") from None
        elif args.gap_every is not None and args.gap_ms is not None:
            if args.gap_every <= 0 or args.gap_ms <= 0:
                raise InputError(
                    f"{name}: --gap-every ({args.gap_every:g} s) and --gap-ms "
                    f"({args.gap_ms:g} ms) must be positive"
                )
            rule = official_gaps if args.protocol == Protocol.OFFICIAL else paper_gaps
            gaps = rule(duration, args.gap_ms / 1000, args.gap_every)
        else:
            raise InputError(f"{name}: inpainting needs --gaps or --gap-every with --gap-ms")
        check_gaps(gaps, duration, name)
    else:
        if args.cutoff_hz is None:
            raise InputError(
                f"{name}: bandwidth extension needs --cutoff-hz (a frequency or 'auto')"
            )
        cutoff = resolve_cutoff(audio, rate, args.cutoff_hz, Protocol(args.protocol), name)
    check_not_inputs([args.output], [args.input])
    check_writable(args.output, args.subtype)
    restorer = Restorer.from_checkpoint(args.checkpoint, device=args.device)
    check_window(args, restorer.stft.segment_frames)
    window = restorer.window(args.window_frames, args.hop_frames, args.batch_size)
    out = restore(
        audio,
        rate,
        task=args.task,
        cutoff_hz=cutoff,
        gaps=gaps,
        checkpoint=restorer,
        steps=args.steps,
        seed=args.seed,
        window=window,
        progress=not args.no_progress,
        name=name,
        protocol=args.protocol,
    )
    out = np.atleast_2d(out)
    note = clipping_note(args.output, out, args.subtype)
    if note:
        print(f"a2sb: warning: {note}", file=sys.stderr)
    write_audio(
        args.output, out if out.shape[0] > 1 else out[0], restorer.stft.sample_rate, args.subtype
    )
    info: dict[str, object] = {"input": str(args.input), "protocol": args.protocol}
    if gaps is not None:
        info["gaps_s"] = [list(g) for g in gaps]
    else:
        info["cutoff_hz"] = cutoff
    print(json.dumps(info))
    return 0
