"""Restore every degraded file of every setting of one (method, test set, task), in one process.

::

    restore_group.py --method a2sb_p1 --checkpoint models/a2sb_p1.json --task inpainting \
        --in-dir degraded/AAM/inpainting --out-dir restored/a2sb_p1/AAM/inpainting \
        --settings 300ms,500ms,1000ms --steps 4 --seed 0

``--method`` is a name of :mod:`baselines.registry`. ``--in-dir`` holds one folder per setting
(``4kHz`` ... or ``300ms`` ...) as the ``degrade`` rule writes them; the output mirrors it.
Bandwidth extension takes the cutoff from the setting (:class:`a2sb.tasks.Setting`); inpainting
reads the gaps from ``X.gaps.json`` beside each input, so every method fills exactly the same
gaps. The model is loaded once (A2SB rows through :class:`a2sb.restoration.Restorer`, the baselines
through :func:`baselines.registry.load_restorer`). ``--method a2sb_start`` (kind ``a2sb-start``)
writes, from an A2SB ``--checkpoint``, the point its sampler starts from decoded with no network
(:func:`a2sb.restoration.starting_point`: ``X1`` of eq. 8 with the same ``--seed``), so the tables
can show what the network adds. A stereo candidate (``a2sb_p1_mid_side`` ...) restores 2-channel
input in its registry ``stereo_mode``, the other A2SB rows in :mod:`a2sb.stereo`'s default.
Everything is written into a temporary sibling folder that is renamed when all files are done
(:func:`a2sb.io.atomic.atomic_dir`), so a killed job leaves no half-filled output. Progress (one line per file with its time) goes to stdout, which the rule
sends to its log.

``--protocol official`` (A2SB methods only) restores as the official inference code does
(:func:`a2sb.restoration.restore`, ``protocol="official"``: ``--steps n`` on the official grid,
mono output, length a multiple of the hop). ``--clean-dir DIR`` reads each input from
``DIR/<path relative to its setting folder>`` (the clean test-set file) while the degradation
(the setting's cutoff, the ``X.gaps.json`` gaps) still comes from the degraded file: the paper's
protocol, which feeds the clean file and masks its representation.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from a2sb.errors import A2SBError
from a2sb.io.atomic import atomic_dir
from a2sb.io.audio import read_audio, write_audio
from a2sb.tasks import Setting, Task
from baselines.interface import Degradation
from baselines.registry import Kind, load_restorer, method

#: ``(audio [L] or [C, L], rate, setting, source) -> (restored, its rate)``
RestoreFn = Callable[[np.ndarray, int, Setting, Path], tuple[np.ndarray, int]]


def degradation_of(setting: Setting, source: Path) -> Degradation:
    """The setting's cutoff, or the gaps of ``X.gaps.json`` beside the input."""
    cutoff = setting.cutoff_hz if setting.task is Task.BANDWIDTH_EXTENSION else None
    return Degradation.for_file(setting.task, source, cutoff)


def a2sb_restorer(args: argparse.Namespace) -> RestoreFn:
    from a2sb.restoration import Restorer, restore

    model = Restorer.from_checkpoint(args.checkpoint)
    window = model.window(batch_size=args.batch_size)
    stereo_mode = method(args.method).stereo_mode  # None: the default of 2-channel input

    def run(audio: np.ndarray, rate: int, setting: Setting, source: Path) -> tuple[np.ndarray, int]:
        d = degradation_of(setting, source)
        out = restore(audio, rate, task=d.task, cutoff_hz=d.cutoff_hz, gaps=list(d.gaps_s) or None,
                      checkpoint=model, steps=args.steps, seed=args.seed, window=window,
                      name=str(source), protocol=args.protocol,
                      stereo_mode=stereo_mode)  # fmt: skip
        return out, model.stft.sample_rate

    return run


def start_restorer(args: argparse.Namespace) -> RestoreFn:
    from a2sb.restoration import Restorer, starting_point

    if args.checkpoint is None:
        raise ValueError("needs --checkpoint (the A2SB checkpoint whose starting point to write)")
    model = Restorer.from_checkpoint(args.checkpoint)

    def run(audio: np.ndarray, rate: int, setting: Setting, source: Path) -> tuple[np.ndarray, int]:
        d = degradation_of(setting, source)
        out = starting_point(audio, rate, task=d.task, cutoff_hz=d.cutoff_hz,
                             gaps=list(d.gaps_s) or None, checkpoint=model, seed=args.seed,
                             name=str(source))  # fmt: skip
        return out, model.stft.sample_rate

    return run


def baseline_restorer(args: argparse.Namespace) -> RestoreFn:
    restorer = load_restorer(args.method, args.task, args.checkpoint, steps=args.steps,
                             seed=args.seed, vocoder=args.vocoder, weights=args.weights)  # fmt: skip

    def run(audio: np.ndarray, rate: int, setting: Setting, source: Path) -> tuple[np.ndarray, int]:
        return restorer.restore(audio, rate, degradation_of(setting, source)), rate

    return run


def input_of(args: argparse.Namespace, setting: Setting, source: Path) -> Path:
    """The file restored for degraded ``source``: itself, or its clean twin under ``--clean-dir``."""
    if args.clean_dir is None:
        return source
    return args.clean_dir / source.relative_to(args.in_dir / setting.label)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--method", required=True, help="a method of baselines/registry.py")
    p.add_argument("--checkpoint", help="A2SB checkpoint/bundle or a learned baseline's weights")
    p.add_argument("--vocoder", help="mel baselines: the vocoder's weights")
    p.add_argument("--weights", help="AudioSR: folder of the published weights")
    p.add_argument("--task", type=Task.parse, required=True)
    p.add_argument("--in-dir", type=Path, required=True)
    p.add_argument("--out-dir", type=Path, required=True)
    p.add_argument("--settings", required=True, help="comma-separated setting folders")
    p.add_argument("--steps", type=int, help="sampler steps (default: the method's config)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--batch-size", type=int, default=8, help="A2SB: windows per network call")
    p.add_argument("--protocol", choices=("ours", "official"), default="ours",
                   help="A2SB: restoration protocol (official: as the official inference code)")  # fmt: skip
    p.add_argument("--clean-dir", type=Path,
                   help="read each input from DIR/<path in its setting folder> (the clean file); "
                   "the degradation still comes from the degraded file")  # fmt: skip
    args = p.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    jobs = []
    for label in (s for s in args.settings.split(",") if s):
        setting = Setting.parse(label)
        sources = sorted((args.in_dir / label).rglob("*.wav"))
        if not sources:
            print(f"restore_group: error: no .wav files in {args.in_dir / label}", file=sys.stderr)
            return 2
        jobs += [(setting, src) for src in sources]
    for setting, src in jobs:
        if not input_of(args, setting, src).is_file():
            print(f"restore_group: error: {input_of(args, setting, src)}: clean input of {src} "
                  "not found", file=sys.stderr)  # fmt: skip
            return 2
    try:
        kind = method(args.method).kind
        if args.protocol != "ours" and kind is not Kind.A2SB:
            print(f"restore_group: error: {args.method}: --protocol {args.protocol} applies to "
                  "A2SB methods only", file=sys.stderr)  # fmt: skip
            return 2
        restorers = {Kind.A2SB: a2sb_restorer, Kind.A2SB_START: start_restorer}
        run = restorers.get(kind, baseline_restorer)(args)
    except Exception as exc:  # one line naming the method and the problem
        print(f"restore_group: error: {args.method}: {exc}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        with atomic_dir(args.out_dir) as tmp:
            for setting, src in jobs:
                t0 = time.perf_counter()
                audio, rate = read_audio(input_of(args, setting, src))
                out, out_rate = run(audio[0] if audio.shape[0] == 1 else audio, rate, setting, src)
                write_audio(tmp / src.relative_to(args.in_dir), out, out_rate, subtype="FLOAT")
                print(f"{args.method} {setting} {src.name}: {time.perf_counter() - t0:.1f} s",
                      flush=True)  # fmt: skip
    except (A2SBError, ValueError) as exc:
        print(f"restore_group: error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(jobs)} files in {time.perf_counter() - start:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
