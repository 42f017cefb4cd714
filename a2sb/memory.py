"""Peak-memory estimate of a restoration, made before the work starts (``a2sb restore``).

``peak = baseline + weights + audio + state + windows + activations(batch)``, in bytes:

* ``baseline``: the interpreter with torch and a2sb imported and a checkpoint's loading code run,
  :data:`BASELINE_BYTES` (the CLI's resident set before sampling, less the weights: 302 MiB on
  Linux x86-64 with torch 2.13 CPU);
* ``weights``: the checkpoint files (every partition of a bundle is loaded at once);
* ``audio``: the input at its own rate, its copy at the model's rate, the restored channels and
  the channel being restored, float32;
* ``state``: the tensors of one channel's whole spectrogram ``S = C x N x W`` float32 that are
  alive during a network call (channels are restored one after the other). Counted from
  :mod:`a2sb.restoration`, :mod:`a2sb.sampler` and :mod:`a2sb.multidiffusion`: ``x1``,
  ``x1 * known``, ``x_t``, the previous ``X0_hat`` and the MultiDiffusion accumulator (5 S), the
  mask and ``1 - mask`` (2 S / C). The official protocol also keeps the unpadded ``x1`` and mask
  and works on the state padded to whole windows;
* streaming (``a2sb restore``'s default, :mod:`a2sb.stream`): ``state`` is instead the band the
  wavefront holds, :func:`streaming_frames` columns of every channel (about ``steps x (3 w + 2 b
  h)``, independent of the length) and ``audio`` a few read blocks; a network call takes the
  windows of every channel;
* ``windows``: the stacked input of one network call, ``batch x C x N x window`` float32;
* ``activations``: one network call on ``batch`` windows, ``fixed + batch x per_window``,
  measured once per model config, window shape, device and torch version by :func:`calibrate`
  and cached in :func:`cache_dir`: a fresh subprocess runs the network (zero weights) on 1 and
  then 8 windows and reads the peak of each (:class:`PeakMeter`: the resident set's high-water
  mark, reset between the two, or on CUDA the allocator's peak reserve). Measured rather than
  derived from the layer widths because the attention materialises ``heads x T^2`` scores
  (``T`` = positions at the attention level) whose copies depend on torch's kernels: with the
  tiny model on the paper's 1024 x 256 windows they are most of the ~300 MiB per window.

On CUDA the figure is the device's: weights, state, windows and activations (the host's share
and the CUDA context, which the free-memory query already leaves out, are not counted).

Accuracy: ``benchmarks/bench_memory.py`` prints the estimate against the measured peak RSS of
whole ``a2sb restore`` runs. CPU, tiny model, 5 / 20 / 60 s at batch 1 / 4 / 16 (512 x 128
windows) and 20 s at 1 / 4 / 16 (the paper's 1024 x 256): within -2 % to +11 % of the measured
peaks (0.45 to 4.4 GB); the figures are in that script's docstring. Repeated calibrations of
one shape differ by about 20 MiB at batch 1. CUDA is not measured yet.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .errors import CheckpointError

MIB = 2**20
GIB = 2**30
#: interpreter, torch, a2sb, a checkpoint's loading code and the network's first call's lasting
#: allocations (thread pools, kernel caches): the CLI's RSS before sampling is 306 MiB, its
#: peaks at batch 1 exceed the other terms by 340-360 MiB
BASELINE_BYTES = 340 * MIB
#: the calibration runs the network on 1 window, then on this many (a line through the two)
CALIBRATION_MAX_BATCH = 8
#: seconds a calibration may take (the paper's model on a CPU: nine window passes, 1 + 8)
CALIBRATION_TIMEOUT_S = 1800
#: auto batch size: the largest batch whose estimate fits this share of the available memory
FIT_FRACTION = 0.9
#: auto batch size on CUDA: at most this many windows per call
CUDA_MAX_BATCH = 64
#: auto batch size on a CPU: at most this many windows per call, and only while one call's
#: activations stay within CPU_CALL_BYTES. Measured (benchmarks/bench_memory.py, tiny model,
#: one step, 2 shared cores): 512 x 128 windows (46 MiB each), 60 s: 82 / 69 / 54 CPU s at
#: batch 1 / 4 / 16; 1024 x 256 windows (302 MiB each), 20 s: 71 / 45 / 42 CPU s with peaks of
#: 0.76 / 1.67 / 4.44 GB. A few windows per call take most of the gain; the budget bounds the
#: memory it costs (1024 x 256 windows: 3 per call).
CPU_MAX_BATCH = 16
CPU_CALL_BYTES = 1 * GIB
#: the allocator keeps about this many state-sized blocks of the encoding's temporaries while
#: the sampler runs (peaks of long inputs exceed the live tensors by about 2 S)
RETAINED_STATES = 2
FLOAT_BYTES = 4


@dataclass(frozen=True)
class ActivationCost:
    """Bytes of one network call on ``b`` windows: ``fixed + b * per_window``."""

    fixed: int
    per_window: int
    measured: bool = True  # False: the attention-score floor of :func:`attention_floor`

    def bytes(self, batch: int) -> int:
        return self.fixed + batch * self.per_window


@dataclass(frozen=True)
class MemoryEstimate:
    """The parts of an estimated peak, in bytes; ``total`` is their sum."""

    device: str
    batch_size: int
    baseline: int
    weights: int
    audio: int
    state: int
    windows: int
    activations: int
    measured: bool = True

    @property
    def total(self) -> int:
        return (
            self.baseline + self.weights + self.audio + self.state + self.windows + self.activations
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total": self.total}


def gib(n_bytes: float) -> str:
    """``1.23 GiB`` (or MiB under 1 GiB)."""
    if n_bytes < GIB:
        return f"{n_bytes / MIB:.0f} MiB"
    return f"{n_bytes / GIB:.2f} GiB"


# ----------------------------------------------------------------------------- the counts


def frames_of(samples: int, n_fft: int, hop_length: int) -> int:
    """STFT frames of ``samples`` (centred STFT; inputs under ``n_fft / 2 + 1`` are padded)."""
    return max(samples, n_fft // 2 + 1) // hop_length + 1


def state_bytes(
    rep_channels: int, rows: int, frames: int, padded_frames: int, official: bool
) -> int:
    """Sampler tensors of one channel alive during a network call, plus what the allocator
    keeps of the encoding's (see the module docstring)."""
    plane = rows * FLOAT_BYTES  # one [N] column of one channel
    full = rep_channels * plane * frames
    retained = RETAINED_STATES * full
    if not official:
        return 5 * full + 2 * plane * frames + retained
    padded = rep_channels * plane * padded_frames
    return full + plane * frames + 5 * padded + 2 * plane * padded_frames + retained


#: streaming: frames held per sampling step, ``3 w + 2 b h`` (window w, hop h, b windows per
#: network call): each step's state from its next window to the previous step's front (about
#: w + b h), its MultiDiffusion sums (about w) and X1 from the last step's front to the first
#: step's (about w + b h per step). An upper bound of the counts a2sb.stream reports (measured
#: for 1-32 steps, windows 32/64, hops 16, 1-16 windows per call: 65-94 % of it)
STREAM_WINDOW_TERMS = 3
STREAM_BATCH_TERMS = 2
#: streaming: resident bytes per frame held, as a multiple of the frame's bytes. Each buffer of
#: a2sb.stream.buffer keeps its frames in one block that grows by half (GROWTH) and is walked
#: through end to end, so its pages are about 1.5 x its most frames. Measured
#: (benchmarks/bench_streaming.py, narrow network, mono, 158 s, batch 1): peak RSS 588.2 / 653.6 /
#: 1115.6 MiB at 2 / 8 / 32 steps, 1643 columns more per step from 8 to 32 steps against
#: 3 w + 2 b h = 1024 frames held: 1.6 x
STREAM_BLOCK_SLACK = 1.5
#: streaming: sample buffers of a read block (file block, resampler, encoder, decoder, output)
STREAM_BLOCK_COPIES = 8


def streaming_frames(steps: int, window_frames: int, hop_frames: int, batch: int) -> int:
    """Frames of ``[C, N]`` columns per audio channel the streaming sampler holds at most,
    whatever the length (:data:`STREAM_WINDOW_TERMS`)."""
    per_step = STREAM_WINDOW_TERMS * window_frames + STREAM_BATCH_TERMS * batch * hop_frames
    return steps * per_step


def audio_bytes(samples: int, input_samples: int, channels: int) -> int:
    """Input, resampled input, restored channels and the channel in work (float32)."""
    return FLOAT_BYTES * (channels * input_samples + 2 * channels * samples + 2 * samples)


def attention_floor(model: Any, rows: int, frames: int) -> int:
    """Bytes of the largest attention-score matrix of one window (``heads x T^2`` float32): a
    lower bound of its activations, used where the calibration cannot run."""
    levels = model.levels  # encoder level l runs at resolution l, decoder level l at L - l
    resolutions = {*model.enc_attn_levels, *(levels - lv for lv in model.dec_attn_levels), levels}
    finest = min(resolutions)
    tokens = (rows >> finest) * (frames >> finest)
    return model.num_heads * tokens * tokens * FLOAT_BYTES


def estimate_memory(
    samples: int,
    channels: int,
    stft: Any,
    model: Any,
    window_frames: int,
    hop_frames: int,
    batch_size: int,
    *,
    activation: ActivationCost,
    weight_bytes: int,
    protocol: str = "ours",
    device: str = "cpu",
    input_samples: int | None = None,
    streaming_steps: int | None = None,
) -> MemoryEstimate:
    """Estimated peak of restoring ``samples`` (at the model's rate) x ``channels``.

    ``streaming_steps``: the streaming path (a2sb.stream) with that many sampling steps: its
    state is the band of :func:`streaming_frames` of every channel (at most the file's frames
    three times over per step), its audio a few read blocks, neither growing with the length.

    ``stft`` and ``model``: the checkpoint's :class:`~a2sb.representation.STFTConfig` and
    :class:`~a2sb.network.ModelConfig`; ``activation``: from :func:`calibrate`; ``protocol``
    "ours" or "official" (which downmixes to mono). The batch is capped at the number of
    windows, as MultiDiffusion never runs more.
    """
    from .multidiffusion import WindowConfig, window_starts
    from .protocol import official_padding

    official = protocol == "official"
    if official:
        channels = 1
    frames = frames_of(samples, stft.n_fft, stft.hop_length)
    padded = frames + official_padding(frames, window_frames, hop_frames) if official else frames
    starts, _ = window_starts(padded, WindowConfig(window_frames, hop_frames, 1))
    batch = max(1, min(batch_size, len(starts)))
    rep = model.in_channels
    on_cuda = device.startswith("cuda")
    if streaming_steps is not None and not official:
        from .stream.files import READ_BLOCK

        held = min(
            streaming_frames(streaming_steps, window_frames, hop_frames, batch),
            STREAM_WINDOW_TERMS * streaming_steps * frames,
        )
        column = rep * stft.n_rows * FLOAT_BYTES
        return MemoryEstimate(
            device=device,
            batch_size=batch,
            baseline=0 if on_cuda else BASELINE_BYTES,
            weights=weight_bytes,
            audio=0 if on_cuda else STREAM_BLOCK_COPIES * READ_BLOCK * channels * FLOAT_BYTES,
            # the band stays on the host
            state=0 if on_cuda else int(channels * column * held * STREAM_BLOCK_SLACK),
            windows=batch * channels * column * window_frames,
            activations=activation.bytes(batch * channels),
            measured=activation.measured,
        )
    return MemoryEstimate(
        device=device,
        batch_size=batch,
        baseline=0 if on_cuda else BASELINE_BYTES,
        weights=weight_bytes,
        audio=0 if on_cuda else audio_bytes(samples, input_samples or samples, channels),
        state=state_bytes(rep, stft.n_rows, frames, padded, official),
        windows=batch * rep * stft.n_rows * window_frames * FLOAT_BYTES,
        activations=activation.bytes(batch),
        measured=activation.measured,
    )


def auto_batch_size(
    estimate_for: Callable[[int], MemoryEstimate], available: int | None, device: str
) -> int:
    """The largest batch (windows per network call) whose estimate fits :data:`FIT_FRACTION`
    of ``available``, up to the number of windows and :data:`CUDA_MAX_BATCH` on CUDA; on a CPU
    also up to :data:`CPU_MAX_BATCH` and while a call's activations stay within
    :data:`CPU_CALL_BYTES` (larger calls are no faster there: ``benchmarks/bench_memory.py``).
    1 where no larger batch qualifies."""
    cuda = device.startswith("cuda")
    best = 1
    for batch in range(2, (CUDA_MAX_BATCH if cuda else CPU_MAX_BATCH) + 1):
        estimate = estimate_for(batch)
        if estimate.batch_size < batch:  # no more windows than that
            break
        if not cuda and estimate.activations > CPU_CALL_BYTES:
            break
        if available is not None and estimate.total > FIT_FRACTION * available:
            break
        best = batch
    return best


# ----------------------------------------------------------------------------- the machine


def available_memory(device: str = "cpu") -> int | None:
    """Bytes this process can still use: on CUDA the device's free memory plus what torch's
    allocator holds; else the system's available memory (psutil, or ``/proc/meminfo``
    MemAvailable) plus this process's resident set. None where neither can be read."""
    if device.startswith("cuda"):
        import torch

        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return int(free) + int(torch.cuda.memory_reserved(torch.device(device)))
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        return int(psutil.virtual_memory().available) + int(psutil.Process().memory_info().rss)
    try:
        meminfo = Path("/proc/meminfo").read_text()
        statm = Path("/proc/self/statm").read_text().split()
    except OSError:
        return None
    for line in meminfo.splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024 + int(statm[1]) * os.sysconf("SC_PAGE_SIZE")
    return None


# ----------------------------------------------------------------------------- the checkpoint


@dataclass(frozen=True)
class CheckpointShape:
    """What the estimate needs from a checkpoint, read from its sidecars (no weights loaded)."""

    stft: Any
    model: Any
    weight_bytes: int


def checkpoint_shape(path: str | os.PathLike[str]) -> CheckpointShape | None:
    """The first partition's STFT and model configs and the bytes of every partition's weights;
    None where they cannot be read (loading the checkpoint then reports why)."""
    from .checkpoint import BUNDLE_FORMAT, WEIGHTS_SUFFIX, read_sidecar, resolve_checkpoint
    from .network import ModelConfig
    from .representation import STFTConfig

    try:
        path = resolve_checkpoint(path, announce=False)  # a run or results folder, as restore does
        weights = [path]
        if path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") == BUNDLE_FORMAT:
                weights = [path.parent / entry["checkpoint"] for entry in data["partitions"]]
            else:
                weights = [path.with_suffix(WEIGHTS_SUFFIX)]
        sidecar = read_sidecar(weights[0])
        return CheckpointShape(
            stft=STFTConfig.from_dict(sidecar["stft_config"]),
            model=ModelConfig.from_dict(sidecar["model_config"]),
            weight_bytes=sum(w.stat().st_size for w in weights),
        )
    except (CheckpointError, OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


# ----------------------------------------------------------------------------- calibration


def cache_dir() -> Path:
    """``$A2SB_CACHE_DIR``, else ``$XDG_CACHE_HOME/a2sb``, else ``~/.cache/a2sb``."""
    if os.environ.get("A2SB_CACHE_DIR"):
        return Path(os.environ["A2SB_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "a2sb"


def _cache_key(model: Any, rows: int, frames: int, device: str) -> str:
    import torch

    hardware = torch.cuda.get_device_name(device) if device.startswith("cuda") else "cpu"
    ident = [model.to_dict(), rows, frames, hardware, torch.__version__, torch.get_num_threads()]
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:20]


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def calibrate(
    model: Any,
    rows: int,
    frames: int,
    device: str = "cpu",
    limit: int | None = None,
    notify: Callable[[], None] | None = None,
) -> ActivationCost:
    """Activation bytes of ``model`` on windows of ``rows x frames`` on ``device``, cached.

    Measured in a subprocess (:func:`measure`) on 1 and then up to
    :data:`CALIBRATION_MAX_BATCH` windows (fewer where ``limit``, the memory available, would
    not hold them), a straight line through the two. Where even the attention scores of one
    window exceed ``limit``, or the subprocess fails, the unmeasured :func:`attention_floor`.
    ``notify`` is called before a measurement (not when the cache has the answer).
    """
    floor = ActivationCost(0, attention_floor(model, rows, frames), measured=False)
    if limit is not None and floor.bytes(1) > limit:
        return floor
    cache = cache_dir() / "memory-calibration.json"
    key = _cache_key(model, rows, frames, device)
    entry = _read_cache(cache).get(key)
    if isinstance(entry, dict) and {"fixed", "per_window"} <= set(entry):
        return ActivationCost(int(entry["fixed"]), int(entry["per_window"]))
    request = {"model": model.to_dict(), "rows": rows, "frames": frames, "device": device,
               "limit": limit}  # fmt: skip
    if notify is not None:
        notify()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [
        str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH")]))}  # fmt: skip
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "a2sb.memory", json.dumps(request)],
            capture_output=True,
            text=True,
            timeout=CALIBRATION_TIMEOUT_S,
            env=env,
        )
        result = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
        result = None
    if not result:
        return floor
    (b1, *more), (a1, *rest) = result["batches"], result["bytes"]
    if more:  # the line through (1, a1) and (b2, a2)
        per_window = max(0, (rest[0] - a1) // (more[0] - b1))
        cost = ActivationCost(max(0, a1 - per_window), per_window)
    else:  # one window only: all of it per window (an upper bound of the line)
        cost = ActivationCost(0, a1)
    if not more:
        return cost  # a limit left out the second batch: not worth caching
    try:
        from .io.atomic import write_json

        cache.parent.mkdir(parents=True, exist_ok=True)
        write_json(cache, {**_read_cache(cache), key: {**asdict(cost), **request}})
    except OSError:
        pass  # an unwritable cache only costs the next run another calibration
    return cost


class PeakMeter:
    """Peak memory of the code run since :meth:`reset`: on CUDA the allocator's peak reserve;
    on Linux the resident set's high-water mark (VmHWM, reset through ``/proc/self/clear_refs``
    after returning freed heap memory with glibc's ``malloc_trim``); elsewhere the growth of the
    process's lifetime peak RSS (a lower bound once an earlier peak was higher)."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.base = 0

    def reset(self) -> None:
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize(self.device)
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = int(torch.cuda.memory_reserved(self.device))
            return
        try:
            import ctypes

            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self.base = _proc_status("VmRSS:")
        except OSError:
            self.base = _lifetime_peak()

    def peak(self) -> int:
        """Bytes above the level at :meth:`reset`."""
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize(self.device)
            return int(torch.cuda.max_memory_reserved(self.device)) - self.base
        try:
            return _proc_status("VmHWM:") - self.base
        except OSError:
            return _lifetime_peak() - self.base


def _proc_status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    raise OSError(f"no {key} in /proc/self/status")


def _lifetime_peak() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # bytes on macOS, else KiB


def measure(
    model_dict: dict[str, Any], rows: int, frames: int, device: str, limit: int | None = None
) -> dict[str, Any]:
    """Activation bytes of the network (zero weights: the sizes do not depend on the values) on
    1 window, then on :data:`CALIBRATION_MAX_BATCH` (fewer where ``limit`` would not hold twice
    their line estimate; none under 2). ``{"batches": [...], "bytes": [...]}``."""
    import torch

    from .network import build_model

    with torch.device("meta"):
        net = build_model(model_dict)
    net = net.to_empty(device=device).eval()
    for tensor in net.parameters():
        tensor.data.zero_()
    meter = PeakMeter(device)

    def run(batch: int) -> int:
        x = torch.zeros(batch, net.config.in_channels, rows, frames, device=device)
        t = torch.full((batch,), 0.5, device=device)
        meter.reset()
        net(x, t)
        return meter.peak()

    with torch.inference_mode():
        batches, used = [1], [run(1)]
        second = CALIBRATION_MAX_BATCH
        if limit is not None:
            second = min(second, limit // max(1, 2 * used[0]))
        if second >= 2:
            batches.append(second)
            used.append(run(second))
    return {"batches": batches, "bytes": used}


def main(argv: list[str] | None = None) -> int:
    """``python -m a2sb.memory '{"model": ..., "rows": N, "frames": W, "device": "cpu",
    "limit": bytes | null}'``: print :func:`measure`'s result as one JSON line (what
    :func:`calibrate` runs in a fresh process)."""
    request = json.loads((argv or sys.argv[1:])[0])
    keys = ("model", "rows", "frames", "device")
    print(json.dumps(measure(*(request[k] for k in keys), limit=request.get("limit"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
