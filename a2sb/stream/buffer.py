"""Frame buffers of the streaming sampler: tensors ``[..., F]`` that grow at the end and are
dropped from the front, addressed by absolute frame index.

Both keep their frames in one preallocated block that is reused in place (frames written at
the end, the front advanced, the live frames moved back to the block's start when the end is
reached), and that grows by half when the live frames outgrow it. A buffer that made a new
tensor per appended block (and per window's sum) would scatter long-lived blocks among the
sampler's temporaries in the C allocator's heap: measured at 8 steps, the process's resident
memory then grew about three times as fast per step as the frames actually held.
"""

from __future__ import annotations

import torch

#: growth of a block that is too small: by half of what is needed
GROWTH = 1.5


class _Block:
    """Frames ``[..., offset : offset + size)`` of ``data`` are live; room after them."""

    def __init__(self) -> None:
        self.data: torch.Tensor | None = None
        self.offset = 0
        self.size = 0

    def room_for(self, like: torch.Tensor, frames: int) -> torch.Tensor:
        """Make room for ``frames`` more frames at the end (moving or growing); the view of
        those frames (contents unspecified)."""
        need = self.size + frames
        if self.data is None or self.data.shape[:-1] != like.shape[:-1]:
            if self.size:
                raise ValueError(f"frames of shape {tuple(like.shape[:-1])} appended to "
                                 f"a buffer of {tuple(self.data.shape[:-1])}")  # fmt: skip
            self.data = like.new_empty((*like.shape[:-1], max(need, 1)))
            self.offset = 0
        elif self.offset + need > self.data.shape[-1]:
            live = self.data[..., self.offset : self.offset + self.size]
            if need <= self.data.shape[-1]:  # move the live frames to the start
                if self.offset >= self.size:
                    self.data[..., : self.size].copy_(live)
                else:
                    self.data[..., : self.size] = live.clone()
            else:  # grow
                grown = like.new_empty((*like.shape[:-1], int(need * GROWTH) + 1))
                grown[..., : self.size] = live
                self.data = grown
            self.offset = 0
        a = self.offset + self.size
        self.size = need
        return self.data[..., a : a + frames]

    def live(self, a: int, b: int) -> torch.Tensor:
        """Live frames ``[a, b)`` counted from the first live frame: a view."""
        assert self.data is not None
        return self.data[..., self.offset + a : self.offset + b]

    def drop(self, frames: int) -> None:
        self.offset += frames
        self.size -= frames
        if not self.size:
            self.offset = 0


class FrameBuffer:
    """Frames ``[start, stop)`` of a tensor ``[..., F]``, appended in order."""

    def __init__(self, start: int = 0):
        self.start = start
        self._block = _Block()

    @property
    def stop(self) -> int:
        return self.start + self._block.size

    @property
    def frames(self) -> int:
        return self._block.size

    def append(self, x: torch.Tensor) -> None:
        """Copy ``x`` in as the frames after :attr:`stop`."""
        if x.shape[-1]:
            self._block.room_for(x, x.shape[-1]).copy_(x)

    def slice(self, first: int, stop: int) -> torch.Tensor:
        """Frames ``[first, stop)``: a view, valid until the next :meth:`append`."""
        if not self.start <= first <= stop <= self.stop:
            raise IndexError(
                f"frames [{first}, {stop}) outside the buffer [{self.start}, {self.stop})"
            )
        if self._block.data is None:
            return torch.empty(0)
        return self._block.live(first - self.start, stop - self.start)

    def drop_before(self, frame: int) -> None:
        """Forget the frames before ``frame``."""
        if frame <= self.start:
            return
        self._block.drop(min(frame, self.stop) - self.start)
        self.start = frame


class Accumulator:
    """Sums of window outputs and their counts over frames ``[start, stop)`` (MultiDiffusion,
    eq. 20), taken out as means from the front."""

    def __init__(self, start: int):
        self.start = start
        self._sum = _Block()
        self._count = _Block()

    @property
    def stop(self) -> int:
        return self.start + self._count.size

    def add(self, first: int, out: torch.Tensor) -> None:
        """Add a window's output ``[..., w]`` at frames ``[first, first + w)``."""
        stop = first + out.shape[-1]
        if first < self.start:
            raise IndexError(f"frame {first} was already taken out (buffer starts at {self.start})")
        if stop > self.stop:
            grow = stop - self.stop
            self._sum.room_for(out, grow).zero_()
            self._count.room_for(out[(0,) * (out.dim() - 1)], grow).zero_()
        a, b = first - self.start, stop - self.start
        self._sum.live(a, b).add_(out)
        self._count.live(a, b).add_(1)

    def take(self, stop: int) -> torch.Tensor:
        """The means of frames ``[start, stop)``, which are then forgotten."""
        if stop > self.stop or (stop > self.start and self._count.data is None):
            raise IndexError(f"frames up to {stop} were not accumulated")
        n = stop - self.start
        if not n:
            return torch.empty(0)
        mean = self._sum.live(0, n) / self._count.live(0, n).clamp(min=1)
        self._sum.drop(n)
        self._count.drop(n)
        self.start = stop
        return mean
