"""BigVGAN-v1's discriminators: multi-period (HiFi-GAN) and multi-resolution STFT (UnivNet).

- :class:`PeriodDiscriminator`: the waveform folded to ``[B, 1, L / p, p]`` (reflect-padded to a
  multiple of ``p``), five Conv2d(kernel (5, 1), stride (3, 1)) layers with leaky ReLU 0.1, then
  a Conv2d(kernel (3, 1)) to one channel. Channels ``[32, 128, 512, 1024, 1024] * mult``.
- :class:`ResolutionDiscriminator`: the magnitude STFT ``[B, 1, frames, bins]`` of one
  ``(n_fft, hop, win)``, Conv2d (3, 9), three Conv2d (3, 9) stride (1, 2), Conv2d (3, 3), all
  ``channels`` wide with leaky ReLU 0.1, then a Conv2d (3, 3) to one channel.

Weight normalisation throughout. BigVGAN-v2 replaced the STFT discriminator by a multi-scale
sub-band CQT discriminator; we keep v1's (documented deviation: cheaper, no CQT code).
Each ``forward(x [B, L])`` returns ``(logits, features)``: lists over sub-discriminators.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import weight_norm


class PeriodDiscriminator(nn.Module):
    """HiFi-GAN's period discriminator for period ``p``."""

    def __init__(self, period: int, mult: float = 1.0) -> None:
        super().__init__()
        self.period = period
        widths = [max(1, int(c * mult)) for c in (32, 128, 512, 1024, 1024)]
        layers, c_in = [], 1
        for i, c in enumerate(widths):
            stride = (3, 1) if i < 4 else (1, 1)
            layers.append(weight_norm(nn.Conv2d(c_in, c, (5, 1), stride, padding=(2, 0))))
            c_in = c
        self.layers = nn.ModuleList(layers)
        self.out = weight_norm(nn.Conv2d(c_in, 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        b, n = x.shape
        if n % self.period:
            x = F.pad(x, (0, self.period - n % self.period), mode="reflect")
        h = x.view(b, 1, -1, self.period)
        features = []
        for layer in self.layers:
            h = F.leaky_relu(layer(h), 0.1)
            features.append(h)
        h = self.out(h)
        features.append(h)
        return h.flatten(1), features


class ResolutionDiscriminator(nn.Module):
    """UnivNet's spectrogram discriminator for one STFT resolution."""

    def __init__(self, n_fft: int, hop: int, win: int, channels: int = 32) -> None:
        super().__init__()
        self.n_fft, self.hop, self.win = n_fft, hop, win
        c = channels
        self.layers = nn.ModuleList(
            [
                weight_norm(nn.Conv2d(1, c, (3, 9), padding=(1, 4))),
                weight_norm(nn.Conv2d(c, c, (3, 9), stride=(1, 2), padding=(1, 4))),
                weight_norm(nn.Conv2d(c, c, (3, 9), stride=(1, 2), padding=(1, 4))),
                weight_norm(nn.Conv2d(c, c, (3, 9), stride=(1, 2), padding=(1, 4))),
                weight_norm(nn.Conv2d(c, c, (3, 3), padding=(1, 1))),
            ]
        )
        self.out = weight_norm(nn.Conv2d(c, 1, (3, 3), padding=(1, 1)))

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        window = torch.hann_window(self.win, device=x.device, dtype=x.dtype)
        spec = torch.stft(
            x, self.n_fft, self.hop, self.win, window, center=True, return_complex=True
        )
        h = spec.abs().transpose(1, 2).unsqueeze(1)  # [B, 1, frames, bins]
        features = []
        for layer in self.layers:
            h = F.leaky_relu(layer(h), 0.1)
            features.append(h)
        h = self.out(h)
        features.append(h)
        return h.flatten(1), features


class Discriminators(nn.Module):
    """All sub-discriminators; ``forward(x) -> (logits list, features list of lists)``."""

    def __init__(
        self,
        periods: Sequence[int],
        resolutions: Sequence[Sequence[int]],
        period_mult: float = 1.0,
        resolution_channels: int = 32,
    ) -> None:
        super().__init__()
        subs: list[nn.Module] = [PeriodDiscriminator(int(p), period_mult) for p in periods]
        subs += [ResolutionDiscriminator(*map(int, r), resolution_channels) for r in resolutions]  # type: ignore[misc]
        if not subs:
            raise ValueError("discriminator: need at least one period or resolution")
        self.subs = nn.ModuleList(subs)

    def forward(self, x: Tensor) -> tuple[list[Tensor], list[list[Tensor]]]:
        logits, features = [], []
        for sub in self.subs:
            logit, feats = sub(x)
            logits.append(logit)
            features.append(feats)
        return logits, features
