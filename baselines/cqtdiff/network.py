"""The CQTDiff network: a U-Net over the octaves of an invertible CQT (:mod:`.cqt`).

As in CQTDiff (Moliner et al. 2023, Fig. 1), the waveform is transformed inside the model, the
network works on real and imaginary parts as two channels with 2-D convolutions over (frequency
bins, time frames), dilated along frequency so that the receptive field spans octaves (pitch
shifts are translations on the log-frequency axis), residual blocks are FiLM-modulated by an
embedding of the noise level, and the output goes back through the exact inverse transform.

Our octave U-Net (in the spirit of the octave-rasterised CQT of the CQTDiff authors' later
code; the layout is ours): encoder level ``j`` (``j = 0`` the top octave) takes the coefficients
of octave ``j`` (``[B, 2, R_j, M_j]``), projects them to ``C_j`` channels and stacks them, along
frequency, below the time-downsampled features of level ``j - 1``, so level ``j`` sees octaves
``0 .. j`` at octave ``j``'s time resolution; the decoder mirrors it, each level emitting its
octave's coefficients from the bottom rows and passing the rest up. ``depth`` = number of octaves;
``channels`` has ``depth + 1`` entries (the last one for the middle blocks).

Shapes: ``forward(x [B, L], c_noise [B]) -> [B, L]`` with ``L`` a multiple of the layout quantum.
Convolutions zero-pad both axes (the transform itself treats a segment as periodic; segment edges
are cross-faded or lie in known audio at restoration).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .cqt import CQTLayout, nsgt_for


def _groups(channels: int) -> int:
    for g in (8, 4, 2):
        if channels % g == 0 and channels // g >= 2:
            return g
    return 1


class NoiseEmbedding(nn.Module):
    """``c_noise [B] -> [B, dim]``: sinusoids at log-spaced frequencies, then a 2-layer MLP."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        half = dim // 2
        self.register_buffer(
            "freqs", torch.exp(torch.linspace(0.0, math.log(200.0), half)), persistent=False
        )
        self.mlp = nn.Sequential(
            nn.Linear(2 * half, dim), nn.SiLU(), nn.Linear(dim, dim), nn.SiLU()
        )

    def forward(self, c_noise: torch.Tensor) -> torch.Tensor:
        arg = c_noise[:, None].float() * self.freqs[None]
        return self.mlp(torch.cat([torch.sin(arg), torch.cos(arg)], dim=-1))


class ResBlock(nn.Module):
    """Residual layers ``h += conv_d(SiLU(FiLM(GroupNorm(h), emb)))`` for each dilation ``d``.

    Conv kernel (3 frequency x 3 time), dilation ``(d, 1)``; a 1x1 conv adapts ``c_in -> c_out``.
    """

    def __init__(self, c_in: int, c_out: int, emb_dim: int, dilations: Sequence[int]) -> None:
        super().__init__()
        self.proj = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        self.dilations = tuple(int(d) for d in dilations)
        self.norms = nn.ModuleList(nn.GroupNorm(_groups(c_out), c_out) for _ in self.dilations)
        self.films = nn.ModuleList(nn.Linear(emb_dim, 2 * c_out) for _ in self.dilations)
        self.convs = nn.ModuleList(
            nn.Conv2d(c_out, c_out, 3, padding=(d, 1), dilation=(d, 1)) for d in self.dilations
        )
        for film in self.films:
            nn.init.zeros_(film.weight)
            nn.init.zeros_(film.bias)
        for conv in self.convs:  # each residual branch starts near zero
            conv.weight.data.mul_(0.1)
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.proj(x)
        for norm, film, conv in zip(self.norms, self.films, self.convs):
            scale, shift = film(emb)[:, :, None, None].chunk(2, dim=1)
            u = F.silu(norm(h) * (1 + scale) + shift)
            h = h + conv(u)
        return h


class OctaveUNet(nn.Module):
    """U-Net on the octave coefficient pyramid (see the module docstring)."""

    def __init__(
        self,
        rows: Sequence[int],
        strides: Sequence[int],
        channels: Sequence[int],
        emb_dim: int,
        dilations: Sequence[int],
        blocks: int = 1,
    ) -> None:
        super().__init__()
        depth = len(rows)
        if len(channels) != depth + 1:
            raise ValueError(f"channels needs depth + 1 = {depth + 1} entries, got {len(channels)}")
        self.rows, self.strides = tuple(rows), tuple(strides)
        c = list(channels)
        self.embed = NoiseEmbedding(emb_dim)
        self.inp = nn.ModuleList(nn.Conv2d(2, c[j], 1) for j in range(depth))
        self.down = nn.ModuleList(
            nn.Identity() if j == 0 else nn.Conv2d(c[j - 1], c[j], (1, s), stride=(1, s))
            for j, s in enumerate(self.strides)
        )
        self.enc = nn.ModuleList(
            nn.ModuleList(ResBlock(c[j], c[j], emb_dim, dilations) for _ in range(blocks))
            for j in range(depth)
        )
        self.mid = nn.ModuleList(
            [
                ResBlock(c[depth - 1], c[depth], emb_dim, dilations),
                ResBlock(c[depth], c[depth - 1], emb_dim, dilations),
            ]
        )
        self.dec = nn.ModuleList(
            nn.ModuleList(
                ResBlock(2 * c[j] if b == 0 else c[j], c[j], emb_dim, dilations)
                for b in range(blocks)
            )
            for j in range(depth)
        )
        self.out = nn.ModuleList(nn.Conv2d(c[j], 2, 1) for j in range(depth))
        self.up = nn.ModuleList(
            nn.Identity() if j == 0 else nn.ConvTranspose2d(c[j], c[j - 1], (1, s), stride=(1, s))
            for j, s in enumerate(self.strides)
        )

    def forward(self, octaves: list[torch.Tensor], c_noise: torch.Tensor) -> list[torch.Tensor]:
        """``octaves[j]``: ``[B, 2, R_j, M_j]`` real -> same shapes."""
        emb = self.embed(c_noise)
        skips, h = [], None
        for j, coef in enumerate(octaves):
            new = self.inp[j](coef)
            h = new if h is None else torch.cat([new, self.down[j](h)], dim=2)
            for block in self.enc[j]:
                h = block(h, emb)
            skips.append(h)
        for block in self.mid:
            h = block(h, emb)
        outs: list[torch.Tensor] = [None] * len(octaves)  # type: ignore[list-item]
        for j in reversed(range(len(octaves))):
            h = torch.cat([h, skips[j]], dim=1)
            for block in self.dec[j]:
                h = block(h, emb)
            r = self.rows[j]
            outs[j] = self.out[j](h[:, :, :r])
            h = self.up[j](h[:, :, r:])
        return outs


class CQTDiffNet(nn.Module):
    """``F(x [B, L], c_noise [B]) -> [B, L]``: CQT, octave U-Net, inverse CQT."""

    def __init__(
        self,
        sample_rate: int,
        bins_per_octave: int,
        depth: int,
        channels: Sequence[int],
        emb_dim: int = 64,
        dilations: Sequence[int] = (1, 2, 4),
        blocks: int = 1,
    ) -> None:
        super().__init__()
        self.layout = CQTLayout(sample_rate, bins_per_octave, depth)
        hops = self.layout.hops
        strides = [1] + [hops[j] // hops[j - 1] for j in range(1, depth)]
        self.unet = OctaveUNet(self.layout.rows, strides, channels, emb_dim, dilations, blocks)

    def forward(self, x: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
        nsgt = nsgt_for(self.layout, x.shape[-1], x.device)
        coefs = nsgt(x)
        real = [torch.stack([c.real, c.imag], dim=1) for c in coefs]
        outs = self.unet(real, c_noise)
        return nsgt.inverse([torch.complex(o[:, 0], o[:, 1]) for o in outs])


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def build_network(config: dict) -> CQTDiffNet:
    """The network of a resolved config (:func:`baselines.cqtdiff.config.full_config`)."""
    m = config["model"]
    return CQTDiffNet(
        int(config["sample_rate"]),
        int(m["bins_per_octave"]),
        int(m["depth"]),
        [int(c) for c in m["channels"]],
        emb_dim=int(m["emb_dim"]),
        dilations=[int(d) for d in m["dilations"]],
        blocks=int(m["blocks"]),
    )
