"""The two restoration protocols: ours (default) and the official A2SB inference, rule by rule.

``Protocol.OFFICIAL`` reproduces the official inference code (NVIDIA/diffusion-audio-restoration)
as measured in ``shared/reference/official_protocol.md``; ``Protocol.OURS`` keeps the project's
choices where they are better for a user. Each rule of the official protocol is one function here
(the sampler, MultiDiffusion and the decoder take their switches from these):

1. time grid: ``n`` steps mean the float32 grid ``linspace(1, 0.05, n)`` and ``n - 1`` network
   calls at its first ``n - 1`` points; the output is the prediction at ``t_{n-2}``
   (ours: ``n`` calls on the float64 grid, the last at ``t = 0.05``);
2. inpainting mask: frames ``[int(a sr / hop), int(b sr / hop))`` of a gap ``[a, b]`` s
   (ours: every frame whose window overlaps the gap, :func:`a2sb.masks.gap_mask`);
   one window centred on each gap is sampled, nothing else (:func:`official_gap_windows`);
3. the DC row of the output is zero (ours: the input's, where known);
4. negative predicted magnitudes keep their sign through the inverse (ours: clamped at 0);
5. MultiDiffusion: the state is padded once at the end with a copy of its first frames, which
   then evolve as their own bridge state (ours: the last window wraps around the current state);
6. partition routing compares float32 times (both protocols: see
   :meth:`a2sb.sampler.PartitionRouter.index`);
7. output length ``hop * (frames - 1)``, i.e. ``floor(L / hop) * hop`` (ours: exactly ``L``);
   multichannel input is downmixed to mono as the official loader does (ours: per channel).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum

import torch

from .bridge import time_grid
from .errors import InputError
from .representation import STFTConfig

OFFICIAL_T_END = 0.05
OFFICIAL_FILL_STD = 0.5  # fill_noise_level of the official corruption transforms
OFFICIAL_POWER_EPS = 1e-9  # eps of the official PowerScaleSpectrogram
#: steps of the paper's evaluation with the official code (bandwidth extension, inpainting)
OFFICIAL_STEPS = {"bandwidth-extension": 100, "inpainting": 200}


class Protocol(StrEnum):
    """Which inference protocol :func:`a2sb.restoration.restore` follows."""

    OURS = "ours"
    OFFICIAL = "official"

    @classmethod
    def parse(cls, value: str | Protocol) -> Protocol:
        try:
            return cls(value)
        except ValueError:
            raise InputError(
                f"unknown protocol {value!r}; expected one of {[p.value for p in cls]}"
            ) from None


def sampling_times(steps: int, protocol: Protocol = Protocol.OURS) -> list[float]:
    """The times at which the network is called, first to last (rule 1).

    Ours: ``steps`` calls on the float64 ``linspace(1, 0.05, steps)``. Official: the float32
    ``linspace(1, 0.05, steps)`` without its last point (``steps - 1`` calls; needs ``steps >= 2``).
    """
    if protocol is Protocol.OURS:
        return time_grid(steps, OFFICIAL_T_END).tolist()
    if steps < 2:
        raise InputError(f"the official protocol needs steps >= 2 (steps - 1 calls), got {steps}")
    grid = torch.linspace(1.0, OFFICIAL_T_END, steps, dtype=torch.float32)
    return [float(t) for t in grid[:-1]]


def official_gap_frames(
    cfg: STFTConfig, start_s: float, end_s: float, n_frames: int
) -> tuple[int, int]:
    """Frames ``[int(a sr / hop), int(b sr / hop))`` of the gap ``[a, b]`` s, clipped to the file."""
    rate = cfg.sample_rate / cfg.hop_length
    first = min(n_frames, max(0, int(rate * start_s)))
    stop = min(n_frames, max(first, int(rate * end_s)))
    return first, stop


def official_gap_mask(
    cfg: STFTConfig, n_frames: int, gaps_s: Sequence[tuple[float, float]]
) -> torch.Tensor:
    """The official inpainting mask (rule 2), all rows. ``-> [N, W]`` float32, 1 = missing."""
    mask = torch.zeros(cfg.n_rows, n_frames)
    for start_s, end_s in gaps_s:
        first, stop = official_gap_frames(cfg, start_s, end_s, n_frames)
        mask[:, first:stop] = 1.0
    return mask


def official_gaps(
    duration_s: float, gap_s: float, period_s: float = 5.0
) -> list[tuple[float, float]]:
    """Gaps of the official inpainting script: ``int(duration // period)`` of them, each centred
    in its period (ours, :func:`a2sb.restoration.paper_gaps`, also fills a last partial period
    that holds a whole gap)."""
    return centred_gaps(int(duration_s // period_s), gap_s, period_s)


def centred_gaps(count: int, gap_s: float, period_s: float) -> list[tuple[float, float]]:
    """``count`` gaps of ``gap_s``, one centred in each period: ``[p i + (p - g)/2, p i + (p + g)/2]``."""
    if not 0 < gap_s < period_s:
        raise InputError(f"gap of {gap_s} s must lie in (0, {period_s}) s")
    return [
        (i * period_s + (period_s - gap_s) / 2, i * period_s + (period_s + gap_s) / 2)
        for i in range(count)
    ]


def official_padding(n_frames: int, window_frames: int, hop_frames: int) -> int:
    """Frames appended so that windows of ``window_frames`` every ``hop_frames`` tile the state."""
    if n_frames <= window_frames:
        return window_frames - n_frames
    covered = math.ceil((n_frames - window_frames) / hop_frames) * hop_frames + window_frames
    return covered - n_frames


def pad_with_copy(x: torch.Tensor, frames: int, value: float | None = None) -> torch.Tensor:
    """Append the first ``frames`` frames of ``x [..., W]`` (or ``value``) at its end (rule 5).

    The official code fails when ``frames`` exceeds ``W`` (inputs under half a window); here the
    copy repeats ``x`` as often as needed.
    """
    if frames <= 0:
        return x.clone()
    width = x.shape[-1]
    index = torch.arange(frames, device=x.device) % width
    tail = x.index_select(-1, index)
    if value is not None:
        tail = torch.full_like(tail, value)
    return torch.cat([x, tail], dim=-1)


def official_gap_windows(missing: torch.Tensor, window_frames: int) -> list[tuple[int, int]]:
    """One window of ``window_frames`` per run of missing frames, centred on it (rule 2).

    ``missing`` [W] bool over the padded frames. The centre of a run ``[s, e]`` (inclusive) is
    ``int((s + e) / 2)``; the window ``[c - w/2, c + w/2)`` is shifted inside ``[0, W)``.
    """
    width = missing.shape[-1]
    if window_frames > width:
        raise ValueError(f"window of {window_frames} frames is longer than the state ({width})")
    flags = missing.to(torch.int8).tolist()
    windows = []
    k = 0
    while k < width:
        if not flags[k]:
            k += 1
            continue
        start = k
        while k < width and flags[k]:
            k += 1
        centre = (start + k - 1) // 2
        left = centre - window_frames // 2
        left = min(max(0, left), width - window_frames)
        windows.append((left, left + window_frames))
    return windows


__all__ = [
    "OFFICIAL_FILL_STD",
    "OFFICIAL_STEPS",
    "Protocol",
    "centred_gaps",
    "official_gap_frames",
    "official_gap_mask",
    "official_gap_windows",
    "official_gaps",
    "official_padding",
    "pad_with_copy",
    "sampling_times",
]
