"""An ADM-style diffusion UNet (Dhariwal and Nichol 2021) over ``[B, C, n_mels, frames]``.

Levels with ``channels * mults[i]`` channels, ``res_blocks`` residual blocks each (GroupNorm,
SiLU, 3x3 conv, timestep embedding as a per-channel scale and shift after the second norm,
dropout, zero-initialised 3x3 conv, 1x1 skip when the width changes), self-attention
(``heads`` heads, zero-initialised output projection) after the blocks of the levels listed in
``attention_levels`` (0 = full resolution), a 3x3 stride-2 conv between levels; a middle of
block-attention-block; a mirrored decoder with ``res_blocks + 1`` blocks per level over the
concatenated skips, nearest-neighbour 2x upsampling plus 3x3 conv; GroupNorm, SiLU and a
zero-initialised 3x3 output conv. The timestep (a float in [0, T)) enters through a sinusoidal
embedding of width ``channels`` and a two-layer SiLU MLP to ``4 * channels``. Both spatial sizes
must be divisible by ``2 ** (len(mults) - 1)``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

#: The UNet's ``model`` keys and defaults (the small CPU profile).
UNET_DEFAULTS: dict[str, Any] = {
    "channels": 16,
    "mults": [1, 2, 4, 4],
    "res_blocks": 1,
    "attention_levels": [3],
    "heads": 4,
    "groups": 8,
    "dropout": 0.0,
}


def timestep_embedding(t: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    """``[B]`` float timesteps -> ``[B, dim]`` sinusoidal embedding (cos half, sin half)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    return F.pad(emb, (0, dim % 2))


def _zero(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


class ResBlock(nn.Module):
    """Residual block with scale-shift timestep conditioning; ``[B, c_in, H, W] -> [B, c_out, H, W]``."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, groups: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * c_out)
        self.norm2 = nn.GroupNorm(groups, c_out)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = _zero(nn.Conv2d(c_out, c_out, 3, padding=1))
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(F.silu(emb))[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.dropout(F.silu(h)))
        return self.skip(x) + h


class Attention(nn.Module):
    """Multi-head self-attention over all ``H * W`` positions, residual."""

    def __init__(self, channels: int, heads: int, groups: int) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"attention: {channels} channels are not divisible by {heads} heads")
        self.heads = heads
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Conv1d(channels, 3 * channels, 1)
        self.proj = _zero(nn.Conv1d(channels, channels, 1))

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        qkv = self.qkv(self.norm(x).reshape(b, c, h * w))  # [B, 3C, N]
        q, k, v = qkv.reshape(b, 3, self.heads, c // self.heads, h * w).permute(1, 0, 2, 4, 3)
        out = F.scaled_dot_product_attention(q, k, v)  # [B, heads, N, C / heads]
        out = out.permute(0, 1, 3, 2).reshape(b, c, h * w)
        return x + self.proj(out).reshape(b, c, h, w)


class UNet(nn.Module):
    """``forward(x [B, in_channels, H, W], t [B]) -> [B, out_channels, H, W]``."""

    def __init__(self, in_channels: int, out_channels: int, config: dict[str, Any]) -> None:
        super().__init__()
        ch, mults = int(config["channels"]), [int(m) for m in config["mults"]]
        groups, dropout = int(config["groups"]), float(config["dropout"])
        heads, n_res = int(config["heads"]), int(config["res_blocks"])
        attn = {int(a) for a in config["attention_levels"]}
        widths = [ch * m for m in mults]
        if any(w % groups for w in [ch, *widths]):
            raise ValueError(f"unet: every width {widths} must be divisible by groups={groups}")
        self.factor = 2 ** (len(mults) - 1)
        emb_dim = 4 * ch
        self.emb_channels = ch
        self.time_mlp = nn.Sequential(
            nn.Linear(ch, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim)
        )
        self.input_conv = nn.Conv2d(in_channels, ch, 3, padding=1)

        self.down = nn.ModuleList()
        skips, c = [ch], ch
        for level, width in enumerate(widths):
            for _ in range(n_res):
                layer = nn.ModuleList([ResBlock(c, width, emb_dim, groups, dropout)])
                c = width
                if level in attn:
                    layer.append(Attention(c, heads, groups))
                self.down.append(layer)
                skips.append(c)
            if level < len(widths) - 1:
                self.down.append(nn.ModuleList([nn.Conv2d(c, c, 3, stride=2, padding=1)]))
                skips.append(c)

        self.mid1 = ResBlock(c, c, emb_dim, groups, dropout)
        self.mid_attn = Attention(c, heads, groups)
        self.mid2 = ResBlock(c, c, emb_dim, groups, dropout)

        self.up = nn.ModuleList()
        for level in reversed(range(len(widths))):
            width = widths[level]
            for i in range(n_res + 1):
                layer = nn.ModuleList([ResBlock(c + skips.pop(), width, emb_dim, groups, dropout)])
                c = width
                if level in attn:
                    layer.append(Attention(c, heads, groups))
                if level > 0 and i == n_res:
                    layer.append(nn.Upsample(scale_factor=2, mode="nearest"))
                    layer.append(nn.Conv2d(c, c, 3, padding=1))
                self.up.append(layer)
        self.out_norm = nn.GroupNorm(groups, c)
        self.out_conv = _zero(nn.Conv2d(c, out_channels, 3, padding=1))

    @staticmethod
    def _run(layer: nn.ModuleList, h: Tensor, emb: Tensor) -> Tensor:
        for module in layer:
            h = module(h, emb) if isinstance(module, ResBlock) else module(h)
        return h

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        if x.shape[-2] % self.factor or x.shape[-1] % self.factor:
            raise ValueError(f"unet: input {tuple(x.shape)} not divisible by {self.factor}")
        emb = self.time_mlp(timestep_embedding(t, self.emb_channels))
        h = self.input_conv(x)
        hs = [h]
        for layer in self.down:
            h = self._run(layer, h, emb)
            hs.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb)), emb)
        for layer in self.up:
            h = self._run(layer, torch.cat([h, hs.pop()], dim=1), emb)
        return self.out_conv(F.silu(self.out_norm(h)))
