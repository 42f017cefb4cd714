"""Restoration API: bandwidth extension and inpainting of whole files of any length (SPEC 4, 7).

``restore(audio, sample_rate, task=..., checkpoint=...)`` resamples to the model's rate, encodes each
channel, builds the mask of the task, runs the bridge sampler with MultiDiffusion and decodes with
the DC row taken from the input where it is known. For inpainting the samples outside the gaps are
returned unchanged, except for a 5-ms equal-power cross-fade just outside each gap edge, and only
the MultiDiffusion windows that reach a gap are run. Channels are restored as the stereo mode
says (:mod:`a2sb.stereo`: identical channels come back identical, a silent one silent; 2-channel
input shares its noise by default). ``protocol="official"`` follows the official inference
instead (:mod:`a2sb.protocol`). ``starting_point(...)`` (same arguments, protocol "ours")
returns what the sampler starts from, decoded the same way with no network: the known region
plus the checkpoint's fill of the masked region (``X1`` of eq. 8), so that a table can show what the
network adds to it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .band_coherence import cross_spectrum, task_correlation
from .bridge import BridgeSchedule
from .errors import CheckpointError, InputError
from .io.audio import check_signal, resample
from .masks import MaskConfig, bandwidth_mask, frames_touching, gap_mask, guarded_cutoff
from .multidiffusion import WindowConfig
from .noise import FILL, FrameNoise, NoiseKey
from .protocol import (
    OFFICIAL_FILL_STD,
    OFFICIAL_POWER_EPS,
    OFFICIAL_STEPS,
    Protocol,
    centred_gaps,
    official_gap_mask,
    official_gap_windows,
    official_padding,
    pad_with_copy,
    sampling_times,
)
from .representation import STFTConfig, dc_row, decode, encode
from .sampler import PartitionRouter, sample, windowed_eps_fn
from .splice import gap_spans, splice_gaps
from .stereo import ChannelLayout, StereoMode, StereoPlan, needs_row_correlation

TASKS = ("bandwidth-extension", "inpainting")
DEFAULT_STEPS = 50
CROSSFADE_S = 0.005  # equal-power cross-fade where restored samples meet kept ones (ours)


def paper_gaps(duration_s: float, gap_s: float, period_s: float = 5.0) -> list[tuple[float, float]]:
    """Gaps of the paper's protocol (SPEC 8): ``[p i + (p - g)/2, p i + (p + g)/2]`` inside the file."""
    count = 0
    if 0 < gap_s < period_s:  # else centred_gaps refuses the gap
        while period_s * count + (period_s + gap_s) / 2 <= duration_s:
            count += 1
    return centred_gaps(count, gap_s, period_s)


def check_gaps(gaps: Sequence[tuple[float, float]], duration_s: float, name: str) -> None:
    """Gaps must be non-empty, inside the file and disjoint; one-line :class:`InputError` otherwise."""
    if not gaps:
        raise InputError(f"{name}: no gap to inpaint (the file is {duration_s:.2f} s long)")
    ordered = sorted(gaps)
    for start, end in ordered:
        if not 0 <= start < end:
            raise InputError(f"{name}: gap {start}-{end} s is empty or negative")
        if end > duration_s:
            raise InputError(
                f"{name}: gap {start}-{end} s lies outside the file ({duration_s:.2f} s)"
            )
    for (s0, e0), (s1, e1) in zip(ordered[:-1], ordered[1:]):
        if s1 < e0:
            raise InputError(f"{name}: gaps {s0}-{e0} s and {s1}-{e1} s overlap")


@dataclass
class Restorer:
    """Loaded partitions plus the settings they were trained with."""

    router: PartitionRouter
    stft: STFTConfig
    kind: str
    mask: MaskConfig = field(default_factory=MaskConfig)
    schedule: BridgeSchedule = field(default_factory=BridgeSchedule)
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @classmethod
    def from_checkpoint(cls, checkpoint: str | os.PathLike, device: str = "cpu") -> Restorer:
        """Load one ``.safetensors`` checkpoint or a partition bundle ``.json``."""
        from .checkpoint import load_partitions

        parts = load_partitions(checkpoint, map_location=device)
        sidecars = [side for _, _, side in parts]
        stft_dicts = [side["stft_config"] for side in sidecars]
        if any(d != stft_dicts[0] for d in stft_dicts[1:]):
            raise CheckpointError(f"{checkpoint}: partitions disagree on the STFT config")
        model_dicts = [side["model_config"] for side in sidecars]
        if any(d != model_dicts[0] for d in model_dicts[1:]):
            raise CheckpointError(f"{checkpoint}: partitions disagree on the model config")
        extra: dict[str, Any] = sidecars[0].get("extra") or {}
        try:
            mask_cfg = MaskConfig.from_dict(extra.get("mask_config") or {})
        except (ValueError, TypeError) as err:
            raise CheckpointError(f"{checkpoint}: bad mask_config in the sidecar ({err})") from None
        beta_max = float(extra.get("beta_max", 1.0))
        in_channels = int(model_dicts[0].get("in_channels", 3))
        kind = "factorized" if in_channels == 3 else "complex"
        models = []
        for model, t_range, _ in parts:
            model.to(device).eval()
            models.append((model, tuple(t_range)))
        return cls(
            router=PartitionRouter(models),
            stft=STFTConfig.from_dict(stft_dicts[0]),
            kind=kind,
            mask=mask_cfg,
            schedule=BridgeSchedule(beta_max=beta_max),
            device=torch.device(device),
        )

    def window(
        self,
        window_frames: int | None = None,
        hop_frames: int | None = None,
        batch_size: int = WindowConfig.batch_size,
    ) -> WindowConfig:
        """MultiDiffusion windows (SPEC 7): by default the training segment, hop half of it."""
        frames = window_frames or self.stft.segment_frames
        return WindowConfig(frames, hop_frames or max(1, frames // 2), batch_size)

    def restore_channel(
        self,
        wave: np.ndarray,
        task: str,
        cutoff_hz: float | None,
        gaps: Sequence[tuple[float, float]] | None,
        steps: int,
        generator: torch.Generator,
        window: WindowConfig,
        progress: bool,
        protocol: Protocol = Protocol.OURS,
        seed: int = 0,
        channel: NoiseKey = 0,
        splice: bool = True,
    ) -> np.ndarray:
        """Restore one channel ``[L]`` at the model rate; returns ``[L]`` (official: ``[hop * floor(L / hop)]``).

        Ours draws its noise from :class:`~a2sb.noise.FrameNoise` keyed by ``seed`` and
        ``channel`` (an index or a :class:`~a2sb.noise.MixedKey`; what the streaming path draws
        too); the official protocol from ``generator``.
        ``splice=False``: an inpainting's output is not spliced into ``wave`` (the caller does).
        """
        cfg = self.stft
        official = protocol is Protocol.OFFICIAL
        signal, mask, x1, noise = self._start(
            wave, task, cutoff_hz, gaps, protocol, generator, seed, channel
        )
        times = sampling_times(steps, protocol)
        if official:
            n_frames = x1.shape[-1]
            x0 = self._sample_official(x1, mask, task, times, generator, window, progress)
            n_out = min(wave.shape[-1], cfg.hop_length * (n_frames - 1))
            out = decode(x0, cfg, cfg.hop_length * (n_frames - 1), self.kind,
                         power_eps=OFFICIAL_POWER_EPS)  # fmt: skip
            return out[:n_out].cpu().numpy().astype(np.float32)
        # only windows that hold a missing bin are run: elsewhere the prediction is the input
        eps_fn = windowed_eps_fn(self.router, window, needed=mask.any(dim=0))
        x0 = sample(eps_fn, x1, mask, self.schedule, times=times, progress=progress, noise=noise)
        return self._output(wave, signal, x0, mask, task, gaps if splice else None)

    def start_channel(
        self,
        wave: np.ndarray,
        task: str,
        cutoff_hz: float | None,
        gaps: Sequence[tuple[float, float]] | None,
        seed: int = 0,
        channel: NoiseKey = 0,
        splice: bool = True,
    ) -> np.ndarray:
        """The bridge's starting point of one channel ``[L]`` at the model rate, decoded: ``[L]``.

        ``X1`` of eq. 8 exactly as :meth:`restore_channel` (ours) starts the sampler from it (the
        same keyed fill noise, fill prior and known region), decoded and spliced as its output is.
        No network is called.
        """
        signal, mask, x1, _ = self._start(
            wave, task, cutoff_hz, gaps, Protocol.OURS, None, seed, channel
        )
        return self._output(wave, signal, x1, mask, task, gaps if splice else None)

    def _start(
        self,
        wave: np.ndarray,
        task: str,
        cutoff_hz: float | None,
        gaps: Sequence[tuple[float, float]] | None,
        protocol: Protocol,
        generator: torch.Generator | None,
        seed: int,
        channel: NoiseKey,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, FrameNoise | None]:
        """Encode one channel ``[L]`` and degrade it (eq. 8).

        Returns the signal padded to at least one frame ``[L']``, the mask ``M`` [N, W], the
        sampler's starting point ``X1`` [C, N, W] and the keyed noise (None: official).
        """
        cfg = self.stft
        official = protocol is Protocol.OFFICIAL
        power_eps = OFFICIAL_POWER_EPS if official else None
        min_len = cfg.n_fft // 2 + 1
        padded = np.pad(wave, (0, max(0, min_len - wave.shape[-1])))
        signal = torch.from_numpy(padded.astype(np.float32)).to(self.device)
        x_in = encode(signal, cfg, self.kind, power_eps)
        n_frames = x_in.shape[-1]
        if task == "bandwidth-extension":
            edge = float(cutoff_hz) if official else guarded_cutoff(float(cutoff_hz))
            mask = bandwidth_mask(cfg, n_frames, edge)
        elif official:
            mask = official_gap_mask(cfg, n_frames, gaps or [])
        else:
            mask = gap_mask(cfg, n_frames, gaps or [])
        mask = mask.to(self.device)
        noise = None if official else FrameNoise(seed, [channel], tuple(x_in.shape[:-1]))
        if noise is None:
            fill = torch.randn(x_in.shape, generator=generator).to(self.device)
        else:
            fill = noise.frames(FILL, 0, n_frames)[0].to(self.device)
        fill_cfg = MaskConfig(fill_std=OFFICIAL_FILL_STD) if official else self.mask
        return signal, mask, fill_cfg.degrade(x_in, mask, fill, rho=cfg.rho), noise

    def _output(
        self,
        wave: np.ndarray,
        signal: torch.Tensor,
        x0: torch.Tensor,
        mask: torch.Tensor,
        task: str,
        gaps: Sequence[tuple[float, float]] | None,
    ) -> np.ndarray:
        """Decode ``x0`` [C, N, W] to ``[L]`` (ours): the input's DC row where it is known and, for
        inpainting with ``gaps`` given, the input's samples outside the gaps (:func:`splice_kept`)."""
        cfg = self.stft
        # DC (below every row) is known wherever the lowest row is: every frame of a bandwidth
        # extension, the frames outside the gaps of an inpainting
        dc = dc_row(signal, cfg)
        dc = torch.where(mask[0] == 0, dc, torch.zeros_like(dc))
        length = wave.shape[-1]
        out = decode(x0, cfg, signal.shape[-1], self.kind, dc=dc)[:length].cpu().numpy()
        if task == "inpainting" and gaps is not None:
            out = splice_kept(wave, out, gaps, cfg.sample_rate)
        return out.astype(np.float32)

    def _sample_official(
        self,
        x1: torch.Tensor,
        mask: torch.Tensor,
        task: str,
        times: list[float],
        generator: torch.Generator,
        window: WindowConfig,
        progress: bool,
    ) -> torch.Tensor:
        """The official sampling scope (protocol rules 2 and 5). ``x1 [C, N, W] -> X0 [C, N, W]``.

        Bandwidth extension: MultiDiffusion over the state padded once with a copy of its first
        frames. Inpainting: the padded state is left as ``x1`` except one window centred on each
        gap, sampled alone, one gap after the other.
        """
        n_frames = x1.shape[-1]
        pad = official_padding(n_frames, window.window_frames, window.hop_frames)
        eps_fn = windowed_eps_fn(self.router, window)
        x1 = pad_with_copy(x1, pad)

        def run(state: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
            return sample(
                eps_fn, state, m, self.schedule, times=times, generator=generator, progress=progress
            )

        if task == "bandwidth-extension":
            return run(x1, pad_with_copy(mask, pad))[..., :n_frames]
        mask = pad_with_copy(mask, pad, value=0.0)
        for left, right in official_gap_windows(mask[0] > 0, window.window_frames):
            x1[..., left:right] = run(x1[..., left:right].clone(), mask[:, left:right])
        return x1[..., :n_frames]


def splice_kept(
    kept: np.ndarray, restored: np.ndarray, gaps: Sequence[tuple[float, float]], rate: int
) -> np.ndarray:
    """Inpainting: ``kept`` ``[..., L]`` outside the gaps (seconds), ``restored`` inside them,
    equal-power cross-faded over :data:`CROSSFADE_S` just outside each edge; float32."""
    spans = gap_spans(gaps, rate)
    fade = round(CROSSFADE_S * rate)
    if restored.ndim == 1:
        return splice_gaps(kept, restored, spans, fade, side="outside").astype(np.float32)
    return np.stack([splice_kept(k, r, gaps, rate) for k, r in zip(kept, restored)])


def restore_voices(
    restorer: Restorer,
    channels: np.ndarray,
    plan: StereoPlan,
    task: str,
    cutoff_hz: float | None,
    gaps: Sequence[tuple[float, float]] | None,
    steps: int,
    seed: int,
    window: WindowConfig,
    progress: bool = False,
    start_only: bool = False,
) -> np.ndarray:
    """Restore ``channels`` ``[C, L]`` at the model rate as ``plan`` says (protocol "ours");
    ``[C, L]``. The voices ``[V, L]`` are restored one by one with their noise keys, the
    channels come back by :meth:`~a2sb.stereo.StereoPlan.inverse`, and an inpainting is then
    spliced into the input channels. ``start_only``: the decoded X1 (:func:`starting_point`)."""
    voices = plan.forward(channels)
    generator = torch.Generator().manual_seed(seed)  # unused by ours: keyed noise
    out = []
    for voice, key in zip(voices, plan.keys):
        if start_only:
            out.append(restorer.start_channel(voice, task, cutoff_hz, gaps, seed, key, False))
        else:
            out.append(restorer.restore_channel(voice, task, cutoff_hz, gaps, steps, generator,
                                                window, progress, Protocol.OURS, seed, key,
                                                splice=False))  # fmt: skip
    length = channels.shape[-1]
    restored = plan.inverse(np.stack(out) if out else np.zeros((0, length), np.float32))
    if task == "inpainting":
        restored = splice_kept(channels, restored, gaps or [], restorer.stft.sample_rate)
    return restored


def resolve_steps(steps: int | None, task: str, protocol: Protocol) -> int:
    """``steps`` or the protocol's default: ours 50; official the paper's 100 / 200 (BWE / inpainting)."""
    if steps is None:
        return OFFICIAL_STEPS[task] if protocol is Protocol.OFFICIAL else DEFAULT_STEPS
    return steps


def resolve_cutoff(
    audio: np.ndarray,
    sample_rate: int,
    cutoff_hz: float | str | None,
    protocol: Protocol = Protocol.OURS,
    name: str = "input",
) -> float:
    """A cutoff in Hz; ``"auto"`` estimates it from the input (:mod:`a2sb.cutoff`): ours by the
    band edge, the official protocol by the mean 99 % spectral roll-off as its upsampling API."""
    if cutoff_hz is None:
        raise InputError(f"{name}: bandwidth extension needs a cutoff frequency")
    if isinstance(cutoff_hz, str):
        if cutoff_hz.strip().lower() != "auto":
            try:
                return float(cutoff_hz)
            except ValueError:
                raise InputError(
                    f"{name}: cutoff {cutoff_hz!r} is neither a frequency in Hz nor 'auto'"
                ) from None
        from .cutoff import estimate_cutoff, rolloff_cutoff

        if protocol is Protocol.OFFICIAL:
            return float(rolloff_cutoff(audio, sample_rate))
        return float(estimate_cutoff(audio, sample_rate, name=name))
    return float(cutoff_hz)


@dataclass
class _Checked:
    """Inputs of :func:`restore` and :func:`starting_point` after their checks."""

    audio: np.ndarray  # [L] or [C, L], the input's rate (official: mono)
    channels: np.ndarray  # [C, L] at the model's rate
    restorer: Restorer
    cutoff_hz: float | None
    steps: int
    protocol: Protocol
    plan: StereoPlan  # of ``channels`` (official: mono)


def _check_inputs(
    audio: np.ndarray,
    sample_rate: int,
    task: str,
    cutoff_hz: float | str | None,
    gaps: Sequence[tuple[float, float]] | None,
    checkpoint: str | os.PathLike | Restorer | None,
    steps: int | None,
    device: str,
    name: str,
    protocol: Protocol | str,
    stereo_mode: StereoMode | str | None = None,
) -> _Checked:
    """Check the inputs of a restoration (one-line :class:`InputError`), load the checkpoint and
    resample every channel to the model's rate."""
    audio = np.asarray(audio, dtype=np.float32)
    check_signal(audio, name)
    if audio.ndim == 2 and audio.shape[0] > audio.shape[1]:
        raise InputError(
            f"{name}: audio of shape {tuple(audio.shape)} has more channels than samples; "
            f"restore() takes [L] or [C, L] (channels first): pass soundfile's [T, C] as audio.T"
        )
    protocol = Protocol.parse(protocol)
    n_channels = 1 if audio.ndim == 1 or protocol is Protocol.OFFICIAL else audio.shape[0]
    try:
        mode = StereoMode.parse(stereo_mode, n_channels)
    except InputError as exc:
        raise InputError(f"{name}: {exc}") from None
    if task not in TASKS:
        raise InputError(f"{name}: unknown task {task!r}; expected one of {TASKS}")
    if checkpoint is None:
        raise InputError(f"{name}: no checkpoint given")
    steps = resolve_steps(steps, task, protocol)
    if steps < 1:
        raise InputError(f"{name}: steps must be >= 1, got {steps}")
    if protocol is Protocol.OFFICIAL and steps < 2:
        raise InputError(f"{name}: the official protocol needs steps >= 2 (n - 1 network calls)")
    duration = audio.shape[-1] / sample_rate
    if protocol is Protocol.OFFICIAL and audio.ndim == 2:
        audio = audio.mean(axis=0)  # the official loader reads mono
    if task == "bandwidth-extension":
        cutoff_hz = resolve_cutoff(audio, sample_rate, cutoff_hz, protocol, name)
        if not 0 < cutoff_hz < sample_rate / 2:
            raise InputError(
                f"{name}: cutoff {cutoff_hz} Hz must lie in (0, {sample_rate / 2:g}) Hz, below the Nyquist "
                f"frequency of the input"
            )
    else:
        check_gaps(list(gaps or []), duration, name)
    restorer = (
        checkpoint
        if isinstance(checkpoint, Restorer)
        else Restorer.from_checkpoint(checkpoint, device)
    )
    rate = restorer.stft.sample_rate
    if task == "bandwidth-extension" and cutoff_hz >= rate / 2:
        raise InputError(
            f"{name}: cutoff {cutoff_hz} Hz lies at or above the model's Nyquist ({rate / 2:g} Hz)"
        )
    channels = resample(audio[None] if audio.ndim == 1 else audio, sample_rate, rate)
    cutoff = float(cutoff_hz) if task == "bandwidth-extension" else None
    layout = ChannelLayout.of(channels)
    correlation = None
    if needs_row_correlation(mode, layout):
        spectrum = cross_spectrum(channels, gap_spans(gaps if task == "inpainting" else None, rate))
        correlation = task_correlation(spectrum, restorer.stft, task, cutoff)
    plan = StereoPlan.build(mode, layout, correlation)
    return _Checked(audio, channels, restorer, cutoff, steps, protocol, plan)


def restore(
    audio: np.ndarray,
    sample_rate: int,
    task: str = "bandwidth-extension",
    cutoff_hz: float | str | None = None,
    gaps: Sequence[tuple[float, float]] | None = None,
    checkpoint: str | os.PathLike | Restorer | None = None,
    steps: int | None = None,
    seed: int = 0,
    device: str = "cpu",
    window: WindowConfig | None = None,
    progress: bool = False,
    name: str = "input",
    protocol: Protocol | str = Protocol.OURS,
    stereo_mode: StereoMode | str | None = None,
) -> np.ndarray:
    """Restore ``audio`` ([L] or [C, L], any rate) and return the same layout at the model's rate.

    ``task`` is "bandwidth-extension" (needs ``cutoff_hz`` below the input's Nyquist, or "auto")
    or "inpainting" (needs ``gaps`` in seconds, inside the file, disjoint). ``checkpoint`` is a
    ``.safetensors`` file, a partition bundle ``.json`` or a loaded :class:`Restorer`.
    ``protocol`` "ours" (default) or "official" (:mod:`a2sb.protocol`: the official inference,
    which downmixes to mono, returns ``[hop * floor(L / hop)]`` and reads ``steps`` as the
    official ``n``). ``steps`` defaults to 50 (ours) or 100 / 200 (official BWE / inpainting).
    ``stereo_mode`` (ours, 2 or more channels; :mod:`a2sb.stereo`): "independent",
    "shared-noise", "mid-side", "mid-side-shared", "matched-coherence", or None / "auto": the default of 2-channel
    input (:data:`a2sb.stereo.DEFAULT_STEREO_MODE`), "independent" for more channels.
    """
    c = _check_inputs(audio, sample_rate, task, cutoff_hz, gaps, checkpoint, steps, device, name,
                      protocol, stereo_mode)  # fmt: skip
    window = window or c.restorer.window()
    if c.protocol is Protocol.OFFICIAL:  # mono (the official loader downmixes)
        generator = torch.Generator().manual_seed(seed)
        return c.restorer.restore_channel(c.channels[0], task, c.cutoff_hz, gaps, c.steps,
                                          generator, window, progress, c.protocol, seed)  # fmt: skip
    out = restore_voices(c.restorer, c.channels, c.plan, task, c.cutoff_hz, gaps, c.steps, seed,
                         window, progress)  # fmt: skip
    return out[0] if c.audio.ndim == 1 else out


def starting_point(
    audio: np.ndarray,
    sample_rate: int,
    task: str = "bandwidth-extension",
    cutoff_hz: float | str | None = None,
    gaps: Sequence[tuple[float, float]] | None = None,
    checkpoint: str | os.PathLike | Restorer | None = None,
    seed: int = 0,
    device: str = "cpu",
    name: str = "input",
    stereo_mode: StereoMode | str | None = None,
) -> np.ndarray:
    """The point :func:`restore` starts its bridge from, decoded with no network: ``X1`` of eq. 8.

    The known region of the input plus, in the masked region, the checkpoint's fill (its
    ``fill_prior`` estimate plus ``fill_std`` times the keyed fill noise of ``seed``), decoded
    as :func:`restore` decodes its output (the input's DC row where known; for inpainting the
    input's samples outside the gaps). The same arguments as :func:`restore` (protocol "ours");
    the same layout and rate as it returns, with the same stereo mode. The gap between this and
    :func:`restore`'s output is what the network adds.
    """
    c = _check_inputs(audio, sample_rate, task, cutoff_hz, gaps, checkpoint, None, device, name,
                      Protocol.OURS, stereo_mode)  # fmt: skip
    out = restore_voices(c.restorer, c.channels, c.plan, task, c.cutoff_hz, gaps, c.steps, seed,
                         c.restorer.window(), start_only=True)  # fmt: skip
    return out[0] if c.audio.ndim == 1 else out


__all__ = [
    "CROSSFADE_S",
    "Protocol",
    "Restorer",
    "TASKS",
    "check_gaps",
    "frames_touching",
    "paper_gaps",
    "resolve_cutoff",
    "resolve_steps",
    "restore",
    "restore_voices",
    "splice_kept",
    "starting_point",
]
