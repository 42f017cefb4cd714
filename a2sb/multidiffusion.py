"""MultiDiffusion over long spectrograms (SPEC 7; paper Algorithm 1, eq. 20).

At one sampling step the network runs on windows of ``window_frames`` frames taken every
``hop_frames`` frames, batched, and the outputs are averaged uniformly where windows overlap.
Windows start every ``hop_frames`` frames; when they do not end on the last frame, one more
window is aligned to the end (its start is not a multiple of the hop). Every window then holds
real frames only, and a frame's output depends on the state within one window of it, nothing
farther: the streaming sampler (:mod:`a2sb.streaming`) relies on this to hold only a band of
frames. (The official code instead pads the end with a copy of the first frames, which ties the
end of a file to its start; :mod:`a2sb.protocol` does that when asked.) Inputs shorter than one
window repeat themselves. Memory: one accumulator of the state's size and one batch of windows;
no window output or step prediction is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

EpsNet = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``net(x [B, C, N, W], t [B]) -> [B, C, N, W]``."""


@dataclass(frozen=True)
class WindowConfig:
    """Window length and hop in frames, and windows per network call."""

    window_frames: int = 256
    hop_frames: int = 128
    batch_size: int = 16

    def __post_init__(self) -> None:
        if not 0 < self.hop_frames <= self.window_frames:
            raise ValueError(
                f"need 0 < hop_frames <= window_frames, got {self.hop_frames}, {self.window_frames}"
            )
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")


def window_starts(n_frames: int, cfg: WindowConfig) -> tuple[list[int], int]:
    """Start frames of the windows and the length they cover: ``n_frames``, or one window for
    an input shorter than it (which wraps around). Starts: every hop, plus one window ending on
    the last frame when the hops do not."""
    if n_frames < 1:
        raise ValueError("need at least one frame")
    w, h = cfg.window_frames, cfg.hop_frames
    if n_frames <= w:
        return [0], w
    starts = list(range(0, n_frames - w + 1, h))
    if starts[-1] + w < n_frames:
        starts.append(n_frames - w)
    return starts, n_frames


def needed_windows(starts: list[int], width: int, needed: torch.Tensor) -> list[int]:
    """The window starts whose accumulated frames ``[s, min(s + width, L))`` hold a ``needed`` one.

    (The wrapped tail of a window longer than the input is input only: not accumulated.)
    """
    n_frames = needed.shape[-1]
    flags = needed.to(torch.bool).cpu()
    # prefix sums: any flag in [a, b) in O(1)
    prefix = torch.cat([torch.zeros(1, dtype=torch.int64), flags.to(torch.int64).cumsum(0)])

    def any_in(a: int, b: int) -> bool:
        return bool(prefix[min(b, n_frames)] - prefix[min(a, n_frames)] > 0)

    return [s for s in starts if any_in(s, s + width)]


def multidiffusion_eps(
    net: EpsNet,
    x_t: torch.Tensor,
    t: float,
    cfg: WindowConfig,
    needed: torch.Tensor | None = None,
) -> torch.Tensor:
    """Fused network output over all windows at time ``t``. ``x_t [C, N, L] -> [C, N, L]``.

    Each frame's output is the uniform mean of the outputs of every window that holds it
    (eq. 20). (Only an input shorter than a window is padded, by wrapping around; the padded
    frames are computed but not accumulated.)
    ``needed`` [L] bool: only the windows that hold a needed frame are run, so the output is
    exact on every needed frame (all its windows run) and 0 on frames no run window holds. The
    sampler passes the frames with a missing bin: elsewhere the prediction is replaced by the
    input, so inpainting costs the windows around its gaps, not the whole file.
    """
    n_frames = x_t.shape[-1]
    starts, _ = window_starts(n_frames, cfg)
    w = cfg.window_frames
    if needed is not None:
        if needed.shape[-1] != n_frames:
            raise ValueError(f"needed has {needed.shape[-1]} frames, the state {n_frames}")
        starts = needed_windows(starts, w, needed)
    acc = torch.zeros_like(x_t)
    count = torch.zeros(n_frames, dtype=x_t.dtype, device=x_t.device)
    for first in range(0, len(starts), cfg.batch_size):
        batch_starts = starts[first : first + cfg.batch_size]
        batch = torch.stack([_window(x_t, s, w) for s in batch_starts])
        t_batch = torch.full((len(batch_starts),), float(t), dtype=x_t.dtype, device=x_t.device)
        out = net(batch, t_batch)
        del batch
        for k, s in enumerate(batch_starts):
            stop = min(s + w, n_frames)
            acc[..., s:stop] += out[k, ..., : stop - s]
            count[s:stop] += 1
        del out
    return acc.div_(count.clamp_(min=1))


def _window(x: torch.Tensor, start: int, width: int) -> torch.Tensor:
    """Frames ``start .. start + width`` of ``x [C, N, L]``, wrapping around past the end."""
    n_frames = x.shape[-1]
    if start + width <= n_frames:
        return x[..., start : start + width]
    index = torch.arange(start, start + width, device=x.device) % n_frames
    return x.index_select(-1, index)
