"""Building blocks of the A2SB UNet (SPEC 5; paper 3.4). State-dict names follow the released
checkpoints (``reference/official_a2sb_state_dict.tsv``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .rope import RotaryFreqs, apply_rope


class GroupNorm32(nn.GroupNorm):
    """GroupNorm computed in (at least) float32, output cast back to the input's dtype.

    Input and affine parameters are promoted together, so bf16 autocast, a bf16 model and a
    float64 model all work.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = torch.promote_types(x.dtype, torch.float32)
        weight = self.weight.to(dtype) if self.weight is not None else None
        bias = self.bias.to(dtype) if self.bias is not None else None
        y = F.group_norm(x.to(dtype), self.num_groups, weight, bias, self.eps)
        return y.to(x.dtype)


class ResBlock(nn.Module):
    """Residual block with scale-shift conditioning. ``x [B, C, H, W], cond [B, E, H, 1|W] -> [B, C, H, W]``.

    ``h = Conv3x3(SiLU(GN(x)))``; ``(scale, shift) = chunk(Conv1x1(SiLU(cond)), 2)``;
    ``h = GN(h) (1 + scale) + shift``; ``return x + Conv3x3_zero(Dropout(SiLU(h)))``.
    """

    def __init__(self, channels: int, cond_channels: int, dropout: float, norm_groups: int) -> None:
        super().__init__()
        self.in_layers = nn.Sequential(
            GroupNorm32(norm_groups, channels),
            nn.SiLU(),
            nn.Conv2d(channels, channels, 3, padding=1),
        )
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Conv2d(cond_channels, 2 * channels, 1))
        self.out_norm = GroupNorm32(norm_groups, channels)
        self.out_rest = nn.Sequential(
            nn.SiLU(), nn.Dropout(dropout), nn.Conv2d(channels, channels, 3, padding=1)
        )
        nn.init.zeros_(self.out_rest[2].weight)
        nn.init.zeros_(self.out_rest[2].bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.in_layers(x)
        # cond is [B, E, H, 1]: the 1x1 conv runs on one column and broadcasts over the frames.
        scale, shift = self.emb_layers(cond).chunk(2, dim=1)
        h = torch.addcmul(shift, self.out_norm(h), 1 + scale)
        h = self.out_rest(h)
        if h.dtype != x.dtype:  # e.g. a float32 input under bf16 autocast: promote as x + h would
            return x + h
        return h.add_(x)  # h is the fresh output of a conv: adding in place is autograd-safe


class AttentionBlock(nn.Module):
    """Multi-head self-attention over all ``H * W`` positions with 2-D axial RoPE on q and k.

    ``x [B, C, H, W] -> [B, C, H, W]``: ``x = GN(x)``; q, k, v = 1x1 convs; heads split as
    ``C = (heads, head_dim)``; RoPE on the first ``4 F`` dims of each head of q and k; scaled
    dot-product attention. No output projection and no residual: the block returns the attention
    output itself (official behaviour).
    """

    def __init__(self, channels: int, num_heads: int, rope_freqs: int, norm_groups: int) -> None:
        super().__init__()
        if channels % num_heads:
            raise ValueError(f"width {channels} is not divisible by num_heads {num_heads}")
        head_dim = channels // num_heads
        if 4 * rope_freqs > head_dim:
            raise ValueError(
                f"rope covers 4 * rope_freqs_per_axis = {4 * rope_freqs} dims but the head dim "
                f"is {head_dim} (width {channels} / {num_heads} heads)"
            )
        self.num_heads = num_heads
        self.gnorm = GroupNorm32(norm_groups, channels)
        self.q_proj = nn.Conv2d(channels, channels, 1)
        self.k_proj = nn.Conv2d(channels, channels, 1)
        self.v_proj = nn.Conv2d(channels, channels, 1)
        self.pos_emb = RotaryFreqs(rope_freqs)

    def _heads(self, y: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W] -> [B, heads, H * W, head_dim]``."""
        b, c, h, w = y.shape
        return y.reshape(b, self.num_heads, c // self.num_heads, h * w).transpose(-1, -2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, height, width = x.shape
        x = self.gnorm(x)
        angles = self.pos_emb.angles(height, width)
        q = apply_rope(self._heads(self.q_proj(x)), angles)
        k = apply_rope(self._heads(self.k_proj(x)), angles)
        v = self._heads(self.v_proj(x))
        out = F.scaled_dot_product_attention(q, k, v)  # [B, heads, H * W, head_dim]
        return out.transpose(-1, -2).reshape(b, c, height, width)


class Downsample(nn.Module):
    """Conv3x3 with stride 2: ``[B, C_in, H, W] -> [B, C_out, H / 2, W / 2]``."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.op = nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Upsample(nn.Module):
    """Nearest x2 then Conv3x3: ``[B, C_in, H, W] -> [B, C_out, 2 H, 2 W]``."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))
