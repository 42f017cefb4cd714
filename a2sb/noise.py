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
from dataclasses import dataclass

import torch

#: frames per independently seeded chunk (24,576 numbers at the paper's 1024 rows: drawing a
#: chunk with a fresh generator costs about what the same numbers cost from one generator)
CHUNK_FRAMES = 8
FILL = 0
#: the key of the noise that :class:`MixedKey` slots share (no audio channel has it)
SHARED_KEY = -1


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


@dataclass(frozen=True)
class MixedKey:
    """A slot whose noise is ``sqrt(w) * n[shared] + sqrt(1 - w) * n[own]`` per frequency row.

    ``weight``: ``w`` of each row (the last axis of ``lead``), in [0, 1]. Two slots with the same
    ``shared`` key and weights ``w`` have noise correlated by ``w`` row by row, each still standard
    normal (:mod:`a2sb.stereo` ``matched-coherence``); ``w = 1`` gives the shared numbers exactly.
    """

    own: int
    shared: int
    weight: tuple[float, ...]

    def factors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``sqrt(w)`` and ``sqrt(1 - w)`` as ``[rows, 1]`` (broadcast over frames)."""
        w = torch.tensor(self.weight, dtype=torch.float64).clamp(0.0, 1.0)
        return (w.sqrt().float()[:, None], (1.0 - w).sqrt().float()[:, None])


NoiseKey = int | MixedKey


class FrameNoise:
    """Standard normal noise of shape ``[len(channels), *lead, frames]`` for a frame range.

    ``channels``: the key of each leading slot's noise, the audio channel index (slots that share
    a key, :mod:`a2sb.stereo` ``shared-noise``, get the same numbers) or a :class:`MixedKey`
    (noise shared in part, row by row);
    ``lead``: the shape of one frame, ``(C, N)`` for a representation.
    """

    def __init__(self, seed: int, channels: Sequence[NoiseKey], lead: tuple[int, ...]):
        self.seed = int(seed)
        self.channels = [k if isinstance(k, MixedKey) else int(k) for k in channels]
        self.lead = tuple(lead)
        self._factors: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        for slot, key in enumerate(self.channels):
            if isinstance(key, MixedKey):
                if len(key.weight) != self.lead[-1]:
                    raise ValueError(
                        f"a mixed key of {len(key.weight)} row weights for {self.lead[-1]} rows"
                    )
                self._factors[slot] = key.factors()
        # every keyed draw the slots need, each drawn once per chunk
        self._keys: list[int] = []
        for key in self.channels:
            for k in (key.shared, key.own) if isinstance(key, MixedKey) else (key,):
                if k not in self._keys:
                    self._keys.append(k)

    def frames(self, draw: int, start: int, stop: int) -> torch.Tensor:
        """Noise of frames ``[start, stop)`` of draw ``draw``: ``[K, *lead, stop - start]``."""
        if not 0 <= start <= stop:
            raise ValueError(f"bad frame range [{start}, {stop})")
        out = torch.empty((len(self.channels), *self.lead, stop - start))
        first, last = start // CHUNK_FRAMES, -(-stop // CHUNK_FRAMES)
        for c in range(first, last):
            a, b = max(start, c * CHUNK_FRAMES), min(stop, (c + 1) * CHUNK_FRAMES)
            parts = {}
            for key in self._keys:
                gen = torch.Generator().manual_seed(chunk_seed(self.seed, key, draw, c))
                chunk = torch.randn((*self.lead, CHUNK_FRAMES), generator=gen)
                parts[key] = chunk[..., a - c * CHUNK_FRAMES : b - c * CHUNK_FRAMES]
            for slot, key in enumerate(self.channels):
                if isinstance(key, MixedKey):
                    shared, own = self._factors[slot]
                    value = shared * parts[key.shared] + own * parts[key.own]
                else:
                    value = parts[key]
                out[slot, ..., a - start : b - start] = value
        return out
