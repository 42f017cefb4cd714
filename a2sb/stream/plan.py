"""What a streaming restoration computes where: windows, masks and the context of X1.

:class:`StreamPlan` is built from the signal's length before any audio is read. It holds the
MultiDiffusion windows grouped into :class:`Component` s (windows that overlap, directly or
through others; bandwidth extension: one, the whole file; inpainting: one per gap or group of
close gaps, only the windows that reach a gap being run, as in the in-memory sampler), the mask of
any frame range (equal to :func:`a2sb.masks.bandwidth_mask` / :func:`~a2sb.masks.gap_mask` on the
whole file) and, for each range of frames, the frames whose known values its X1 reads (the
context prior's reach), so that X1 can be built block by block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..context_prior import EDGE_FRAMES, SPAN_FRAMES, TREND_FRAMES
from ..masks import MaskConfig, frames_touching, guarded_cutoff
from ..multidiffusion import WindowConfig, window_starts
from ..representation import STFTConfig


@dataclass(frozen=True)
class Component:
    """Windows run together (start frames, increasing) and the frames they cover."""

    starts: tuple[int, ...]
    first: int
    stop: int


def _merge(ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted ``[a, b)`` ranges with touching or overlapping ones merged."""
    merged: list[tuple[int, int]] = []
    for a, b in sorted(r for r in ranges if r[1] > r[0]):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


@dataclass
class StreamPlan:
    """The frames, masks and windows of one restoration of ``n_frames`` frames."""

    stft: STFTConfig
    n_frames: int
    window: WindowConfig
    cutoff_row: int | None  # bandwidth extension: rows from here on are missing
    gap_runs: list[tuple[int, int]]  # inpainting: runs of missing frames
    prior: str
    components: list[Component]

    @classmethod
    def build(
        cls,
        stft: STFTConfig,
        length: int,
        window: WindowConfig,
        mask_config: MaskConfig,
        cutoff_hz: float | None = None,
        gaps: Sequence[tuple[float, float]] | None = None,
    ) -> StreamPlan:
        """The plan of a bandwidth extension (``cutoff_hz``) or an inpainting (``gaps`` in
        seconds) of ``length`` samples at the model's rate."""
        n_frames = length // stft.hop_length + 1
        starts, covered = window_starts(n_frames, window)
        if covered != n_frames:
            raise ValueError(f"{n_frames} frames: shorter than one window ({window.window_frames})")
        if cutoff_hz is not None:
            row = stft.row_of_frequency(guarded_cutoff(cutoff_hz))
            runs: list[tuple[int, int]] = []
            needed = list(starts)
        else:
            row = None
            runs = _merge([frames_touching(stft, a, b, n_frames) for a, b in gaps or []])
            w = window.window_frames
            needed = [s for s in starts if any(a < s + w and s < b for a, b in runs)]
        return cls(
            stft,
            n_frames,
            window,
            row,
            runs,
            mask_config.fill_prior,
            _components(needed, window.window_frames),
        )

    def mask(self, first: int, stop: int) -> torch.Tensor:
        """The mask of frames ``[first, stop)``: ``[N, stop - first]``, 1 where missing."""
        mask = torch.zeros(self.stft.n_rows, stop - first)
        if self.cutoff_row is not None:
            mask[self.cutoff_row :, :] = 1.0
        for a, b in self.gap_runs:
            lo, hi = max(a, first), min(b, stop)
            if hi > lo:
                mask[:, lo - first : hi - first] = 1.0
        return mask

    def context(self, first: int, stop: int) -> tuple[int, int]:
        """The frames whose known values X1 of frames ``[first, stop)`` depends on (a superset
        of the range), as :func:`a2sb.masks.apply_mask` computes it on the whole file."""
        if self.prior == "noise":
            return first, stop
        if self.cutoff_row is not None:  # per frame, the mean over SPAN_FRAMES around it
            half = SPAN_FRAMES // 2
            return max(0, first - half), min(self.n_frames, stop + half)
        # a gap's fill reads its whole run and up to `reach` frames beside it; the run before
        # it, when that close, is filled first and read filled: take it in too
        reach = max(EDGE_FRAMES, TREND_FRAMES)
        lo, hi = first, stop
        for a, b in self.gap_runs:
            if a < stop and first < b:
                lo, hi = min(lo, a), max(hi, b)
        lo, hi = lo - reach, hi + reach
        for a, b in reversed(self.gap_runs):  # right to left: a chain of close runs
            if b > lo:
                lo = min(lo, a - reach)
        return max(0, lo), min(self.n_frames, hi)


def _components(starts: Sequence[int], width: int) -> list[Component]:
    """Windows grouped where they overlap."""
    groups: list[list[int]] = []
    for s in starts:
        if groups and s < groups[-1][-1] + width:
            groups[-1].append(s)
        else:
            groups.append([s])
    return [Component(tuple(g), g[0], g[-1] + width) for g in groups]
