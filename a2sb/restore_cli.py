"""``a2sb restore IN OUT`` or ``a2sb restore IN... --out-dir DIR``: restore audio files
(bandwidth extension or inpainting).

Files of any length are restored by streaming (a2sb.stream): read in blocks, restored and
written block by block to a temporary file that is renamed when complete, in memory that does
not grow with the length; ``--in-memory`` restores the whole file at once instead (same output
for a seed; the official protocol always runs in memory). Many files (and folders of them) are
restored with one model load; a file that fails is reported in one line and the others go on
(exit status 2 if any failed). Before each file is read, the peak memory of the restoration is estimated (a2sb.memory) from
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

from .errors import InputError, report_error
from .io.atomic import check_not_inputs
from .io.audio import audio_files, check_writable, clipping_note, read_audio, write_audio
from .levels import LIMIT_THRESHOLD, NORMALIZE_PEAK_DBFS, normalize_peak, soft_limit
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
from .restoration import (
    TASKS,
    Restorer,
    check_gaps,
    paper_gaps,
    resolve_cutoff,
    resolve_steps,
    restore,
)
from .stereo import DEFAULT_STEREO_MODE, StereoMode
from .stream.restore import restore_file
from .tasks import parse_gaps


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
    p.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="IN OUT: an input audio file (any rate, mono or stereo) and the output, written at "
        "the model's sample rate; with --out-dir: input files and folders (their audio files)",
    )
    p.add_argument(
        "--out-dir",
        type=Path,
        help="restore every PATH (files, and folders' audio files with their sub-folders) into "
        "this folder under the same names",
    )
    p.add_argument(
        "--in-memory",
        action="store_true",
        help="restore the whole file at once instead of streaming it (same output for a seed)",
    )
    p.add_argument("--task", choices=TASKS, required=True, help="what to restore")
    p.add_argument(
        "--cutoff-hz",
        help="bandwidth extension: known band ends here (Hz), or 'auto' to estimate it from the "
        "input; regenerated from 0.94 x this (a2sb.masks.LOWPASS_GUARD; official protocol: from it)",
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
    p.add_argument(
        "--stereo-mode",
        choices=["auto", *(m.value for m in StereoMode)],
        default="auto",
        help="how the channels of a multi-channel input are restored (README 'Stereo'); 'auto': "
        f"{DEFAULT_STEREO_MODE.value} for 2 channels, independent for more; identical channels "
        "come back identical and a silent channel silent in every mode",
    )
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


def plan_memory(args: argparse.Namespace, source: Path) -> tuple[int, int | None]:
    """The batch size and the estimated peak (bytes; None unestimated), from the input's header
    and the checkpoint's sidecar: an estimate above the available memory is an
    :class:`InputError` that names it, the memory available and the options to change."""
    explicit = parse_batch_size(args.batch_size)
    frames, channels, rate = audio_header(source)
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
                               input_samples=frames, streaming_steps=streaming_steps(args))  # fmt: skip

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
            f"{source}: restoring needs about {gib(estimate.total)} of memory ({kind}, "
            f"{per_call} per network call on {args.device}) but only {gib(available)} "
            f"available; {advice}"
        )
    return batch, estimate.total


def streaming(args: argparse.Namespace) -> bool:
    """Whether the streaming path restores: ours, unless ``--in-memory``."""
    return not args.in_memory and args.protocol == Protocol.OURS.value


def streaming_steps(args: argparse.Namespace) -> int | None:
    """The sampling steps of a streaming restoration (its memory grows with them), else None."""
    if not streaming(args):
        return None
    return resolve_steps(args.steps, args.task, Protocol(args.protocol))


#: ``--cutoff-hz auto`` on a streamed file: its long-term spectrum is estimated on at most this
#: many seconds from the start (the whole file when shorter: then the in-memory estimate)
AUTO_CUTOFF_SECONDS = 120.0


def plan_jobs(args: argparse.Namespace) -> list[tuple[Path, Path]]:
    """``(input, output)`` pairs: ``IN OUT``, or every PATH (folders: their audio files, the
    sub-folders kept) into ``--out-dir``. Outputs must not be inputs nor repeat."""
    if args.out_dir is None:
        if len(args.paths) != 2:
            raise InputError(
                f"give IN OUT, or inputs with --out-dir DIR ({len(args.paths)} paths given)"
            )
        jobs = [(args.paths[0], args.paths[1])]
    else:
        if args.out_dir.exists() and not args.out_dir.is_dir():
            raise InputError(f"{args.out_dir}: --out-dir is a file, not a folder")
        jobs = []
        for path in args.paths:
            if path.is_dir():
                found = audio_files(path)
                if not found:
                    raise InputError(f"{path}: no audio files in this folder")
                jobs += [(f, args.out_dir / f.relative_to(path)) for f in found]
            else:
                jobs.append((path, args.out_dir / path.name))
        seen: dict[Path, Path] = {}
        for source, target in jobs:
            if target in seen:
                raise InputError(
                    f"{source}: its output {target} is also the output of {seen[target]}"
                )
            seen[target] = source
    check_not_inputs([t for _, t in jobs], [s for s, _ in jobs])
    return jobs


def read_gaps(args: argparse.Namespace, name: str, duration: float) -> list[tuple[float, float]]:
    """The inpainting gaps of ``--gaps`` or ``--gap-every`` / ``--gap-ms``, checked."""
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
    return gaps


def read_cutoff(args: argparse.Namespace, source: Path, audio: np.ndarray | None) -> float:
    """``--cutoff-hz``: a frequency, or 'auto' estimated from ``audio`` (or, streaming, from the
    first :data:`AUTO_CUTOFF_SECONDS` of the file)."""
    name = str(source)
    if args.cutoff_hz is None:
        raise InputError(f"{name}: bandwidth extension needs --cutoff-hz (a frequency or 'auto')")
    protocol = Protocol(args.protocol)
    if audio is not None or str(args.cutoff_hz).strip().lower() != "auto":
        rate = audio_header(source)[2]
        return resolve_cutoff(audio, rate, args.cutoff_hz, protocol, name)
    import soundfile as sf

    rate = audio_header(source)[2]
    data, _ = sf.read(str(source), frames=int(AUTO_CUTOFF_SECONDS * rate), dtype="float32",
                      always_2d=True)  # fmt: skip
    return resolve_cutoff(np.ascontiguousarray(data.T), rate, "auto", protocol, name)


class Progress:
    """A tqdm bar in seconds of audio written, with the rate and an ETA."""

    def __init__(self, name: str, seconds: float, rate: int, enabled: bool):
        from tqdm.auto import tqdm

        self.rate = rate
        self.bar = tqdm(total=round(seconds, 2), desc=name, unit="s", disable=not enabled,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s "
                        "[{elapsed}<{remaining}, {rate_fmt}]")  # fmt: skip

    def __call__(self, samples: int) -> None:
        self.bar.update(samples / self.rate)

    def close(self) -> None:
        self.bar.close()


def restore_one(
    args: argparse.Namespace, restorer: Restorer, source: Path, target: Path
) -> dict[str, object]:
    """Restore one file; returns the JSON line's fields."""
    check_writable(target, args.subtype)
    batch, estimate = plan_memory(args, source)
    frames, channels, file_rate = audio_header(source)
    name = str(source)
    stereo = None  # the mode of a multi-channel input (ours; the official protocol reads mono)
    if channels > 1 and args.protocol == Protocol.OURS.value:
        try:
            stereo = StereoMode.parse(args.stereo_mode, channels)
        except InputError as exc:
            raise InputError(f"{name}: {exc}") from None
    duration = frames / file_rate
    stream = streaming(args)
    audio = None
    if not stream:
        audio, file_rate = read_audio(source)
        duration = audio.shape[-1] / file_rate
    gaps = read_gaps(args, name, duration) if args.task == "inpainting" else None
    cutoff = None if gaps is not None else read_cutoff(args, source, audio)
    if cutoff is not None:
        check_cutoff(cutoff, file_rate, restorer.stft.sample_rate, name)
    window = restorer.window(args.window_frames, args.hop_frames, batch)
    info: dict[str, object] = {"input": name, "output": str(target), "protocol": args.protocol,
                               "streaming": stream}  # fmt: skip
    level = "normalize" if args.normalize else "limit" if args.limit else None
    if stream:
        steps = resolve_steps(args.steps, args.task, Protocol.OURS)
        progress = Progress(name, duration, restorer.stft.sample_rate, not args.no_progress)
        try:
            result = restore_file(restorer, source, target, task=args.task, cutoff_hz=cutoff,
                                  gaps=gaps, steps=steps, seed=args.seed, window=window,
                                  subtype=args.subtype, level=level, progress=progress,
                                  stereo_mode=stereo)  # fmt: skip
        finally:
            progress.close()
        peak, gain_db, limited = result.peak, result.gain_db, result.limited
    else:
        out = restore(audio, file_rate, task=args.task, cutoff_hz=cutoff, gaps=gaps,
                      checkpoint=restorer, steps=args.steps, seed=args.seed, window=window,
                      progress=not args.no_progress, name=name, protocol=args.protocol,
                      stereo_mode=stereo)  # fmt: skip
        out = np.atleast_2d(out)
        peak = float(np.max(np.abs(out))) if out.size else 0.0
        gain_db, limited = 0.0, 0
        if level == "normalize":
            out, gain_db = normalize_peak(out)
        elif level == "limit":
            out, limited = soft_limit(out)
        note = clipping_note(target, out, args.subtype)
        if note:
            print(f"a2sb: warning: {note}", file=sys.stderr)
        data = out if out.shape[0] > 1 else out[0]
        write_audio(target, data, restorer.stft.sample_rate, args.subtype)
    if level == "normalize":
        info["normalize_gain_db"] = round(gain_db, 3)
        if gain_db:
            print(f"a2sb: note: {target}: scaled by {gain_db:+.2f} dB to peak at "
                  f"{NORMALIZE_PEAK_DBFS:g} dBFS", file=sys.stderr)  # fmt: skip
    elif level == "limit":
        info["limited_samples"] = limited
    elif stream:
        note = clipping_note(target, np.array([peak], dtype=np.float32), args.subtype)
        if note:
            print(f"a2sb: warning: {note} (written clipped)", file=sys.stderr)
    if gaps is not None:
        info["gaps_s"] = [list(g) for g in gaps]
    else:
        info["cutoff_hz"] = cutoff
    if stereo is not None:
        info["stereo_mode"] = stereo.value
    info["batch_size"] = batch
    if estimate is not None:
        info["memory_estimate_bytes"] = estimate
    return info


def check_cutoff(cutoff: float, file_rate: int, model_rate: int, name: str) -> None:
    """A cutoff below both the input's and the model's Nyquist frequency."""
    if not 0 < cutoff < file_rate / 2:
        raise InputError(
            f"{name}: cutoff {cutoff} Hz must lie in (0, {file_rate / 2:g}) Hz, below the "
            f"Nyquist frequency of the input"
        )
    if cutoff >= model_rate / 2:
        raise InputError(
            f"{name}: cutoff {cutoff} Hz lies at or above the model's Nyquist ({model_rate / 2:g} Hz)"
        )


def run(args: argparse.Namespace) -> int:
    check_options(args)
    jobs = plan_jobs(args)
    for _, target in jobs:  # a bad output path or format fails before any work
        check_writable(target, args.subtype)
    single = args.out_dir is None
    if single:
        audio_header(jobs[0][0])  # a missing input is reported before the model loads
    restorer = Restorer.from_checkpoint(args.checkpoint, device=args.device)
    check_window(
        args,
        restorer.stft.segment_frames,
        max(2**model.config.levels for model, _ in restorer.router.partitions),
    )
    failed = 0
    for source, target in jobs:
        try:
            info = restore_one(args, restorer, source, target)
        except InputError as exc:
            if single:
                raise
            failed += 1
            report_error("a2sb", exc)
            continue
        print(json.dumps(info), flush=True)
    if failed:
        print(f"a2sb: {failed} of {len(jobs)} files failed", file=sys.stderr)
    return 2 if failed else 0
