"""``a2sb restore IN OUT``: restore one audio file (bandwidth extension or inpainting).

Before the audio is read, the peak memory of the restoration is estimated (a2sb.memory) from
the input's header and the checkpoint's sidecar; an estimate above the available memory is
refused with the option to change. Peaks above full scale are kept (float subtypes) or warned
about (integer ones) unless ``--normalize`` or ``--limit`` brings them under it.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from .errors import InputError
from .io.atomic import check_not_inputs
from .io.audio import check_writable, clipping_note, read_audio, write_audio
from .memory import (
    CPU_CALL_BYTES,
    CPU_MAX_BATCH,
    CUDA_MAX_BATCH,
    MIB,
    MemoryEstimate,
    auto_batch_size,
    available_memory,
    calibrate,
    checkpoint_shape,
    estimate_memory,
    gib,
)
from .protocol import Protocol, official_gaps
from .restoration import TASKS, Restorer, check_gaps, paper_gaps, resolve_cutoff, restore
from .tasks import parse_gaps

#: --normalize: the peak a louder-than-full-scale output is brought to (dBFS)
NORMALIZE_PEAK_DBFS = -1.0
#: --limit: magnitudes up to this pass unchanged
LIMIT_THRESHOLD = 0.9
#: --limit: the soft knee approaches this magnitude and never exceeds it (the largest 16-bit
#: sample, 32767 / 32768, so every integer subtype holds it without clipping)
LIMIT_CEILING = 1.0 - 2.0**-15


class DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``(default: ...)`` after the help of every option that has a default (not flags)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def register_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "restore",
        help="restore an audio file",
        description=__doc__,
        formatter_class=DefaultsFormatter,
    )
    p.add_argument("input", type=Path, help="input audio file (any rate, mono or stereo)")
    p.add_argument("output", type=Path, help="output file, written at the model's sample rate")
    p.add_argument("--task", choices=TASKS, required=True, help="what to restore")
    p.add_argument(
        "--cutoff-hz",
        help="bandwidth extension: known band ends here (Hz), or 'auto' to estimate it from the input",
    )
    p.add_argument("--gaps", help="inpainting: gaps in seconds, e.g. 2.0-2.3,7.5-8.0")
    p.add_argument("--gap-every", type=float, help="inpainting: the paper's protocol, period in s")
    p.add_argument("--gap-ms", type=float, help="inpainting: gap length in ms with --gap-every")
    p.add_argument(
        "--checkpoint",
        type=Path,
        required=True,
        help=".safetensors file, bundle .json, a training run folder (its final.safetensors) or "
        "a pipeline results folder results/<profile> (its models/a2sb_p2.json)",
    )
    p.add_argument(
        "--protocol",
        choices=[p.value for p in Protocol],
        default=Protocol.OURS.value,
        help="'ours' or 'official': reproduce the official A2SB inference (README)",
    )
    p.add_argument(
        "--steps",
        type=int,
        help="sampling steps; ours: network calls (unset: 50); official: its n, n - 1 calls "
        "(unset: 100 for bandwidth extension, 200 for inpainting)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the sampler's noise")
    p.add_argument("--device", default="cpu", help="torch device: cpu, cuda or cuda:N")
    p.add_argument(
        "--window-frames", type=int, help="MultiDiffusion window (unset: the training segment)"
    )
    p.add_argument("--hop-frames", type=int, help="MultiDiffusion hop (unset: half the window)")
    p.add_argument(
        "--batch-size",
        default="auto",
        help="windows per network call; 'auto': the most whose memory estimate fits the "
        f"available memory, up to {CUDA_MAX_BATCH} on CUDA, on a CPU up to {CPU_MAX_BATCH} while a "
        f"call's activations stay within {CPU_CALL_BYTES // MIB} MiB",
    )
    p.add_argument(
        "--no-memory-check",
        action="store_true",
        help="skip the memory estimate (and its one-time calibration) and the refusal when it "
        "exceeds the available memory; an 'auto' batch size is then 1",
    )
    p.add_argument(
        "--subtype",
        help="soundfile subtype of the output (unset: FLOAT for WAV, PCM_24 for FLAC, "
        "else the format's default)",
    )
    p.add_argument(
        "--normalize",
        action="store_true",
        help="if the restored peak exceeds full scale, scale the whole output down so that it "
        f"peaks at {NORMALIZE_PEAK_DBFS:g} dBFS (the gain is reported); else keep it",
    )
    p.add_argument(
        "--limit",
        action="store_true",
        help=f"soft-limit samples above {LIMIT_THRESHOLD:g} in magnitude (tanh knee, no "
        "look-ahead) so that every sample lies inside (-1, 1); unset, and without --normalize, "
        "peaks above full scale are kept (float) or warned about (integer subtypes)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)


MAX_SEED = 2**63  # torch.Generator.manual_seed takes a 64-bit signed integer
MAX_STEPS = 10_000  # the paper uses 100 / 200; beyond this a typo is likelier than a wish
MAX_WINDOW_SEGMENTS = 16  # MultiDiffusion windows up to 16 training segments long


def parse_batch_size(text: str) -> int | None:
    """``--batch-size``: None for 'auto', else an integer of at least 1."""
    if str(text).strip().lower() == "auto":
        return None
    try:
        batch = int(text)
    except ValueError:
        raise InputError(f"--batch-size {text}: must be 'auto' or an integer") from None
    if batch < 1:
        raise InputError(f"--batch-size {batch}: must be at least 1")
    return batch


def check_options(args: argparse.Namespace) -> None:
    """Option ranges and the device, before any file is read (one-line :class:`InputError`)."""
    if args.steps is not None and not 1 <= args.steps <= MAX_STEPS:
        raise InputError(f"--steps {args.steps}: must lie in 1..{MAX_STEPS}")
    parse_batch_size(args.batch_size)
    if not 0 <= args.seed < MAX_SEED:
        raise InputError(f"--seed {args.seed}: must lie in 0..{MAX_SEED - 1}")
    if args.protocol == Protocol.OFFICIAL.value and args.steps is not None and args.steps < 2:
        raise InputError(
            f"--steps {args.steps}: the official protocol makes n - 1 network calls; give 2 or more"
        )
    for flag, value in (("--window-frames", args.window_frames), ("--hop-frames", args.hop_frames)):
        if value is not None and value < 1:
            raise InputError(f"{flag} {value}: must be at least 1")
    if args.normalize and args.limit:
        raise InputError("--normalize and --limit: choose one (both bring peaks under full scale)")
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


def check_window(args: argparse.Namespace, segment_frames: int, multiple: int = 1) -> None:
    """Window and hop against the checkpoint's training segment and the network's down-sampling
    (a window must be a multiple of ``multiple`` = 2^levels frames)."""
    limit = MAX_WINDOW_SEGMENTS * segment_frames
    window = args.window_frames or segment_frames
    if window % multiple:
        raise InputError(
            f"--window-frames {window}: must be a multiple of {multiple} (the network halves "
            f"the frames {multiple.bit_length() - 1} times)"
        )
    if window > limit:
        raise InputError(
            f"--window-frames {window}: at most {limit} ({MAX_WINDOW_SEGMENTS} x the checkpoint's "
            f"{segment_frames}-frame training segment)"
        )
    if args.hop_frames is not None and args.hop_frames > window:
        raise InputError(f"--hop-frames {args.hop_frames}: must not exceed the window ({window})")


def audio_header(path: Path) -> tuple[int, int, int]:
    """``(frames, channels, rate)`` of an audio file from its header alone (nothing decoded)."""
    import soundfile as sf

    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not an audio file")
    try:
        info = sf.info(str(path))
    except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError or TypeError
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(f"{path}: not a readable audio file ({reason})") from None
    return int(info.frames), int(info.channels), int(info.samplerate)


def plan_memory(args: argparse.Namespace) -> tuple[int, int | None]:
    """The batch size and the estimated peak (bytes; None unestimated), from the input's header
    and the checkpoint's sidecar: an estimate above the available memory is an
    :class:`InputError` that names it, the memory available and the options to change."""
    explicit = parse_batch_size(args.batch_size)
    frames, channels, rate = audio_header(args.input)
    shape = None if args.no_memory_check else checkpoint_shape(args.checkpoint)
    if shape is None:  # a checkpoint that cannot be read is reported when it is loaded
        return explicit or 1, None
    check_window(args, shape.stft.segment_frames, 2**shape.model.levels)
    window = args.window_frames or shape.stft.segment_frames
    hop = args.hop_frames or max(1, window // 2)
    samples = math.ceil(frames * shape.stft.sample_rate / rate)
    available = available_memory(args.device)

    def notify() -> None:
        if not args.no_progress and sys.stderr.isatty():
            print("a2sb: measuring the network's memory for this window once (a2sb.memory)",
                  file=sys.stderr)  # fmt: skip

    activation = calibrate(shape.model, shape.stft.n_rows, window, args.device, available, notify)

    def estimate_for(batch: int) -> MemoryEstimate:
        return estimate_memory(samples, channels, shape.stft, shape.model, window, hop, batch,
                               activation=activation, weight_bytes=shape.weight_bytes,
                               protocol=args.protocol, device=args.device,
                               input_samples=frames)  # fmt: skip

    batch = explicit or auto_batch_size(estimate_for, available, args.device)
    estimate = estimate_for(batch)
    if available is not None and estimate.total > available:
        kind = "estimate" if estimate.measured else "at least: attention scores alone"
        per_call = f"{estimate.batch_size} window{'s' if estimate.batch_size > 1 else ''}"
        smallest = estimate_for(1)
        if estimate.batch_size > 1 and smallest.total <= available:
            advice = f"use --batch-size 1 (about {gib(smallest.total)})"
        else:
            advice = "use a shorter input, a smaller --window-frames or another --device"
        raise InputError(
            f"{args.input}: restoring needs about {gib(estimate.total)} of memory ({kind}, "
            f"{per_call} per network call on {args.device}) but only {gib(available)} "
            f"available; {advice}"
        )
    return batch, estimate.total


def normalize_peak(audio: np.ndarray) -> tuple[np.ndarray, float]:
    """Scale ``audio`` down to peak at :data:`NORMALIZE_PEAK_DBFS` when its peak exceeds 1.0;
    returns it and the gain in dB (0.0: unchanged)."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak <= 1.0:
        return audio, 0.0
    gain = 10.0 ** (NORMALIZE_PEAK_DBFS / 20.0) / peak
    return (audio * gain).astype(np.float32), 20.0 * math.log10(gain)


def soft_limit(audio: np.ndarray) -> tuple[np.ndarray, int]:
    """Sample-wise soft limiter: magnitudes up to :data:`LIMIT_THRESHOLD` unchanged, above it
    ``T + (C - T) tanh((|x| - T) / (C - T))`` with the sign of ``x`` (``C`` =
    :data:`LIMIT_CEILING` < 1, approached and never exceeded; slope 1 at the threshold, so the
    curve has no corner). Returns the audio and how many samples were changed."""
    out = np.asarray(audio, dtype=np.float64).copy()
    over = np.abs(out) > LIMIT_THRESHOLD
    knee = LIMIT_CEILING - LIMIT_THRESHOLD
    magnitude = LIMIT_THRESHOLD + knee * np.tanh((np.abs(out[over]) - LIMIT_THRESHOLD) / knee)
    out[over] = np.sign(out[over]) * np.minimum(magnitude, LIMIT_CEILING)
    return out.astype(np.float32), int(np.count_nonzero(over))


def run(args: argparse.Namespace) -> int:
    check_options(args)
    check_not_inputs([args.output], [args.input])
    check_writable(args.output, args.subtype)
    batch, estimate = plan_memory(args)
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
            if not (args.gap_every > 0 and args.gap_ms > 0):  # NaN fails too
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
    restorer = Restorer.from_checkpoint(args.checkpoint, device=args.device)
    check_window(
        args,
        restorer.stft.segment_frames,
        max(2**model.config.levels for model, _ in restorer.router.partitions),
    )
    window = restorer.window(args.window_frames, args.hop_frames, batch)
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
    info: dict[str, object] = {"input": name, "protocol": args.protocol}
    if args.normalize:
        out, gain_db = normalize_peak(out)
        info["normalize_gain_db"] = round(gain_db, 3)
        if gain_db:
            print(f"a2sb: note: {args.output}: scaled by {gain_db:+.2f} dB to peak at "
                  f"{NORMALIZE_PEAK_DBFS:g} dBFS", file=sys.stderr)  # fmt: skip
    elif args.limit:
        out, changed = soft_limit(out)
        info["limited_samples"] = changed
    note = clipping_note(args.output, out, args.subtype)
    if note:
        print(f"a2sb: warning: {note}", file=sys.stderr)
    write_audio(
        args.output, out if out.shape[0] > 1 else out[0], restorer.stft.sample_rate, args.subtype
    )
    if gaps is not None:
        info["gaps_s"] = [list(g) for g in gaps]
    else:
        info["cutoff_hz"] = cutoff
    info["batch_size"] = batch
    if estimate is not None:
        info["memory_estimate_bytes"] = estimate
    print(json.dumps(info))
    return 0
