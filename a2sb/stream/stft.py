"""The centred STFT and its inverse block by block (SPEC 1), equal to
:func:`a2sb.representation.encode` / :func:`~a2sb.representation.decode` on the whole signal.

:class:`StreamEncoder` takes samples ``[K, n]`` as they are read and returns the frames they
complete: the signal is reflect-padded by ``n_fft / 2`` at both ends as ``torch.stft(center=True)``
pads it (the end once the last block is in). :class:`StreamDecoder` takes representation frames
in order and returns the samples no later frame overlaps: windowed inverse FFTs overlap-added and
divided by the summed squared window, as ``torch.istft`` computes them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..representation import Kind, STFTConfig, rep_to_spec, spec_to_rep


def _hann(cfg: STFTConfig) -> torch.Tensor:
    """The analysis / synthesis window, centred in ``n_fft`` as torch.stft pads it."""
    win = torch.hann_window(cfg.win_length, periodic=True)
    left = (cfg.n_fft - cfg.win_length) // 2
    return F.pad(win, (left, cfg.n_fft - cfg.win_length - left))


class StreamEncoder:
    """Samples in, representation frames (and the dropped DC row) out, for a signal of
    ``length`` samples (> n_fft / 2) and ``K`` channels."""

    def __init__(self, cfg: STFTConfig, kind: Kind, length: int, channels: int):
        half = cfg.n_fft // 2
        if length <= half:
            raise ValueError(f"a signal of {length} samples is too short for n_fft {cfg.n_fft}")
        self.cfg, self.kind, self.length, self.channels = cfg, kind, length, channels
        self.n_frames = length // cfg.hop_length + 1
        self.window = _hann(cfg)
        self.read = 0  # samples pushed
        self.frame = 0  # frames returned
        self.base = 0  # padded position of self.buf[..., 0]
        self.buf = torch.zeros(channels, 0)
        # the first half + 1 samples, until the left reflection is made
        self.head: torch.Tensor | None = None

    def push(self, samples: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Samples ``[K, n]`` (float32) in; ``(rep [K, C, N, f], dc [K, f] complex)`` out."""
        half = self.cfg.n_fft // 2
        self.read += samples.shape[-1]
        if self.read > self.length:
            raise ValueError(f"read {self.read} samples, more than the {self.length} announced")
        if self.head is not None or self.frame == 0 and self.buf.shape[-1] == 0:
            self.head = samples if self.head is None else torch.cat([self.head, samples], -1)
            if self.head.shape[-1] < half + 1 and self.read < self.length:
                return self._frames(0)
            left = self.head[:, 1 : half + 1].flip(-1)  # reflect: x[half], ..., x[1]
            samples, self.head = torch.cat([left, self.head], -1), None
        self.buf = torch.cat([self.buf, samples], -1)
        if self.read == self.length:
            tail = self.buf[:, -(half + 1) : -1].flip(-1)  # x[L - 2], x[L - 3], ...
            self.buf = torch.cat([self.buf, tail], -1)
            return self._frames(self.n_frames)
        end = self.base + self.buf.shape[-1]  # padded samples held
        ready = max(0, (end - self.cfg.n_fft) // self.cfg.hop_length + 1)
        return self._frames(min(ready, self.n_frames))

    def _frames(self, stop: int) -> tuple[torch.Tensor, torch.Tensor]:
        cfg, hop = self.cfg, self.cfg.hop_length
        if stop <= self.frame:
            rows = cfg.n_fft // 2
            empty = torch.zeros(self.channels, 3 if self.kind == "factorized" else 2, rows, 0)
            return empty, torch.zeros(self.channels, 0, dtype=torch.complex64)
        a = self.frame * hop - self.base
        b = (stop - 1) * hop + cfg.n_fft - self.base
        spec = torch.stft(
            self.buf[:, a:b],
            n_fft=cfg.n_fft,
            hop_length=hop,
            win_length=cfg.win_length,
            window=torch.hann_window(cfg.win_length, periodic=True),
            center=False,
            normalized=False,
            onesided=True,
            return_complex=True,
        )
        self.frame = stop
        drop = stop * hop - self.base  # samples no later frame reads
        self.buf, self.base = self.buf[:, drop:].clone(), self.base + drop
        return spec_to_rep(spec, cfg, self.kind), spec[:, 0, :]


class StreamDecoder:
    """Representation frames in order, samples out, for a signal of ``length`` samples."""

    def __init__(self, cfg: STFTConfig, kind: Kind, length: int, channels: int):
        self.cfg, self.kind, self.length = cfg, kind, length
        self.n_frames = length // cfg.hop_length + 1
        self.window = _hann(cfg)
        self.frame = 0  # frames taken
        self.base = 0  # padded position of self.sum[..., 0]
        self.sum = torch.zeros(channels, 0)
        self.env = torch.zeros(0)
        self.emitted = 0  # samples returned

    def push(self, rep: torch.Tensor, dc: torch.Tensor | None) -> torch.Tensor:
        """Frames ``rep [K, C, N, f]`` with their DC row ``dc [K, f]`` (None: zeros) in; the
        samples ``[K, n]`` they complete out (all remaining ones after the last frame)."""
        cfg, hop, n_fft = self.cfg, self.cfg.hop_length, self.cfg.n_fft
        count = rep.shape[-1]
        if count:
            spec = rep_to_spec(rep, cfg, self.kind, dc)  # [K, N + 1, f]
            frames = torch.fft.irfft(spec, n=n_fft, dim=-2) * self.window[:, None]
            span = (count - 1) * hop + n_fft
            ola = F.fold(frames, (1, span), (1, n_fft), stride=(1, hop)).reshape(
                frames.shape[0], span
            )
            env = F.fold(
                (self.window**2)[None, :, None].expand(1, n_fft, count),
                (1, span),
                (1, n_fft),
                stride=(1, hop),
            ).reshape(span)
            offset = self.frame * hop - self.base
            grow = offset + span - self.sum.shape[-1]
            if grow > 0:
                self.sum = torch.cat([self.sum, self.sum.new_zeros(self.sum.shape[0], grow)], -1)
                self.env = torch.cat([self.env, self.env.new_zeros(grow)])
            self.sum[:, offset : offset + span] += ola
            self.env[offset : offset + span] += env
            self.frame += count
        if self.frame > self.n_frames:
            raise ValueError(
                f"got {self.frame} frames, more than the {self.n_frames} of the signal"
            )
        half = n_fft // 2
        final = self.length + half if self.frame == self.n_frames else self.frame * hop
        first = max(self.base, self.emitted + half)
        stop = min(final, self.length + half)
        if stop <= first:
            return self.sum.new_zeros(self.sum.shape[0], 0)
        a, b = first - self.base, stop - self.base
        out = self.sum[:, a:b] / self.env[a:b]
        self.emitted += b - a
        self.sum, self.env, self.base = self.sum[:, b:].clone(), self.env[b:].clone(), stop
        return out
