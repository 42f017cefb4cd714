"""The streaming restoration pipeline: samples in, restored samples out, in time order.

``restore_stream`` reads blocks of samples at the model's rate, encodes them
(:class:`~a2sb.stream.stft.StreamEncoder`), builds X1 block by block over the context its fill
reads (:meth:`~a2sb.stream.plan.StreamPlan.context`), samples each component with a
:class:`~a2sb.stream.wavefront.Wavefront`, passes frames outside every component through as
they are (their X0_hat is the input), decodes (:class:`~a2sb.stream.stft.StreamDecoder`, with
the input's DC row where it is known) and, for inpainting, splices the generated samples into
the kept ones (:func:`a2sb.splice.splice_weights`). Channels are restored as the stereo plan says
(:mod:`a2sb.stereo`): the plan's voices are encoded and sampled together, and the output channels
come back from them block by block before the splice. Its output equals
:func:`a2sb.restoration.restore` with the same seed (the in-memory path), which it calls
itself for inputs shorter than one window.
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..band_coherence import CrossSpectrum, CrossSpectrumScan, task_correlation
from ..errors import InputError
from ..io.atomic import scratch_file
from ..levels import NORMALIZE_PEAK_DBFS, soft_limit
from ..multidiffusion import WindowConfig
from ..noise import FILL, FrameNoise
from ..protocol import Protocol, sampling_times
from ..representation import num_channels
from ..restoration import CROSSFADE_S, TASKS, Restorer, check_gaps, restore_voices
from ..splice import gap_spans, splice_weights
from ..stereo import (
    ChannelLayout,
    LayoutScan,
    StereoMode,
    StereoPlan,
    needs_row_correlation,
)
from .buffer import FrameBuffer
from .files import READ_BLOCK, open_source, write_blocks
from .plan import StreamPlan
from .stft import StreamDecoder, StreamEncoder
from .wavefront import Wavefront

Emit = Callable[[np.ndarray], None]
"""Receives the restored samples ``[K, n]`` (float32) in order."""


class _Pipeline:
    """State of one streaming restoration (see the module docstring)."""

    def __init__(
        self,
        restorer: Restorer,
        plan: StreamPlan,
        length: int,
        stereo: StereoPlan,
        times: Sequence[float],
        seed: int,
        emit: Emit,
        inpainting: bool,
        gaps: Sequence[tuple[float, float]],
        batch_windows: int,
    ):
        cfg = restorer.stft
        self.batch = batch_windows
        self.windows_before = 0  # windows of the components already started
        self.restorer, self.plan, self.length, self.emit = restorer, plan, length, emit
        self.times = times
        rep = num_channels(restorer.kind)  # type: ignore[arg-type]
        self.stereo = stereo
        voices = stereo.voices
        self.noise = FrameNoise(seed, stereo.keys, (rep, cfg.n_rows))
        self.encoder = StreamEncoder(cfg, restorer.kind, length, voices)  # type: ignore[arg-type]
        self.decoder = StreamDecoder(cfg, restorer.kind, length, voices)  # type: ignore[arg-type]
        self.x_in = FrameBuffer(0)
        self.dc = FrameBuffer(0)
        self.components = deque(plan.components)
        self.wavefront: Wavefront | None = None
        self.x1_next = 0  # first frame whose X1 the wavefront has not had
        self.emitted = 0  # frames decoded
        self.encoded = 0  # frames encoded
        self.inpainting = inpainting
        rate = cfg.sample_rate
        self.spans = gap_spans(gaps, rate)
        self.fade = round(CROSSFADE_S * rate)
        self.kept = FrameBuffer(0)  # inpainting: input samples not yet spliced
        self.samples_out = 0
        self.peak_frames = 0

    # ------------------------------------------------------------------ input
    def push(self, samples: np.ndarray) -> None:
        block = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
        if self.inpainting:
            self.kept.append(block)
        rep, dc = self.encoder.push(torch.from_numpy(self.stereo.forward(samples)))
        self.x_in.append(rep)
        self.dc.append(dc)
        self.encoded += rep.shape[-1]
        self._advance()

    def finish(self) -> None:
        if self.encoded != self.plan.n_frames or self.emitted != self.plan.n_frames:
            raise RuntimeError(
                f"stream ended at frame {self.emitted} of {self.plan.n_frames} "
                f"({self.encoded} encoded)"
            )

    # ------------------------------------------------------------------ frames
    def _advance(self) -> None:
        while True:
            if self.wavefront is None:
                start = self.components[0].first if self.components else self.plan.n_frames
                stop = min(start, self.encoded)
                if stop > self.emitted:  # outside every component X0_hat is the input
                    self._decode(self.x_in.slice(self.emitted, stop))
                if self.emitted < start or not self.components:
                    break
                component = self.components.popleft()
                r = self.restorer
                self.wavefront = Wavefront(component, self.plan, r.router, r.schedule, self.times,
                                           self.noise, self.batch, r.device, self.windows_before)  # fmt: skip
                self.windows_before += len(component.starts)
                self.x1_next = component.first
            wave = self.wavefront
            stop = self._x1_ready(wave.stop)
            if stop > self.x1_next:
                for frames in wave.push(self._x1(self.x1_next, stop)):
                    self._decode(frames)
                self.x1_next = stop
            self.peak_frames = max(self.peak_frames, wave.frames_held + self.x_in.frames)
            if not wave.finished:
                break
            self.wavefront = None
        # X1 is built next from x1_next on (or from the next component's first frame)
        if self.wavefront is not None:
            upcoming = self.x1_next
        else:
            upcoming = self.components[0].first if self.components else self.plan.n_frames
        keep = min(self.emitted, self.plan.context(upcoming, upcoming + 1)[0])
        self.x_in.drop_before(keep)
        self.dc.drop_before(self.emitted)

    def _x1_ready(self, limit: int) -> int:
        """The last frame (exclusive) up to ``limit`` whose X1 can be built from what is encoded."""
        stop = min(limit, self.encoded)
        while stop > self.x1_next:
            need = self.plan.context(self.x1_next, stop)[1]
            if need <= self.encoded:
                return stop
            stop -= need - self.encoded
        return self.x1_next

    def _x1(self, first: int, stop: int) -> torch.Tensor:
        """X1 of frames ``[first, stop)`` (eq. 8 with the checkpoint's fill), ``[K, C, N, f]``."""
        lo, hi = self.plan.context(first, stop)
        x_in = self.x_in.slice(lo, hi)
        mask = self.plan.mask(lo, hi)
        fill = self.noise.frames(FILL, lo, hi)
        x1 = self.restorer.mask.degrade(x_in, mask, fill, rho=self.restorer.stft.rho)
        return x1[..., first - lo : stop - lo].clone()

    # ------------------------------------------------------------------ output
    def _decode(self, rep: torch.Tensor) -> None:
        first, stop = self.emitted, self.emitted + rep.shape[-1]
        dc = self.dc.slice(first, stop)
        if self.inpainting:  # DC is known where the lowest row is
            dc = torch.where(self.plan.mask(first, stop)[0] == 0, dc, torch.zeros_like(dc))
        samples = self.decoder.push(rep, dc)
        self.emitted = stop
        n = samples.shape[-1]
        if not n:
            return
        out = self.stereo.inverse(samples.numpy())
        a, b = self.samples_out, self.samples_out + n
        if self.inpainting:
            kept = self.kept.slice(a, b).numpy()
            w_kept, w_gen = splice_weights(a, b, self.length, self.spans, self.fade, "outside")
            out = w_kept * kept + w_gen * out
            self.kept.drop_before(b)
        self.samples_out = b
        self.emit(out.astype(np.float32))


@torch.inference_mode()
def restore_stream(
    restorer: Restorer,
    blocks: Iterable[np.ndarray],
    length: int,
    channels: int,
    *,
    task: str,
    cutoff_hz: float | None = None,
    gaps: Sequence[tuple[float, float]] | None = None,
    steps: int,
    seed: int = 0,
    window: WindowConfig | None = None,
    emit: Emit,
    stereo_mode: StereoMode | str | None = None,
    layout: ChannelLayout | None = None,
    spectrum: CrossSpectrum | None = None,
) -> dict[str, int]:
    """Restore ``length`` samples of ``channels`` channels at the model's rate, given as
    ``blocks`` ``[K, n]`` in order, passing the output to ``emit`` block by block.

    ``task``, ``cutoff_hz`` (Hz), ``gaps`` (seconds), ``steps``, ``seed``, ``window`` and
    ``stereo_mode`` as in :func:`a2sb.restoration.restore` (protocol "ours"). ``layout``: the
    silent and repeated channels of the whole input (:func:`a2sb.stereo.scan_layout` of the same
    blocks; :func:`restore_file` scans its file), which one pass cannot know: without it every
    channel is restored (:meth:`~a2sb.stereo.ChannelLayout.distinct`), so the output equals the
    in-memory path's whenever no channel is silent or repeats another. ``spectrum``: the cross
    spectrum of the whole input outside the gaps (:class:`a2sb.band_coherence.CrossSpectrumScan`
    of the same blocks), which stereo mode ``matched-coherence`` needs before sampling.
    Returns counts: the most frames held at once (``frames_held``) and the windows run.
    """
    window = window or restorer.window()
    inpainting = task == "inpainting"
    cfg = restorer.stft
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; expected one of {TASKS}")
    if inpainting:
        check_gaps(list(gaps or []), length / cfg.sample_rate, "input")
    elif cutoff_hz is None or not 0 < cutoff_hz < cfg.sample_rate / 2:
        raise InputError(
            f"input: cutoff {cutoff_hz} Hz must lie in (0, {cfg.sample_rate / 2:g}) Hz, "
            f"below the model's Nyquist frequency"
        )
    if steps < 1:
        raise InputError(f"input: steps must be >= 1, got {steps}")
    if layout is not None and layout.channels != channels:
        raise InputError(f"input: a layout of {layout.channels} channels for {channels} channels")
    layout = layout or ChannelLayout.distinct(channels)
    try:
        correlation = None
        if needs_row_correlation(stereo_mode, layout):
            if spectrum is None:
                raise InputError(
                    f"stereo mode {StereoMode.MATCHED_COHERENCE.value} needs the cross spectrum of "
                    "the whole input: pass spectrum= from scan_input() of the same blocks "
                    "(restore_file does), or another stereo_mode"
                )
            correlation = task_correlation(spectrum, cfg, task, cutoff_hz)
        stereo = StereoPlan.build(stereo_mode, layout, correlation)
    except InputError as exc:
        raise InputError(f"input: {exc}") from None
    n_frames = length // cfg.hop_length + 1
    if length <= cfg.n_fft // 2 or n_frames < window.window_frames:
        return _in_memory(restorer, blocks, task, cutoff_hz, gaps, steps, seed, window, emit,
                          stereo)  # fmt: skip
    if not stereo.voices:  # every channel silent: nothing to restore
        for block in blocks:
            emit(np.zeros(block.shape, dtype=np.float32))
        return {"frames_held": 0, "frames": n_frames}
    plan = StreamPlan.build(cfg, length, window, restorer.mask,
                            None if inpainting else cutoff_hz, gaps if inpainting else None)  # fmt: skip
    times = sampling_times(steps, Protocol.OURS)
    pipe = _Pipeline(restorer, plan, length, stereo, times, seed, emit, inpainting, gaps or [],
                     window.batch_size)  # fmt: skip
    read = 0
    for block in blocks:
        read += block.shape[-1]
        pipe.push(block)
    if read != length:
        raise ValueError(f"read {read} samples, expected {length}")
    pipe.finish()
    return {"frames_held": pipe.peak_frames, "frames": n_frames}


def _in_memory(
    restorer: Restorer,
    blocks: Iterable[np.ndarray],
    task: str,
    cutoff_hz: float | None,
    gaps: Sequence[tuple[float, float]] | None,
    steps: int,
    seed: int,
    window: WindowConfig,
    emit: Emit,
    stereo: StereoPlan,
) -> dict[str, int]:
    """An input shorter than one window: restored whole by the in-memory path."""
    audio = np.concatenate([np.asarray(b, dtype=np.float32) for b in blocks], axis=-1)
    emit(restore_voices(restorer, audio, stereo, task, cutoff_hz, gaps, steps, seed, window))
    return {"frames_held": 0, "frames": audio.shape[-1] // restorer.stft.hop_length + 1}


@dataclass
class FileResult:
    """What :func:`restore_file` wrote: samples per channel, the peak before any level change,
    the gain of ``normalize`` (dB) and the samples ``limit`` changed."""

    samples: int
    channels: int
    peak: float
    gain_db: float = 0.0
    limited: int = 0
    frames_held: int = 0


def scan_input(
    blocks: Iterable[np.ndarray],
    channels: int,
    rate: int,
    stereo_mode: StereoMode | str | None,
    gaps: Sequence[tuple[float, float]] | None = None,
) -> tuple[ChannelLayout | None, CrossSpectrum | None]:
    """One read of a multi-channel input ``[K, n]`` blocks at ``rate`` before restoring: its
    channel layout and, when ``stereo_mode`` needs it (``matched-coherence``, the default of 2
    channels), its cross spectrum outside ``gaps`` (seconds); (None, None) for mono."""
    if channels < 2:
        return None, None
    layouts = LayoutScan(channels)
    wanted = StereoMode.parse(stereo_mode, channels) is StereoMode.MATCHED_COHERENCE
    spectra = CrossSpectrumScan(gap_spans(gaps, rate)) if wanted else None
    for samples in blocks:
        layouts.update(samples)
        if spectra is not None:
            spectra.update(samples)
    return layouts.layout(), spectra.result() if spectra is not None else None


def restore_file(
    restorer: Restorer,
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    task: str,
    cutoff_hz: float | None = None,
    gaps: Sequence[tuple[float, float]] | None = None,
    steps: int,
    seed: int = 0,
    window: WindowConfig | None = None,
    subtype: str | None = None,
    level: str | None = None,
    progress: Callable[[int], None] | None = None,
    block: int = READ_BLOCK,
    stereo_mode: StereoMode | str | None = None,
) -> FileResult:
    """Restore the file ``source`` into ``target`` (written atomically at the model's rate),
    streaming: the input is read in blocks of ``block`` samples and never held whole.

    ``stereo_mode`` as in :func:`a2sb.restoration.restore`; a file of 2 or more channels is
    first read through once for its silent and repeated channels (:class:`a2sb.stereo.LayoutScan`)
    and, in mode ``matched-coherence``, its cross spectrum outside the gaps
    (:class:`a2sb.band_coherence.CrossSpectrumScan`).

    ``level``: None (peaks kept), "limit" (:func:`a2sb.levels.soft_limit` block by block) or
    "normalize" (:func:`a2sb.levels.normalize_peak`: the output is first written to a hidden
    float file beside ``target``, then scaled into it). ``progress(n)`` is called with the
    samples (per channel) written by each block.
    """
    src = open_source(source, restorer.stft.sample_rate)
    rate = restorer.stft.sample_rate
    result = FileResult(samples=0, channels=src.channels, peak=0.0)
    try:  # a bad mode fails before the scan
        StereoMode.parse(stereo_mode, src.channels)
    except InputError as exc:
        raise InputError(f"{source}: {exc}") from None
    gaps_read = gaps if task == "inpainting" else None
    layout, spectrum = scan_input(src.blocks(block), src.channels, rate, stereo_mode, gaps_read)

    def run(write: Callable[[np.ndarray], None]) -> None:
        def emit(out: np.ndarray) -> None:
            result.samples += out.shape[-1]
            if out.size:
                result.peak = max(result.peak, float(np.max(np.abs(out))))
            if level == "limit":
                out, changed = soft_limit(out)
                result.limited += changed
            write(out)
            if progress is not None:
                progress(out.shape[-1])

        info = restore_stream(restorer, src.blocks(block), src.length, src.channels, task=task,
                              cutoff_hz=cutoff_hz, gaps=gaps, steps=steps, seed=seed,
                              window=window, emit=emit, stereo_mode=stereo_mode,
                              layout=layout, spectrum=spectrum)  # fmt: skip
        result.frames_held = info["frames_held"]

    if level != "normalize":
        write_blocks(target, rate, src.channels, run, subtype)
        return result
    with scratch_file(target, ".w64") as staged:
        write_blocks(staged, rate, src.channels, run, "FLOAT")
        gain = 1.0
        if result.peak > 1.0:
            gain = 10.0 ** (NORMALIZE_PEAK_DBFS / 20.0) / result.peak
            result.gain_db = 20.0 * math.log10(gain)
        staged_src = open_source(staged, rate)

        def scale(write: Callable[[np.ndarray], None]) -> None:
            for part in staged_src.blocks(block):
                write((part * gain).astype(np.float32) if gain != 1.0 else part)

        write_blocks(target, rate, src.channels, scale, subtype)
    return result


__all__ = ["FileResult", "restore_file", "restore_stream"]
