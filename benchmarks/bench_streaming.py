"""Streaming restoration (``a2sb restore``, a2sb.stream): peak memory against the input's length
and the sampling steps, speed against the in-memory path, and their outputs compared.

Every case runs ``a2sb restore`` (bandwidth extension at 4 kHz, the paper's STFT: 44.1 kHz,
n_fft 2048, hop 512; MultiDiffusion windows of 256 frames, hop 128) in a fresh process with 2
torch threads (``OMP_NUM_THREADS=2``, ``torch.set_num_threads(2)``) on a music-like WAV
(PCM_16, written block by block; a 60-s loop of harmonic notes whose partials are multiples of
1/60 Hz, so that it repeats without a click) and a randomly initialised checkpoint. The peak is
the restoring process's VmHWM (/proc/self/status, the Python/torch runtime and the model
included); ``frames_held`` is what :func:`a2sb.stream.restore.restore_stream` reports (the most
``[C, N]`` columns per audio channel held at once), the estimate is the CLI's (a2sb.memory,
from :func:`a2sb.memory.streaming_frames` ``= steps * (3 w + 2 b h)`` frames, resident
``x STREAM_BLOCK_SLACK``). The network's one-time
memory calibration is run (and timed) first, so that no case pays for it.

Parts (``--part``, each alone or several; results merged into ``--out``, JSON, and each case
appended to ``<out>.cases.jsonl`` as soon as it ends):

* ``rss-length``: "narrow" network (the paper's wiring at 8 channels per level), 1 step,
  stereo, 1 / 10 / 60 minutes, streaming; the in-memory path (``--in-memory``) at 1 / 10 min
  mono for comparison. Also the end-to-end figures of the longest file: wall time, seconds per
  window, output length equal to the input's.
* ``rss-steps``: narrow, mono, 2 / 8 / 32 steps at ``--batch-size 1`` on one input longer than
  the band of the most steps (the band spans about ``steps * (w + b h) + w`` frames), and the
  CLI's default batch (auto) at 2 / 8 steps; the bytes per frame and frames per step that give
  the memory of any model at any steps.
* ``speed``: "bench-small" (benchmarks/bench_sampling.py), mono, 10 / 60 s, 2 steps: streaming
  against in-memory, alternating in one run (seconds per step = the restoration's wall time,
  read + restore + write, divided by the steps).
* ``diff``: narrow, a 3-minute stereo file, 2 steps, restored by both paths with seed 0: the
  largest absolute difference of the two outputs (float WAV).

    python benchmarks/bench_streaming.py --part rss-length --minutes 1 10 --out /tmp/s.json
    python benchmarks/bench_streaming.py --part rss-steps diff --out /tmp/s.json
    python benchmarks/bench_streaming.py --part speed --repeats 2 --out /tmp/s.json
    python benchmarks/bench_streaming.py --part rss-length --minutes 60 --in-memory-minutes \\
        --work /tmp/bs --out /tmp/s.json     # --work keeps the inputs (and each case's stderr)

Recorded 2026-12-07 (commit 3701242 unless said, 2 cores AMD EPYC, torch 2.13.0+cpu; the rss parts ran side
by side with other work, so only the speed part's times are clean; peaks are VmHWM in MiB):

* rss-length (narrow, 1 step, batch auto = 3 streaming / 6 in memory; commit 86dae1b, buffers
  reusing one block each): streaming stereo 1 / 60 min: 1373.0 / 1402.3 MiB (+2.1 % from 1 to
  60 min; 1402.3 MiB = 1.37 GiB = 1.47e9 B), frames held 1150 at both lengths. The 60-min
  stereo file end to end: 3989 s wall on a machine shared with a training run (4501 CPU s),
  output 158760000 samples per channel = the input's. Before (commit 3701242, a new tensor per
  appended block): 1409.7 / 1433.6 / 1468.8 MiB at 1 / 10 / 60 min (+4.2 %; 1.54e9 B), 5806 s
  wall; in memory mono 1 / 10 min: 1714.9 / 4414.3 MiB.
* rss-steps (narrow, mono, 158 s, batch 1; commit d0fd15b, buffers reusing one block each): 2 /
  8 / 32 steps: 588.2 / 653.6 / 1115.6 MiB (the CLI's estimate, with STREAM_BLOCK_SLACK 1.5:
  565.6 / 673.6 / 1105.6 MiB, -3.8 / +3.1 / -0.9 %), frames held 1278 / 4350 / 16638 (about 512
  per step at the moment they are counted; bound 3 w + 2 b h = 1024); RSS growth 10.9 MiB per
  step from 2 to 8 steps (930 columns of 12288 B), 19.3 MiB per step from 8 to 32 (1643 columns:
  1.6 x the bound, the blocks' pages). 32 steps: 2265 s of restoration on the shared machine.
  Before (commit 3701242, a new tensor per appended block): 602.4 / 716.1 MiB at 2 / 8 steps.
  Paper-size model, 200 steps, batch 1: band 200 x 1024 x 1.5 x 12288 B = 3.52 GiB per audio
  channel (3.76 GiB by the 1643 measured columns per step), plus 2.11 GiB of weights, the
  runtime and the activations, whatever the length.
* speed (bench-small, mono, 2 steps, batch auto = 3, nothing else running, repeats alternating;
  commit 6c8c8b6, 4 repeats): s per step streaming / in memory: 10 s 10.78, 11.72, 11.32,
  13.12 / 10.86, 11.13, 10.97, 11.67 (ratio 0.993 best, 1.043 median); 60 s 76.42, 81.59, 75.35,
  73.75 / 75.64, 81.17, 72.04, 81.53 (1.024 best, 0.968 median; per pair 1.010, 1.005, 1.046,
  0.905). The job's seconds outside the network calls (median): 0.20 / 0.19 at 10 s, 0.99 /
  1.42 at 60 s, so the streaming path adds nothing measurable; what varies is the network calls
  themselves, the same calls in both paths (a cProfile of one 60-s run of each: the same 28
  calls, 2940 convolutions). They vary because on this machine about 40 % of their CPU time is
  the kernel faulting in fresh pages (54 million minor faults per 60-s run, glibc maps every
  block over 32 MiB afresh): keeping freed blocks in the heap (a2sb.allocator, what training
  does) made both paths 1.8 x faster and the ratio 1.001 at 60 s, but streaming a 60-minute
  stereo file then peaked at 1731 MiB, 28 % above 1 minute (1354 MiB), so restoration does not.
  Peaks at 60 s: 1469-1487 / 1792-1832 MiB. Earlier runs (commit 86dae1b, 2 + 3 repeats at
  60 s): 1.051 and 1.065 best.
* diff (narrow, 3 min stereo, 2 steps, seed 0, batch auto = 3 / 6): max abs difference
  2.4e-7 (the network's outputs differ by batch size), same length.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STFT = {"sample_rate": 44100, "n_fft": 2048, "hop_length": 512, "win_length": 2048,
        "rho": 0.25, "segment_frames": 256}  # fmt: skip
WINDOW, HOP = 256, 128
CUTOFF_HZ = 4000
THREADS = 2
LOOP_S = 60  # the music-like signal repeats every LOOP_S seconds (partials on a 1/LOOP_S grid)
WRITE_BLOCK = 1 << 20
MIB = 2**20
PARTS = ("rss-length", "rss-steps", "speed", "diff")


# ----------------------------------------------------------------------------- child process


def _status(key: str) -> int:
    """Bytes of ``key`` (VmHWM:, VmRSS:) in /proc/self/status."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {key} in /proc/self/status")


def child(request: dict) -> dict:
    """Run ``a2sb`` with ``request["argv"]`` in this fresh process; its JSON line, the wall
    times of the job (restore_one) and of the restoration proper, ``frames_held`` (streaming),
    the peak resident memory (VmHWM) and the resident memory when the job started."""
    import contextlib
    import io

    import torch

    torch.set_num_threads(request.get("threads", THREADS))
    import a2sb.restore_cli as rc
    from a2sb.cli import main

    seen: dict = {}

    def timed(name, fn, after=None):
        def wrapper(*args, **kwargs):
            if name == "job":
                seen["rss_at_start"] = _status("VmRSS:")
                seen["hwm_at_start"] = _status("VmHWM:")
            start = time.perf_counter()
            result = fn(*args, **kwargs)
            seen[f"{name}_s"] = time.perf_counter() - start
            if after is not None:
                after(result)
            return result

        return wrapper

    # seconds inside the network's calls (both paths pick the network through the router)
    import a2sb.sampler as sampler

    select = sampler.PartitionRouter.select
    seen["network_s"] = 0.0

    def timed_select(self, t):
        net = select(self, t)

        def call(*args):
            start = time.perf_counter()
            out = net(*args)
            seen["network_s"] += time.perf_counter() - start
            return out

        return call

    sampler.PartitionRouter.select = timed_select
    rc.restore_one = timed("job", rc.restore_one)
    rc.restore = timed("restore", rc.restore)  # the in-memory path
    rc.restore_file = timed("restore", rc.restore_file,
                            lambda r: seen.update(frames_held=r.frames_held))  # fmt: skip

    def cpu_s() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    out = io.StringIO()
    start, cpu = time.perf_counter(), cpu_s()
    with contextlib.redirect_stdout(out):
        code = main(request["argv"])
    wall, cpu = time.perf_counter() - start, cpu_s() - cpu
    lines = out.getvalue().strip().splitlines()
    info = json.loads(lines[-1]) if code == 0 and lines else {}
    return {"code": code, "cli_s": wall, "cpu_s": cpu, "peak": _status("VmHWM:"),
            "torch_threads": torch.get_num_threads(), **seen, **info}  # fmt: skip


# ----------------------------------------------------------------------------- inputs


def music_loop(seed: int, rate: int = STFT["sample_rate"], seconds: int = LOOP_S):
    """``seconds`` of music-like float32 audio (six harmonic notes of 12 partials decaying as
    0.6^k, slow amplitude envelopes, as tests/conftest.py ``music_like``) whose frequencies are
    multiples of 1 / ``seconds`` Hz: it repeats seamlessly."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = seconds * rate
    t = np.arange(n) / rate
    out = np.zeros(n)
    grid = 1.0 / seconds

    def snap(f: float) -> float:
        return max(grid, round(f / grid) * grid)

    for f0 in 196.0 * 2 ** (rng.integers(0, 24, 6) / 12):
        env = 0.6 + 0.4 * np.sin(2 * np.pi * snap(rng.uniform(0.2, 1.0)) * t + rng.uniform(0, 6))
        for k in range(12):
            f = snap(f0 * (k + 1))
            if f < 0.45 * rate:
                out += env * 0.6**k * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    return (0.9 * out / np.abs(out).max()).astype(np.float32)


def make_input(folder: Path, seconds: float, channels: int) -> Path:
    """A music-like PCM_16 WAV of ``seconds`` x ``channels`` at 44.1 kHz, written block by
    block (kept and reused when ``folder`` already has it)."""
    import numpy as np
    import soundfile as sf

    rate = STFT["sample_rate"]
    frames = int(round(seconds * rate))
    path = folder / f"music_{seconds:g}s_{channels}ch.wav"
    if path.exists():
        info = sf.info(str(path))
        if info.frames == frames and info.channels == channels:
            return path
    loops = [music_loop(seed) for seed in range(channels)]
    n = len(loops[0])
    tmp = path.with_suffix(".partial.wav")
    with sf.SoundFile(str(tmp), "w", rate, channels, "PCM_16") as f:
        for a in range(0, frames, WRITE_BLOCK):
            idx = np.arange(a, min(frames, a + WRITE_BLOCK)) % n
            f.write(np.stack([loop[idx] for loop in loops], axis=1))
    tmp.replace(path)
    return path


def make_checkpoint(folder: Path, preset: str) -> Path:
    """A randomly initialised ``preset`` (torch seed 0) with the paper's STFT."""
    import torch

    import a2sb
    from a2sb.checkpoint import save_checkpoint
    from a2sb.masks import MaskConfig

    ckpt = folder / f"{preset}.safetensors"
    if ckpt.exists():
        return ckpt
    torch.manual_seed(0)
    model = a2sb.build_model(preset)
    extra = {"mask_config": MaskConfig().to_dict(), "beta_max": 1.0}
    save_checkpoint(ckpt, model, model.config.to_dict(), STFT, extra=extra)
    return ckpt


def calibrate_once(ckpt: Path) -> dict:
    """The CLI's one-time memory calibration for this model and window (fills the cache the
    cases share), timed; its line (activation bytes = fixed + per_window x windows)."""
    import torch

    from a2sb.memory import available_memory, calibrate, checkpoint_shape

    torch.set_num_threads(THREADS)  # the cache key holds the thread count of the CLI's process
    shape = checkpoint_shape(ckpt)
    start = time.perf_counter()
    cost = calibrate(shape.model, shape.stft.n_rows, WINDOW, "cpu", available_memory("cpu"))
    return {"checkpoint": ckpt.stem, "calibration_s": round(time.perf_counter() - start, 1),
            "fixed_mib": round(cost.fixed / MIB, 1),
            "per_window_mib": round(cost.per_window / MIB, 1),
            "weights_mib": round(shape.weight_bytes / MIB, 2)}  # fmt: skip


# ----------------------------------------------------------------------------- one case


def _proc_mib(pid: int) -> list:
    """``[VmRSS, VmHWM]`` of process ``pid`` in MiB (None where it has ended)."""
    got = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    got[line[:5]] = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return [got.get("VmRSS"), got.get("VmHWM")]


def _progress(log: Path) -> float | None:
    """Audio seconds written, from the last update of the CLI's progress bar in ``log``."""
    import re

    try:
        with open(log, "rb") as f:
            f.seek(max(0, f.seek(0, 2) - 4096))
            tail = f.read().decode(errors="replace")
    except OSError:
        return None
    found = re.findall(r"\| *([\d.]+)/([\d.]+) s \[", tail)
    return float(found[-1][0]) if found else None


class Bench:
    def __init__(self, work: Path, trace_every: float = 30.0, max_wall: float | None = None):
        self.work = work
        self.trace_every, self.max_wall = trace_every, max_wall
        self.cache = work / "cache"
        self.env = {**os.environ, "A2SB_CACHE_DIR": str(self.cache),
                    "OMP_NUM_THREADS": str(THREADS), "MKL_NUM_THREADS": str(THREADS),
                    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                                os.environ.get("PYTHONPATH")]))}  # fmt: skip
        os.environ.update({k: self.env[k] for k in ("A2SB_CACHE_DIR", "PYTHONPATH")})
        self.calibrations: dict[str, dict] = {}
        self.journal: Path | None = None  # each finished case appended here (JSON lines)

    def checkpoint(self, preset: str) -> Path:
        ckpt = make_checkpoint(self.work, preset)
        if preset not in self.calibrations:
            self.calibrations[preset] = calib = calibrate_once(ckpt)
            print(f"{preset}: calibration {calib['calibration_s']} s; activations "
                  f"{calib['fixed_mib']} MiB + {calib['per_window_mib']} MiB per window; weights "
                  f"{calib['weights_mib']} MiB", flush=True)  # fmt: skip
        return ckpt

    def _watch(self, request: dict, log: Path) -> tuple[str, list, bool]:
        """Run the child, sampling its resident memory (VmRSS, VmHWM from /proc/PID/status) and
        the audio seconds its progress bar reports every ``trace_every`` s; stop it after
        ``max_wall`` s. ``(stdout, trace, stopped)``, trace rows ``[s, rss MiB, hwm MiB, done s]``
        (the first at the start, the last at the end)."""
        start = time.perf_counter()
        trace: list = [[0.0, None, None, 0.0]]
        stopped = False
        with open(log, "w") as err:
            proc = subprocess.Popen([sys.executable, __file__, "--child", json.dumps(request)],
                                    stdout=subprocess.PIPE, stderr=err, text=True,
                                    env=self.env)  # fmt: skip
            while True:
                try:
                    stdout, _ = proc.communicate(timeout=self.trace_every)
                    break
                except subprocess.TimeoutExpired:
                    elapsed = time.perf_counter() - start
                    trace.append([round(elapsed, 1), *_proc_mib(proc.pid), _progress(log)])
                    if self.max_wall is not None and elapsed > self.max_wall:
                        proc.kill()
                        stdout, _ = proc.communicate()
                        stopped = True
                        break
        trace.append([round(time.perf_counter() - start, 1), None, None, _progress(log)])
        return stdout or "", trace, stopped

    @staticmethod
    def _stopped(trace: list, seconds: float, calls: int) -> dict:
        """Figures of a case stopped before its end: the peak so far and the measured rate."""
        live = [t for t in trace if t[1] is not None]
        out = {"stopped_after_s": trace[-1][0],
               "peak_mib_at_stop": max((t[2] for t in live), default=None),
               "audio_s_done": trace[-1][3]}  # fmt: skip
        moving = [t for t in live if t[3] and t[3] > 0]
        if len(moving) >= 2 and moving[-1][3] > moving[0][3]:
            a, b = moving[0], moving[-1]
            s_per_audio_s = (b[0] - a[0]) / (b[3] - a[3])
            out["s_per_window_measured"] = round(s_per_audio_s * seconds / calls, 3)
            out["projected_restore_s"] = round(s_per_audio_s * seconds)
        return out

    def run(self, label: str, source: Path, preset: str, **options) -> dict:
        """:meth:`run_case`, its row appended to :attr:`journal` as soon as it ends (a long
        part stopped midway keeps its finished cases)."""
        row = self.run_case(label, source, preset, **options)
        if self.journal is not None:
            with open(self.journal, "a") as f:
                f.write(json.dumps(row) + "\n")
        return row

    def run_case(self, label: str, source: Path, preset: str, *, steps: int, batch: str = "auto",
                 in_memory: bool = False, seed: int = 0, keep: bool = False) -> dict:  # fmt: skip
        """``a2sb restore`` of ``source`` in a fresh process; the figures of the case. Where
        the memory estimate refuses, run again with ``--no-memory-check`` (noted)."""
        import soundfile as sf

        from a2sb.multidiffusion import WindowConfig, window_starts

        ckpt = self.checkpoint(preset)
        target = self.work / f"out_{label}.wav"
        info = sf.info(str(source))
        frames_in, channels = int(info.frames), int(info.channels)
        row = {"case": label, "preset": preset, "path": "in-memory" if in_memory else "streaming",
               "seconds": round(frames_in / info.samplerate, 3), "channels": channels,
               "steps": steps, "batch_arg": batch}  # fmt: skip
        argv = ["restore", str(source), str(target), "--task", "bandwidth-extension",
                "--cutoff-hz", str(CUTOFF_HZ), "--checkpoint", str(ckpt), "--steps", str(steps),
                "--batch-size", batch, "--seed", str(seed)]  # fmt: skip
        if in_memory:
            argv.append("--in-memory")
        log = self.work / f"{label}.stderr"
        n_frames = frames_in // STFT["hop_length"] + 1  # same rate: the model's samples
        windows = len(window_starts(n_frames, WindowConfig(WINDOW, HOP, 1))[0])
        calls = windows * channels * steps
        for attempt in ("checked", "unchecked"):
            request = {"argv": argv, "threads": THREADS}
            row["command"] = "a2sb " + " ".join(argv)
            stdout, trace, stopped = self._watch(request, log)
            row["process_s"] = trace[-1][0] if trace else None
            if len(trace) > 2:
                row["trace"] = trace[1:-1]  # [s, VmRSS MiB, VmHWM MiB, audio s written]
            text = log.read_text(errors="replace")
            result = {}
            if stdout.strip():
                try:
                    result = json.loads(stdout.strip().splitlines()[-1])
                except ValueError:
                    pass
            if result.get("code") == 0:
                break
            if stopped:
                row.update(self._stopped(trace, row["seconds"], calls))
                print(f"{label}: stopped after {row['stopped_after_s']} s: "
                      f"{json.dumps({k: v for k, v in row.items() if k != 'trace'})}", flush=True)  # fmt: skip
                return row
            if attempt == "checked" and "restoring needs about" in text:
                argv.append("--no-memory-check")
                row["no_memory_check"] = True
                continue
            row["error"] = (text.strip().splitlines() or ["(no stderr)"])[-1][-300:]
            print(f"{label}: failed: {row['error']}", flush=True)
            return row
        out_frames = int(sf.info(str(target)).frames)
        row.update({
            "batch": result.get("batch_size"), "frames": n_frames, "window_passes": calls,
            "peak_mib": round(result["peak"] / MIB, 1),
            "rss_at_start_mib": round(result.get("rss_at_start", 0) / MIB, 1),
            "estimate_mib": (round(result["memory_estimate_bytes"] / MIB, 1)
                             if "memory_estimate_bytes" in result else None),
            "frames_held": result.get("frames_held"),
            "job_s": round(result["job_s"], 2), "restore_s": round(result["restore_s"], 2),
            "cli_s": round(result["cli_s"], 2), "cpu_s": round(result["cpu_s"], 1),
            "s_per_window": round(result["restore_s"] / calls, 3),
            "s_per_step": round(result["job_s"] / steps, 2),
            # the job's seconds outside the network calls: reading, encoding, the sampler's own
            # updates, decoding, writing
            "outside_network_s": round(result["job_s"] - result["network_s"], 2),
            "output_frames": out_frames, "length_ok": out_frames == frames_in,
            "torch_threads": result.get("torch_threads"),
        })  # fmt: skip
        if not in_memory:
            from a2sb.memory import streaming_frames

            row["estimate_frames"] = streaming_frames(steps, WINDOW, HOP, row["batch"] or 1)
        if not keep:
            target.unlink(missing_ok=True)
        return row


def show(rows: list[dict], columns: list[str]) -> None:
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns}
    print("  ".join(f"{c:>{widths[c]}}" for c in columns))
    for r in rows:
        print("  ".join(f"{_fmt(r.get(c)):>{widths[c]}}" for c in columns))


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


# ----------------------------------------------------------------------------- the parts


def part_rss_length(bench: Bench, args: argparse.Namespace) -> dict:
    rows = []
    for minutes in args.in_memory_minutes:
        src = make_input(bench.work, 60 * minutes, 1)
        rows.append(bench.run(f"mem_{minutes:g}min_mono", src, "narrow", steps=1, in_memory=True))
        show(rows[-1:], ["case", "peak_mib", "estimate_mib", "batch", "restore_s"])
    for minutes in args.minutes:
        src = make_input(bench.work, 60 * minutes, 2)
        rows.append(bench.run(f"stream_{minutes:g}min_stereo", src, "narrow", steps=1))
        show(rows[-1:], ["case", "peak_mib", "estimate_mib", "batch", "frames_held", "restore_s",
                         "s_per_window", "length_ok"])  # fmt: skip
    summary = {}
    stream = [r for r in rows if r["path"] == "streaming" and "peak_mib" in r]
    if len(stream) >= 2:
        short, long = (
            min(stream, key=lambda r: r["seconds"]),
            max(stream, key=lambda r: r["seconds"]),
        )
        growth = long["peak_mib"] / short["peak_mib"] - 1
        summary = {"shortest_s": short["seconds"], "longest_s": long["seconds"],
                   "growth": round(growth, 4), "growth_target_ok": growth <= 0.10,
                   "longest_peak_bytes": int(long["peak_mib"] * MIB),
                   "under_1_5_GB": long["peak_mib"] * MIB < 1.5e9}  # fmt: skip
    return {"rows": rows, "summary": summary}


def band_seconds(steps: int, batch: int) -> float:
    """Seconds of audio a 1-channel band of ``steps`` spans at ``batch`` windows per call:
    ``steps * (w + b h) + 2 w`` frames (one window and one batch of hops between steps)."""
    frames = steps * (WINDOW + batch * HOP) + 2 * WINDOW
    return frames * STFT["hop_length"] / STFT["sample_rate"]


def part_rss_steps(bench: Bench, args: argparse.Namespace) -> dict:
    from a2sb.memory import FLOAT_BYTES

    seconds = args.steps_seconds or float(int(band_seconds(max(args.steps), 1)) + 10)
    src = make_input(bench.work, seconds, 1)
    print(
        f"rss-steps: mono input of {seconds:g} s (longer than the band at "
        f"{max(args.steps)} steps, batch 1: {band_seconds(max(args.steps), 1):.0f} s)",
        flush=True,
    )
    rows = []
    for steps in args.steps:
        rows.append(bench.run(f"steps{steps}_b1", src, "narrow", steps=steps, batch="1"))
        show(rows[-1:], ["case", "peak_mib", "estimate_mib", "frames_held", "estimate_frames",
                         "restore_s", "s_per_window"])  # fmt: skip
    for steps in args.default_batch_steps:
        rows.append(bench.run(f"steps{steps}_auto", src, "narrow", steps=steps))
        show(rows[-1:], ["case", "batch", "peak_mib", "estimate_mib", "frames_held",
                         "estimate_frames", "restore_s"])  # fmt: skip
    column = 3 * (STFT["n_fft"] // 2) * FLOAT_BYTES  # bytes of one frame of one audio channel
    ok = [r for r in rows if r["batch_arg"] == "1" and "peak_mib" in r]
    summary: dict = {"input_s": seconds, "bytes_per_frame": column}
    if len(ok) >= 2:
        a, b = min(ok, key=lambda r: r["steps"]), max(ok, key=lambda r: r["steps"])
        d_steps = b["steps"] - a["steps"]
        rss_per_step = (b["peak_mib"] - a["peak_mib"]) * MIB / d_steps
        held_per_step = (b["frames_held"] - a["frames_held"]) / d_steps
        summary.update({
            "rss_bytes_per_step": int(rss_per_step),
            "rss_frames_per_step": round(rss_per_step / column, 1),
            "held_frames_per_step": round(held_per_step, 1),
            "estimate_frames_per_step_b1": 3 * WINDOW + 2 * HOP,
            "rss_per_held_frame": round(rss_per_step / held_per_step) if held_per_step else None,
        })  # fmt: skip
    return {"rows": rows, "summary": summary}


def formula(summary: dict) -> list[str]:
    """The memory of the paper-size model at 200 steps from the measured per-step figures."""
    from a2sb.memory import BASELINE_BYTES, STREAM_BLOCK_SLACK

    column = summary["bytes_per_frame"]
    weights = 565_544_851 * 4
    slack = STREAM_BLOCK_SLACK
    lines = [
        f"bytes per frame held (one audio channel): C x N x 4 = 3 x 1024 x 4 = {column}",
        f"frames held per step (batch 1): reported {summary.get('held_frames_per_step')}, from "
        f"the RSS growth {summary.get('rss_frames_per_step')}, bound 3 w + 2 b h = "
        f"{3 * WINDOW + 2 * HOP}, resident x {slack} (the buffers' blocks grow by half)",
        "peak(steps, K channels, b) ~ runtime + weights + K x steps x (3 w + 2 b h) x "
        f"{slack} x {column} B + activations(b K), independent of the length",
    ]
    for b in (1, 3):
        per_step = 3 * WINDOW + 2 * b * HOP
        band = 200 * per_step * column * slack
        lines.append(
            f"paper model, 200 steps, batch {b}: band {band / 2**30:.2f} GiB per audio channel "
            f"(mono {(BASELINE_BYTES + weights + band) / 2**30:.2f} GiB, stereo "
            f"{(BASELINE_BYTES + weights + 2 * band) / 2**30:.2f} GiB with the runtime "
            f"{BASELINE_BYTES / MIB:.0f} MiB and weights {weights / 2**30:.2f} GiB, "
            "plus the activations of b K windows)"
        )
    if summary.get("rss_frames_per_step"):
        band = 200 * summary["rss_frames_per_step"] * column
        lines.append(f"  with the measured RSS growth of {summary['rss_frames_per_step']} columns "
                     f"per step (batch 1): {band / 2**30:.2f} GiB per audio channel")  # fmt: skip
    return lines


def part_speed(bench: Bench, args: argparse.Namespace) -> dict:
    rows = []
    sources = {s: make_input(bench.work, s, 1) for s in args.speed_seconds}
    for rep in range(args.repeats):
        for seconds, src in sources.items():
            order = (False, True) if rep % 2 == 0 else (True, False)
            for in_memory in order:
                label = f"speed_{'mem' if in_memory else 'stream'}_{seconds:g}s_r{rep}"
                row = bench.run(label, src, "bench-small", steps=args.speed_steps,
                                batch=args.speed_batch, in_memory=in_memory)  # fmt: skip
                row["repeat"] = rep
                rows.append(row)
                show(rows[-1:], ["case", "batch", "s_per_step", "restore_s", "outside_network_s",
                                 "peak_mib", "estimate_mib"])  # fmt: skip
    summary = {}
    for seconds in args.speed_seconds:
        per = {}
        for path in ("streaming", "in-memory"):
            got = [r for r in rows if r["seconds"] == round(seconds, 3) and r["path"] == path
                   and "s_per_step" in r]  # fmt: skip
            if got:
                per[path] = {"s_per_step_min": min(r["s_per_step"] for r in got),
                             "s_per_step_median": statistics.median(r["s_per_step"] for r in got),
                             "peak_mib_max": max(r["peak_mib"] for r in got),
                             "outside_network_s_median": statistics.median(
                                 r["outside_network_s"] for r in got),
                             "batch": sorted({r["batch"] for r in got})}  # fmt: skip
        if len(per) == 2:
            ratio = per["streaming"]["s_per_step_min"] / per["in-memory"]["s_per_step_min"]
            per["ratio_min"] = round(ratio, 3)
            per["ratio_median"] = round(per["streaming"]["s_per_step_median"]
                                        / per["in-memory"]["s_per_step_median"], 3)  # fmt: skip
            per["ratio_target_ok"] = ratio <= 1.05
        summary[f"{seconds:g}s"] = per
    return {"rows": rows, "summary": summary}


def part_diff(bench: Bench, args: argparse.Namespace) -> dict:
    import numpy as np
    import soundfile as sf

    src = make_input(bench.work, args.diff_seconds, args.diff_channels)
    rows = [bench.run(f"diff_{p}", src, "narrow", steps=args.diff_steps, in_memory=p == "mem",
                      keep=True, batch=args.diff_batch) for p in ("stream", "mem")]  # fmt: skip
    show(rows, ["case", "batch", "peak_mib", "restore_s", "length_ok"])
    summary = {}
    outs = [bench.work / f"out_diff_{p}.wav" for p in ("stream", "mem")]
    if all(p.exists() for p in outs):
        a, b = (sf.read(str(p), dtype="float32", always_2d=True)[0] for p in outs)
        summary = {"same_shape": a.shape == b.shape,
                   "max_abs_diff": float(np.max(np.abs(a - b))) if a.shape == b.shape else None,
                   "bit_identical": bool(a.shape == b.shape and np.array_equal(a, b)),
                   "output_peak": float(np.max(np.abs(a)))}  # fmt: skip
        for p in outs:
            p.unlink()
    return {"rows": rows, "summary": summary}


# ----------------------------------------------------------------------------- main


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--part", nargs="+", choices=PARTS, default=list(PARTS))
    p.add_argument("--out", type=Path, help="JSON of the results (merged with an existing one)")
    p.add_argument("--work", type=Path, help="folder of the inputs, checkpoints, calibration "
                   "cache and each case's stderr, kept (unset: a temporary one, removed)")  # fmt: skip
    p.add_argument("--minutes", type=float, nargs="*", default=[1.0, 10.0, 60.0],
                   help="rss-length: stereo lengths, streaming")  # fmt: skip
    p.add_argument("--in-memory-minutes", type=float, nargs="*", default=[1.0, 10.0],
                   help="rss-length: mono lengths, in memory")  # fmt: skip
    p.add_argument("--steps", type=int, nargs="+", default=[2, 8, 32], help="rss-steps, batch 1")
    p.add_argument("--default-batch-steps", type=int, nargs="*", default=[2, 8],
                   help="rss-steps: these steps again at the CLI's default batch (auto)")  # fmt: skip
    p.add_argument("--steps-seconds", type=float,
                   help="rss-steps: input length (unset: the band at the most steps + 10 s)")  # fmt: skip
    p.add_argument("--speed-seconds", type=float, nargs="+", default=[10.0, 60.0])
    p.add_argument("--speed-steps", type=int, default=2)
    p.add_argument("--speed-batch", default="auto")
    p.add_argument("--repeats", type=int, default=2, help="speed: runs of each path and length")
    p.add_argument("--diff-seconds", type=float, default=180.0)
    p.add_argument("--diff-channels", type=int, default=2)
    p.add_argument("--diff-steps", type=int, default=2)
    p.add_argument("--diff-batch", default="auto")
    p.add_argument("--trace-every", type=float, default=30.0,
                   help="seconds between samples of a case's resident memory and progress")  # fmt: skip
    p.add_argument("--max-wall", type=float, help="stop a case after this many seconds and "
                   "report its rate and its peak so far")  # fmt: skip
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child is not None:
        print(json.dumps(child(json.loads(args.child))))
        return
    with tempfile.TemporaryDirectory(prefix="bench_streaming_") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        bench = Bench(work, args.trace_every, args.max_wall)
        if args.out is not None:
            bench.journal = args.out.with_suffix(".cases.jsonl")
        results: dict = {}
        if args.out is not None and args.out.exists():
            results = json.loads(args.out.read_text())
        import torch

        results["machine"] = {"cpus": os.cpu_count(), "torch": torch.__version__,
                              "threads": THREADS, "load_avg_start": os.getloadavg()}  # fmt: skip
        runs = {"rss-length": part_rss_length, "rss-steps": part_rss_steps,
                "speed": part_speed, "diff": part_diff}  # fmt: skip
        for part in args.part:
            print(f"== {part}", flush=True)
            start = time.perf_counter()
            res = runs[part](bench, args)
            res["wall_s"] = round(time.perf_counter() - start, 1)
            res["load_avg_end"] = os.getloadavg()
            res["calibrations"] = dict(bench.calibrations)
            results[part] = res
            print(f"-- {part}: summary {json.dumps(res['summary'])}", flush=True)
            if part == "rss-steps" and res["summary"].get("bytes_per_frame"):
                res["formula"] = formula(res["summary"])
                print("\n".join(res["formula"]), flush=True)
            if args.out is not None:
                from a2sb.io.atomic import write_text

                write_text(args.out, json.dumps(results, indent=1) + "\n")
        all_rows = [r for part in args.part for r in results[part]["rows"]]
        print("== all cases")
        show(all_rows, ["case", "path", "seconds", "channels", "steps", "batch", "peak_mib",
                        "estimate_mib", "frames_held", "estimate_frames", "restore_s",
                        "s_per_window", "s_per_step", "length_ok"])  # fmt: skip


if __name__ == "__main__":
    main()
