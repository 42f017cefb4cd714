"""Benchmark the stereo modes of restoration (:mod:`a2sb.stereo`, issue 20): which keeps the
stereo image of the known part, and at what cost in time against independent channels.

Usage: python benchmarks/bench_stereo.py --checkpoint CKPT [--modes independent shared-noise ...]
       [--items panned centred-reverb dithered-mono] [--settings 4kHz 8kHz 12kHz 300ms]
       [--duration-s 3] [--steps 8] [--seed 0] [--threads 1]
       [--real FILE[@OFFSET_S] ... --real-licence TEXT] [--json FILE]
       python benchmarks/bench_stereo.py --smoke [--json FILE]

The stereo test set is built here, offline, at the checkpoint's rate, ``duration-s`` long each:

- ``panned``: two music-like mixes (:func:`metrics.synthetic.music_like`), one panned half
  left and one 70 % right with constant-power gains (dry: every band has one ILD per source);
- ``centred-reverb``: a music-like mix in both channels (centred) plus a stereo room: each
  channel convolved with its own exponentially decaying Gaussian noise (RT60 1 s, 10 ms
  pre-delay), the wet part 8 dB below the dry (partly coherent, width from the room);
- ``dithered-mono``: a mono mix written to both channels as 16-bit PCM with independent TPDF
  dither per channel (a mono master released as stereo: the channels differ by the dither only,
  so the layout of :mod:`a2sb.stereo` does not see them as identical);
- ``real:NAME@OFFSET`` (with ``--real``): excerpts of stereo recordings from ``OFFSET_S``
  seconds (0 unless given), resampled to the model's rate; their licence (``--real-licence``)
  is printed and journaled.

Degradations (:mod:`metrics.degradations`): bandwidth extension at each ``kHz`` setting (the
reference resampled to twice the cutoff and back); inpainting at each ``ms`` setting with one gap
centred in the excerpt (zeros). Each item is restored with each mode (:func:`a2sb.restore`,
``steps`` sampling steps, the same ``seed``) and measured: the stereo errors of
:func:`metrics.stereo.stereo_measures` (``icc_err``, ``ild_err`` dB, ``width_err`` dB, over the
bands above the cutoff or the frames inside the gap), LSD and SiSpec per channel (bandwidth
extension: the whole excerpt; inpainting: the gap's samples), and the wall time of the
restoration (one thread by default: the ratio to ``independent`` is the cost of the mode).
Prints a table per setting (means over the items) and journals every row, the means and the
provenance (git state, checkpoint sha256, arguments) to ``--json``.

``--smoke`` restores with a randomly initialised ``micro`` network on a 16 kHz STFT: it shows
the script runs, and its numbers say nothing about the modes (printed as such). The measurement
needs a trained checkpoint, e.g. ``results/default/models/a2sb_p1.json`` of a pipeline run.

Recorded (2-core machine busy with a pipeline run, 1 thread; the default profile's ``a2sb_p1``
of a fresh run of 5869d7d, 300 + 20 training steps; ``--steps 8``, seed 0, 3-s items; means over
the items; icc_err / ild_err dB / width_err dB):

=================  ==================  ==================  ==================  ==================
mode               BWE 4 kHz           300 ms              real BWE 4 kHz      real 300 ms
=================  ==================  ==================  ==================  ==================
independent        0.83 / 1.06 / 27.2  0.54 / 1.80 / 23.2  0.66 / 1.05 / 6.4   0.56 / 2.67 / 5.9
shared-noise       0.15 / 0.99 / 8.6   0.31 / 1.29 / 16.6  0.26 / 1.07 / 9.7   0.47 / 2.41 / 5.2
mid-side           0.21 / 1.01 / 19.0  0.31 / 1.97 / 15.9  0.15 / 2.20 / 2.9   0.35 / 2.89 / 6.1
mid-side-shared    0.16 / 8.71 / 18.9  0.28 / 1.80 / 15.9  0.10 / 6.42 / 3.1   0.36 / 3.19 / 6.4
matched-coherence  0.11 / 0.94 / 3.0   0.33 / 1.30 / 17.1  0.29 / 1.17 / 2.2   0.48 / 2.37 / 5.3
=================  ==================  ==================  ==================  ==================

15-22 s per restoration in every mode (time relative to independent 0.80-1.52: the noise of the
busy machine). Real items: ``frontiers``, ``machine_wars`` and ``time_to_strike`` of Debian's
``asc-music`` 1.3-6 (GPL-2+), from 60 s. The README ("Stereo") has 12 kHz and 1000 ms too.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ITEMS = ("panned", "centred-reverb", "dithered-mono")
DEFAULT_SETTINGS = ("4kHz", "300ms")
MEASURES = ("icc_err", "ild_err", "width_err", "lsd_l", "lsd_r", "sispec_l", "sispec_r", "time_s")


def pan(source: np.ndarray, position: float) -> np.ndarray:
    """``[T, 2]``: ``source`` panned with constant-power gains, position -1 (left) .. 1 (right)."""
    angle = (position + 1) * np.pi / 4
    return np.stack([np.cos(angle) * source, np.sin(angle) * source], axis=1)


def room(dry: np.ndarray, rate: int, rng: np.random.Generator, rt60_s: float = 1.0) -> np.ndarray:
    """``[T, 2]``: ``dry`` [T] convolved with one decaying noise response per channel."""
    from scipy.signal import fftconvolve

    n = int(rt60_s * rate)
    t = np.arange(n) / rate
    delay = int(0.01 * rate)
    wet = []
    for _ in range(2):
        ir = np.zeros(n + delay)
        ir[delay:] = rng.standard_normal(n) * np.exp(-6.91 * t / rt60_s)
        wet.append(fftconvolve(dry, ir)[: dry.size])
    return np.stack(wet, axis=1)


def stereo_items(
    names: list[str], rate: int, duration_s: float, seed: int
) -> dict[str, np.ndarray]:
    """The synthetic stereo items ``[T, 2]`` float64, each peaking at 0.8."""
    from metrics.synthetic import music_like

    rng = np.random.default_rng(seed)
    items = {}
    for name in names:
        if name == "panned":
            a, b = music_like(duration_s, rate, seed), music_like(duration_s, rate, seed + 1)
            x = pan(a, -0.5) + pan(b, 0.7)
        elif name == "centred-reverb":
            dry = music_like(duration_s, rate, seed + 2)
            wet = room(dry, rate, rng)
            wet *= np.sqrt(np.sum(dry**2) / np.sum(wet**2) / 2) * 10 ** (-8 / 20)
            x = dry[:, None] + wet
        elif name == "dithered-mono":
            mono = 0.8 * music_like(duration_s, rate, seed + 3)
            lsb = 1 / 32768
            tpdf = rng.uniform(-0.5, 0.5, (mono.size, 2)) + rng.uniform(-0.5, 0.5, (mono.size, 2))
            x = np.round(mono[:, None] / lsb + tpdf) * lsb
            items[name] = x
            continue
        else:
            raise SystemExit(f"unknown item {name!r} (known: {', '.join(ITEMS)})")
        items[name] = 0.8 * x / np.abs(x).max()
    return items


def real_item(path: Path, rate: int, offset_s: float, duration_s: float) -> np.ndarray:
    """``[T, 2]`` excerpt of a stereo file at ``rate``."""
    import soundfile as sf

    from a2sb.io.audio import resample

    data, file_rate = sf.read(str(path), always_2d=True, dtype="float64")
    if data.shape[1] != 2:
        raise SystemExit(f"{path}: {data.shape[1]} channels; --real needs a stereo file")
    data = resample(data, file_rate, rate, axis=0)
    a = int(offset_s * rate)
    x = data[a : a + int(duration_s * rate)]
    if x.shape[0] < int(duration_s * rate):
        raise SystemExit(f"{path}: shorter than its offset plus --duration-s")
    return x


def degrade(x: np.ndarray, rate: int, setting, duration_s: float) -> tuple[np.ndarray, dict]:
    """The degraded item and the task arguments of :func:`a2sb.restore` (and of the measures)."""
    from metrics.degradations import apply_gaps, bandwidth_limit

    if setting.task.value == "bandwidth-extension":
        return bandwidth_limit(x, rate, setting.cutoff_hz), {"cutoff_hz": setting.cutoff_hz}
    half = setting.value / 2000
    gaps = [(duration_s / 2 - half, duration_s / 2 + half)]
    return apply_gaps(x, rate, gaps), {"gaps": gaps}


def measure(ref: np.ndarray, est: np.ndarray, rate: int, args: dict) -> dict[str, float]:
    """Stereo errors over the restored region, LSD and SiSpec per channel."""
    from metrics.errors import MetricUndefined
    from metrics.lsd import lsd
    from metrics.sispec import sispec
    from metrics.stereo import stereo_measures

    m = stereo_measures(ref, est, rate, **args)
    row = {"icc_err": m.icc_err, "ild_err": m.ild_err, "width_err": m.width_err,
           "width_ref": m.width_ref, "width_est": m.width_est}  # fmt: skip
    if "gaps" in args:
        a, b = (round(s * rate) for s in args["gaps"][0])
        ref, est = ref[a:b], est[a:b]
    for c, side in enumerate("lr"):
        row[f"lsd_{side}"] = lsd(ref[:, c], est[:, c], rate)
        try:
            row[f"sispec_{side}"] = sispec(ref[:, c], est[:, c], rate)
        except MetricUndefined:
            row[f"sispec_{side}"] = float("nan")
    return row


def smoke_restorer():
    """A randomly initialised micro network on a 16 kHz STFT (smoke test only)."""
    import torch

    import a2sb
    from a2sb.masks import MaskConfig
    from a2sb.restoration import Restorer
    from a2sb.sampler import PartitionRouter

    torch.manual_seed(0)
    cfg = a2sb.STFTConfig(sample_rate=16000, n_fft=256, hop_length=128, win_length=256,
                          segment_frames=64)  # fmt: skip
    net = a2sb.build_model("micro").eval()
    return Restorer(router=PartitionRouter([(net, (0.0, 1.0))]), stft=cfg, kind="factorized",
                    mask=MaskConfig(fill_prior="context-trend"))  # fmt: skip


def bench(args: argparse.Namespace) -> dict:
    import torch

    from a2sb.io.provenance import file_sha256, git_state
    from a2sb.restoration import Restorer, restore
    from a2sb.tasks import Setting

    torch.set_num_threads(args.threads)
    if args.smoke:
        restorer, checkpoint = smoke_restorer(), "micro (random, smoke test)"
        hashes = {}
    else:
        restorer = Restorer.from_checkpoint(args.checkpoint)
        checkpoint = str(args.checkpoint)
        bundle = Path(args.checkpoint)
        hashes = {bundle.name: file_sha256(bundle)}
        if bundle.suffix == ".json":
            for part in json.loads(bundle.read_text())["partitions"]:
                hashes[part["checkpoint"]] = part.get("sha256")
    rate = restorer.stft.sample_rate
    items = stereo_items(args.items, rate, args.duration_s, args.seed)
    for spec in args.real or []:
        path, _, offset = spec.partition("@")
        name = f"real:{Path(path).stem}@{float(offset or 0):g}"
        items[name] = real_item(Path(path), rate, float(offset or 0), args.duration_s)
    settings = [Setting.parse(s) for s in args.settings]
    warm = np.zeros(restorer.stft.hop_length * restorer.stft.segment_frames, np.float32)
    warm[::97] = 0.1  # one untimed restoration first: the first network calls are slower
    restore(warm, rate, cutoff_hz=rate / 4, checkpoint=restorer, steps=1)
    rows = []
    for setting in settings:
        for name, ref in items.items():
            degraded, task_args = degrade(ref, rate, setting, args.duration_s)
            for mode in args.modes:
                start = time.perf_counter()
                est = restore(degraded.T.astype(np.float32), rate, task=setting.task.value,
                              checkpoint=restorer, steps=args.steps, seed=args.seed,
                              stereo_mode=mode, **task_args).T  # fmt: skip
                elapsed = time.perf_counter() - start
                row = {"setting": setting.label, "item": name, "mode": mode, "time_s": elapsed}
                row.update(measure(ref, est.astype(np.float64), rate, task_args))
                rows.append(row)
                print(json.dumps({k: round(v, 4) if isinstance(v, float) else v
                                  for k, v in row.items()}), flush=True)  # fmt: skip
    means = summarise(rows, args.modes)
    git = git_state(ROOT)
    return {
        "smoke_test": bool(args.smoke),
        "checkpoint": checkpoint,
        "checkpoint_sha256": hashes,
        "sample_rate": rate,
        "steps": args.steps,
        "seed": args.seed,
        "duration_s": args.duration_s,
        "threads": args.threads,
        "items": list(items),
        "real": {"files": args.real, "licence": args.real_licence} if args.real else None,
        "git": {"commit": git.commit, "dirty": git.dirty},
        "rows": rows,
        "means": means,
    }


def summarise(rows: list[dict], modes: list[str]) -> dict:
    """Per setting and mode: the mean of each measure over the items, and the time relative to
    ``independent`` (when measured)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for setting in dict.fromkeys(r["setting"] for r in rows):
        out[setting] = {}
        for mode in modes:
            sel = [r for r in rows if r["setting"] == setting and r["mode"] == mode]
            out[setting][mode] = {k: float(np.nanmean([r[k] for r in sel])) for k in MEASURES}
        base = out[setting].get("independent")
        for mode in modes:
            if base:
                out[setting][mode]["time_vs_independent"] = (
                    out[setting][mode]["time_s"] / base["time_s"]
                )
    return out


def table(result: dict) -> str:
    lines = []
    if result["smoke_test"]:
        lines.append("SMOKE TEST: a randomly initialised micro network; these numbers say nothing "
                     "about the stereo modes (give --checkpoint of a trained model)")  # fmt: skip
    head = f"{'mode':<16}" + "".join(f"{k:>11}" for k in (*MEASURES, "time/ind"))
    for setting, modes in result["means"].items():
        lines += ["", f"{setting} (means over {len(result['items'])} items)", head]
        for mode, m in modes.items():
            values = [m[k] for k in MEASURES] + [m.get("time_vs_independent", float("nan"))]
            lines.append(f"{mode:<16}" + "".join(f"{v:>11.3f}" for v in values))
    if result["real"]:
        real = ", ".join(result["real"]["files"])
        lines.append(f"\nreal items: {real} (licence: {result['real']['licence']})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from a2sb.stereo import StereoMode

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", type=Path, help="a trained checkpoint (.safetensors / .json)")
    p.add_argument("--smoke", action="store_true", help="random micro model: a smoke test only")
    p.add_argument("--modes", nargs="+", default=[m.value for m in StereoMode],
                   choices=[m.value for m in StereoMode])  # fmt: skip
    p.add_argument("--items", nargs="*", default=list(ITEMS), choices=ITEMS)
    p.add_argument("--settings", nargs="+", default=list(DEFAULT_SETTINGS),
                   help="e.g. 4kHz 8kHz 12kHz (bandwidth extension), 300ms (inpainting)")  # fmt: skip
    p.add_argument("--duration-s", type=float, default=3.0)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads (timing)")
    p.add_argument("--real", nargs="+", metavar="FILE[@OFFSET_S]",
                   help="stereo recordings under a free licence, excerpts from OFFSET_S")  # fmt: skip
    p.add_argument("--real-licence", default="unstated", help="the licence of --real")
    p.add_argument("--json", type=Path, help="journal the rows, means and provenance here")
    args = p.parse_args(argv)
    if not args.smoke and args.checkpoint is None:
        p.error("give --checkpoint (a trained model) or --smoke")
    if args.smoke:
        args.duration_s = min(args.duration_s, 2.0)
    result = bench(args)
    result["argv"] = sys.argv[1:] if argv is None else argv
    print(table(result))
    if args.json:
        from a2sb.io.atomic import write_json

        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
