"""Frame buffers of the streaming sampler: tensors ``[..., F]`` that grow at the end and are
dropped from the front, addressed by absolute frame index."""

from __future__ import annotations

import torch


def _compact(x: torch.Tensor, dead: int) -> torch.Tensor:
    """``x[..., dead:]``: a view while the dropped part is small, a fresh copy once it is the
    larger part (a view keeps its whole storage alive)."""
    live = x[..., dead:]
    return live.clone() if dead > live.shape[-1] else live


class FrameBuffer:
    """Frames ``[start, stop)`` of a tensor ``[..., F]``, appended in order."""

    def __init__(self, start: int = 0):
        self.start = start
        self.stop = start
        self._chunks: list[torch.Tensor] = []

    def append(self, x: torch.Tensor) -> None:
        if x.shape[-1]:
            self._chunks.append(x)
            self.stop += x.shape[-1]

    def slice(self, first: int, stop: int) -> torch.Tensor:
        """Frames ``[first, stop)``: a view when they lie in one appended block, else a copy."""
        if not self.start <= first <= stop <= self.stop:
            raise IndexError(
                f"frames [{first}, {stop}) outside the buffer [{self.start}, {self.stop})"
            )
        parts, offset = [], self.start
        for chunk in self._chunks:
            end = offset + chunk.shape[-1]
            if end > first and offset < stop:
                parts.append(chunk[..., max(first, offset) - offset : min(stop, end) - offset])
            offset = end
            if offset >= stop:
                break
        if not parts:
            return self._chunks[0][..., :0] if self._chunks else torch.empty(0)
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)

    def drop_before(self, frame: int) -> None:
        """Forget the frames before ``frame``."""
        while self._chunks and self.start < frame:
            width = self._chunks[0].shape[-1]
            if self.start + width <= frame:
                self._chunks.pop(0)
                self.start += width
            else:
                self._chunks[0] = _compact(self._chunks[0], frame - self.start)
                self.start = frame
        if not self._chunks:
            self.start = self.stop = max(self.stop, frame)

    @property
    def frames(self) -> int:
        return self.stop - self.start


class Accumulator:
    """Sums of window outputs and their counts over frames ``[start, stop)`` (MultiDiffusion,
    eq. 20), taken out as means from the front."""

    def __init__(self, start: int):
        self.start = start
        self.sum: torch.Tensor | None = None
        self.count: torch.Tensor | None = None

    @property
    def stop(self) -> int:
        return self.start + (0 if self.count is None else self.count.shape[-1])

    def add(self, first: int, out: torch.Tensor) -> None:
        """Add a window's output ``[..., w]`` at frames ``[first, first + w)``."""
        stop = first + out.shape[-1]
        if first < self.start:
            raise IndexError(f"frame {first} was already taken out (buffer starts at {self.start})")
        if self.sum is None or self.count is None:
            self.sum = torch.zeros((*out.shape[:-1], stop - self.start), dtype=out.dtype)
            self.count = torch.zeros(stop - self.start, dtype=out.dtype)
        elif stop > self.stop:
            grow = stop - self.stop
            self.sum = torch.cat([self.sum, self.sum.new_zeros((*self.sum.shape[:-1], grow))], -1)
            self.count = torch.cat([self.count, self.count.new_zeros(grow)])
        a, b = first - self.start, stop - self.start
        self.sum[..., a:b] += out
        self.count[a:b] += 1

    def take(self, stop: int) -> torch.Tensor:
        """The means of frames ``[start, stop)``, which are then forgotten."""
        if self.sum is None or self.count is None or stop > self.stop:
            raise IndexError(f"frames up to {stop} were not accumulated")
        n = stop - self.start
        mean = self.sum[..., :n] / self.count[:n].clamp(min=1)
        self.sum, self.count = _compact(self.sum, n), _compact(self.count, n)
        self.start = stop
        return mean
