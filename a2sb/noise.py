"""Sampler noise keyed by (seed, channel, draw, frame): the same numbers however a file is cut.

The in-memory sampler and the streaming one (:mod:`a2sb.streaming`) both take their Gaussian
noise from :class:`FrameNoise`: the frame axis is cut into fixed chunks of :data:`CHUNK_FRAMES`
frames, and chunk ``c`` of draw ``d`` of audio channel ``k`` comes from its own generator seeded
with a hash of ``(seed, k, d, c)``. A slice of frames ``[a, b)`` is the same whether it is drawn
alone, inside a whole file's draw or in pieces, so both paths give the same output for a seed.
Draw numbers: :data:`FILL` for the masked region's fill (eq. 8), :func:`posterior_draw` and
:func:`known_draw` for the two draws of sampling step ``i`` (SPEC 4). Noise is drawn on the CPU.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import torch

#: frames per independently seeded chunk (24,576 numbers at the paper's 1024 rows: drawing a
#: chunk with a fresh generator costs about what the same numbers cost from one generator)
CHUNK_FRAMES = 8
FILL = 0


def posterior_draw(step: int) -> int:
    """Draw number of the posterior noise of sampling step ``step`` (0-based)."""
    return 1 + 2 * step


def known_draw(step: int) -> int:
    """Draw number of the known region's bridge noise of sampling step ``step`` (0-based)."""
    return 2 + 2 * step


def chunk_seed(seed: int, channel: int, draw: int, chunk: int) -> int:
    """The 63-bit seed of one chunk: blake2b of the four keys."""
    key = f"{seed}:{channel}:{draw}:{chunk}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little") >> 1


class FrameNoise:
    """Standard normal noise of shape ``[len(channels), *lead, frames]`` for a frame range.

    ``channels``: the key of each leading slot's noise, the audio channel index (slots that share
    a key, :mod:`a2sb.stereo` ``shared-noise``, get the same numbers);
    ``lead``: the shape of one frame, ``(C, N)`` for a representation.
    """

    def __init__(self, seed: int, channels: Sequence[int], lead: tuple[int, ...]):
        self.seed = int(seed)
        self.channels = [int(k) for k in channels]
        self.lead = tuple(lead)

    def frames(self, draw: int, start: int, stop: int) -> torch.Tensor:
        """Noise of frames ``[start, stop)`` of draw ``draw``: ``[K, *lead, stop - start]``."""
        if not 0 <= start <= stop:
            raise ValueError(f"bad frame range [{start}, {stop})")
        out = torch.empty((len(self.channels), *self.lead, stop - start))
        first, last = start // CHUNK_FRAMES, -(-stop // CHUNK_FRAMES)
        for c in range(first, last):
            a, b = max(start, c * CHUNK_FRAMES), min(stop, (c + 1) * CHUNK_FRAMES)
            for channel in dict.fromkeys(self.channels):  # a key shared by slots is drawn once
                gen = torch.Generator().manual_seed(chunk_seed(self.seed, channel, draw, c))
                chunk = torch.randn((*self.lead, CHUNK_FRAMES), generator=gen)
                part = chunk[..., a - c * CHUNK_FRAMES : b - c * CHUNK_FRAMES]
                for slot in (i for i, k in enumerate(self.channels) if k == channel):
                    out[slot, ..., a - start : b - start] = part
        return out
