"""Stereo modes of restoration: how the channels of a file are restored together (issue 20).

Restoring each channel with its own noise invents panning: the band the bridge generates differs
between the channels where the known band is the same, so a centred instrument's new treble
wanders between the speakers. A :class:`StereoPlan` decides what the sampler restores (its
*voices*) and how the channels come back from them; both the in-memory path
(:func:`a2sb.restoration.restore`) and the streaming one (:mod:`a2sb.stream.restore`) apply the
same plan, sample by sample, so they give the same output for a seed.

**Layout** (:class:`ChannelLayout`, any mode, 2 or more channels): a channel that is all zero is
not restored and comes back all zero; a channel equal (or opposite: ``-x``) to an earlier one,
sample for sample, is not restored and comes back as the exact copy (negation) of that
channel's output. So a file whose channels are identical comes back with identical channels,
bit for bit, whatever the network's batch behaviour, and a silent channel stays silent. The
layout needs the whole input: the in-memory path reads it, :func:`a2sb.stream.restore.restore_file`
scans the file once before restoring (:class:`LayoutScan`). Mono input has no layout: restored as
before.

**Modes** (:class:`StereoMode`), on the channels the layout leaves:

- ``independent``: each channel restored with its own keyed noise (key = channel index), what
  every per-channel wrapper does;
- ``shared-noise``: every channel draws the same keyed noise (key 0) at every step and in the
  fill of X1 (eq. 8): where the channels' known bands agree, so do their generated bands;
- ``mid-side`` (2 channels): mid ``M = (L + R) / 2`` and side ``S = (L - R) / 2`` are restored
  (keys 0 and 1), then ``L = M + S``, ``R = M - S``; the degradation (the cutoff, the gaps)
  applies to M and S alike, as it does to L and R;
- ``mid-side-shared`` (2 channels): mid/side with the same noise (key 0) for M and S;
- ``matched-coherence`` (2 channels): each channel restored with noise shared in part, row by
  row (:class:`a2sb.noise.MixedKey`): the two channels' noise is correlated, in each frequency
  row, as the channels themselves are in the known band next to it
  (:func:`a2sb.band_coherence.row_correlation`: above a bandwidth extension's cutoff, the octave
  below it; in an inpainting's gaps, the same third octave outside them). A near-mono band gets
  (nearly) shared noise, a wide one (nearly) independent noise. It needs the input's cross
  spectrum before sampling: the in-memory path measures it, :func:`a2sb.stream.restore.restore_file`
  in its scan.

The inpainting splice (the input's samples outside the gaps, :mod:`a2sb.splice`) is done on the
output channels against the input channels, after the plan's inverse, so kept samples stay bit
for bit in every mode.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from .errors import InputError
from .noise import SHARED_KEY, MixedKey, NoiseKey


class StereoMode(StrEnum):
    """How the channels of a multi-channel input are restored (see the module docstring)."""

    INDEPENDENT = "independent"
    SHARED_NOISE = "shared-noise"
    MID_SIDE = "mid-side"
    MID_SIDE_SHARED = "mid-side-shared"
    MATCHED_COHERENCE = "matched-coherence"

    @property
    def mid_side(self) -> bool:
        return self in (StereoMode.MID_SIDE, StereoMode.MID_SIDE_SHARED)

    @property
    def shared(self) -> bool:
        return self in (StereoMode.SHARED_NOISE, StereoMode.MID_SIDE_SHARED)

    @property
    def pairs_only(self) -> bool:
        """The mode is defined for 2 channels only."""
        return self.mid_side or self is StereoMode.MATCHED_COHERENCE

    @classmethod
    def parse(cls, value: StereoMode | str | None, channels: int) -> StereoMode:
        """``value`` checked against ``channels``; None or "auto": :data:`DEFAULT_STEREO_MODE` for
        2 channels, ``independent`` otherwise (mono: every mode restores the same)."""
        if value is None or str(value) == "auto":
            return DEFAULT_STEREO_MODE if channels == 2 else cls.INDEPENDENT
        try:
            mode = cls(value)
        except ValueError:
            known = ", ".join(m.value for m in cls)
            raise InputError(f"unknown stereo mode {value!r} (known: auto, {known})") from None
        if mode.pairs_only and channels > 2:
            raise InputError(f"stereo mode {mode.value} needs 2 channels, the input has {channels}")
        return mode


#: The mode of 2-channel input when none is given (README "Stereo": chosen by
#: benchmarks/bench_stereo.py).
DEFAULT_STEREO_MODE = StereoMode.MATCHED_COHERENCE


@dataclass(frozen=True)
class ChannelLayout:
    """Per channel: ``silent[k]`` (all zero), or ``same_as[k] = (j, sign)`` with ``j < k``: channel
    ``k`` equals ``sign`` times channel ``j`` sample for sample (``j`` itself restored); else
    ``None``: channel ``k`` is restored."""

    silent: tuple[bool, ...]
    same_as: tuple[tuple[int, int] | None, ...]

    @classmethod
    def distinct(cls, channels: int) -> ChannelLayout:
        """Every channel restored (what a one-pass stream assumes when given no layout)."""
        return cls((False,) * channels, (None,) * channels)

    @classmethod
    def of(cls, audio: np.ndarray) -> ChannelLayout:
        """The layout of ``audio`` ``[C, L]`` (mono: restored as it is)."""
        scan = LayoutScan(audio.shape[0])
        scan.update(audio)
        return scan.layout()

    @property
    def channels(self) -> int:
        return len(self.silent)

    @property
    def restored(self) -> tuple[int, ...]:
        """The channels the sampler restores, in order."""
        return tuple(
            k for k in range(self.channels) if not self.silent[k] and self.same_as[k] is None
        )


class LayoutScan:
    """:class:`ChannelLayout` of a signal given block by block ``[C, n]`` (one pass, no buffer)."""

    def __init__(self, channels: int):
        self.channels = channels
        self.nonzero = [False] * channels
        pairs = [(j, k) for k in range(channels) for j in range(k)]
        self.equal = dict.fromkeys(pairs, True)
        self.opposite = dict.fromkeys(pairs, True)

    def update(self, block: np.ndarray) -> None:
        if self.channels < 2:
            return
        for k in range(self.channels):
            self.nonzero[k] = self.nonzero[k] or bool(np.any(block[k] != 0))
        for j, k in self.equal:
            if self.equal[j, k]:
                self.equal[j, k] = bool(np.array_equal(block[j], block[k]))
            if self.opposite[j, k]:
                self.opposite[j, k] = bool(np.array_equal(block[j], -block[k]))

    def layout(self) -> ChannelLayout:
        if self.channels < 2:
            return ChannelLayout.distinct(self.channels)
        silent = tuple(not nz for nz in self.nonzero)
        same_as: list[tuple[int, int] | None] = []
        for k in range(self.channels):
            match = None
            if not silent[k]:
                for j in range(k):  # the first restored channel it repeats
                    if silent[j] or same_as[j] is not None:
                        continue
                    if self.equal[j, k]:
                        match = (j, 1)
                    elif self.opposite[j, k]:
                        match = (j, -1)
                    if match:
                        break
            same_as.append(match)
        return ChannelLayout(silent, tuple(same_as))


def scan_layout(blocks: Iterable[np.ndarray], channels: int) -> ChannelLayout:
    """The layout of a signal read block by block ``[C, n]``."""
    scan = LayoutScan(channels)
    for block in blocks:
        scan.update(block)
    return scan.layout()


def needs_row_correlation(mode: StereoMode | str | None, layout: ChannelLayout) -> bool:
    """Whether :meth:`StereoPlan.build` needs the input's band correlation: ``matched-coherence``
    with two channels to restore."""
    parsed = StereoMode.parse(mode, layout.channels)
    return parsed is StereoMode.MATCHED_COHERENCE and len(layout.restored) == 2


@dataclass(frozen=True)
class StereoPlan:
    """What the sampler restores (``voices`` ``[V]``, each with its noise ``keys``) from the input
    channels ``[C]`` (:meth:`forward`), and how the output channels come back (:meth:`inverse`)."""

    mode: StereoMode
    layout: ChannelLayout
    keys: tuple[NoiseKey, ...]  # the noise key (a2sb.noise) of each voice
    mid_side: bool  # the two voices are the mid and side of the two restored channels

    @classmethod
    def build(
        cls,
        mode: StereoMode | str | None,
        layout: ChannelLayout,
        row_correlation: tuple[float, ...] | None = None,
    ) -> StereoPlan:
        """``row_correlation``: ``matched-coherence``'s noise correlation per representation row
        (:func:`a2sb.band_coherence.row_correlation`), needed when that mode restores 2 channels."""
        mode = StereoMode.parse(mode, layout.channels)
        restored = layout.restored
        mid_side = mode.mid_side and len(restored) == 2
        keys: tuple[NoiseKey, ...]
        if mode.shared:
            keys = (0,) * len(restored)
        elif mid_side:
            keys = (0, 1)
        elif mode is StereoMode.MATCHED_COHERENCE and len(restored) == 2:
            if row_correlation is None:
                raise InputError(
                    "stereo mode matched-coherence needs the input's band correlation "
                    "(a2sb.band_coherence) before sampling"
                )
            weights = tuple(float(w) for w in row_correlation)
            keys = tuple(MixedKey(k, SHARED_KEY, weights) for k in restored)
        else:
            keys = restored
        return cls(mode, layout, keys, mid_side)

    @property
    def voices(self) -> int:
        return len(self.keys)

    def forward(self, block: np.ndarray) -> np.ndarray:
        """The voices ``[V, n]`` float32 of input channels ``[C, n]`` (sample by sample)."""
        x = np.asarray(block, dtype=np.float32)
        picked = x[list(self.layout.restored)]
        if not self.mid_side:
            return picked
        a, b = picked.astype(np.float64)
        return np.stack([(a + b) / 2, (a - b) / 2]).astype(np.float32)

    def inverse(self, voices: np.ndarray) -> np.ndarray:
        """Output channels ``[C, n]`` float32 of the restored voices ``[V, n]``."""
        v = np.asarray(voices, dtype=np.float32)
        if self.mid_side:
            m, s = v.astype(np.float64)
            v = np.stack([m + s, m - s]).astype(np.float32)
        layout = self.layout
        out = np.zeros((layout.channels, v.shape[-1]), dtype=np.float32)
        slot = {k: i for i, k in enumerate(layout.restored)}
        for k in range(layout.channels):
            if k in slot:
                out[k] = v[slot[k]]
            elif layout.same_as[k] is not None:
                j, sign = layout.same_as[k]  # type: ignore[misc]
                out[k] = v[slot[j]] if sign > 0 else -v[slot[j]]
        return out


__all__ = [
    "DEFAULT_STEREO_MODE",
    "ChannelLayout",
    "LayoutScan",
    "StereoMode",
    "StereoPlan",
    "needs_row_correlation",
    "scan_layout",
]
