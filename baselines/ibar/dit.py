"""A diffusion transformer (DiT) over log-mel patches, conditioned by adaLN-Zero.

Peebles & Xie, "Scalable Diffusion Models with Transformers" (ICCV 2023), written for this
project from the paper: the input ``[B, C_in, M, F]`` (here the noisy mel and the degraded input's
mel, channel-concatenated) is cut into non-overlapping ``patch_mels x patch_frames`` patches,
linearly embedded (a strided convolution) and given fixed 2-D sine-cosine positions; each block is
pre-LayerNorm self-attention and MLP whose LayerNorm shift/scale and residual gates come from the
conditioning vector (timestep embedding + text embedding) through a zero-initialised linear map
("adaLN-Zero": every block starts as the identity); a final adaLN + zero-initialised linear layer
maps each token back to its patch ("unpatchify").

The A2SB paper calls IBAR's network "an optimized diffusion transformer architecture (Peebles &
Xie, 2023) similar to Lee et al. (2024)" and gives no further detail; we use the plain DiT above.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def sincos_1d(dim: int, positions: torch.Tensor) -> torch.Tensor:
    """``[N]`` positions -> ``[N, dim]`` sine-cosine features (``dim`` even)."""
    freqs = torch.exp(-math.log(10000.0) * torch.arange(dim // 2, dtype=torch.float64) / (dim // 2))
    angles = positions.double()[:, None] * freqs[None]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1).float()


def sincos_2d(dim: int, rows: int, cols: int) -> torch.Tensor:
    """Fixed 2-D positions ``[rows * cols, dim]`` (row-major), half the features per axis."""
    r = torch.arange(rows).repeat_interleave(cols)
    c = torch.arange(cols).repeat(rows)
    return torch.cat([sincos_1d(dim // 2, r), sincos_1d(dim // 2, c)], dim=1)


def timestep_features(t: torch.Tensor, dim: int = 256) -> torch.Tensor:
    """``[B]`` flow times in [0, 1] -> ``[B, dim]`` sinusoidal features (of ``1000 t``)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)
    angles = (t.float() * 1000.0)[:, None] * freqs[None]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class SelfAttention(nn.Module):
    """Multi-head self-attention ``[B, N, D] -> [B, N, D]`` (optional key padding mask)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """``x [B, N, D]``; ``keep [B, N]`` bool (True: a real token) or None."""
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        mask = None if keep is None else keep[:, None, None, :]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    """``Linear -> GELU(tanh) -> Linear``, ``[..., D] -> [..., D]``."""

    def __init__(self, dim: int, ratio: float) -> None:
        super().__init__()
        hidden = int(dim * ratio)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``x [B, N, D]`` shifted and scaled per item (``[B, D]``)."""
    return x * (1 + scale[:, None]) + shift[:, None]


class DiTBlock(nn.Module):
    """One adaLN-Zero transformer block, ``x [B, N, D], c [B, D] -> [B, N, D]``."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attn = SelfAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(dim, mlp_ratio)
        self.ada = nn.Linear(dim, 6 * dim)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        s1, sc1, g1, s2, sc2, g2 = self.ada(F.silu(c)).chunk(6, dim=1)
        x = x + g1[:, None] * self.attn(modulate(self.norm1(x), s1, sc1))
        return x + g2[:, None] * self.mlp(modulate(self.norm2(x), s2, sc2))


class DiT(nn.Module):
    """DiT over ``[B, in_channels, n_mels, frames]`` -> ``[B, out_channels, n_mels, frames]``.

    ``forward(x, t, c)``: ``x`` the stacked input, ``t [B]`` flow times, ``c [B, cond_dim]`` the
    text embedding. ``frames`` must be a multiple of ``patch_frames`` (positions are computed for
    the grid met, so segments of another length run too).
    """

    def __init__(
        self,
        n_mels: int,
        patch_mels: int,
        patch_frames: int,
        hidden: int,
        depth: int,
        heads: int,
        mlp_ratio: float,
        cond_dim: int,
        in_channels: int = 2,
        out_channels: int = 1,
    ) -> None:
        super().__init__()
        self.n_mels, self.pm, self.pf = n_mels, patch_mels, patch_frames
        self.hidden, self.out_channels = hidden, out_channels
        self.patch = nn.Conv2d(
            in_channels, hidden, (patch_mels, patch_frames), stride=(patch_mels, patch_frames)
        )
        self.t_embed = nn.Sequential(nn.Linear(256, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.c_embed = nn.Sequential(
            nn.Linear(cond_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden)
        )
        self.blocks = nn.ModuleList(DiTBlock(hidden, heads, mlp_ratio) for _ in range(depth))
        self.final_norm = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.final_ada = nn.Linear(hidden, 2 * hidden)
        self.final = nn.Linear(hidden, patch_mels * patch_frames * out_channels)
        self._pos: dict[tuple[int, int, str], torch.Tensor] = {}
        self._init()

    def _init(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        w = self.patch.weight
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        nn.init.zeros_(self.patch.bias)
        for seq in (self.t_embed, self.c_embed):
            nn.init.normal_(seq[0].weight, std=0.02)
            nn.init.normal_(seq[2].weight, std=0.02)
        for block in self.blocks:  # adaLN-Zero: every block starts as the identity
            nn.init.zeros_(block.ada.weight)
            nn.init.zeros_(block.ada.bias)
        for layer in (self.final_ada, self.final):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def positions(self, rows: int, cols: int, device: torch.device) -> torch.Tensor:
        """Cached ``[rows * cols, hidden]`` fixed positions."""
        key = (rows, cols, str(device))
        if key not in self._pos:
            self._pos[key] = sincos_2d(self.hidden, rows, cols).to(device)
        return self._pos[key]

    def forward(self, x: torch.Tensor, t: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        b, _, m, f = x.shape
        if m != self.n_mels or f % self.pf:
            raise ValueError(
                f"DiT input {tuple(x.shape)}: need {self.n_mels} mels, frames % {self.pf}"
            )
        rows, cols = m // self.pm, f // self.pf
        h = self.patch(x).flatten(2).transpose(1, 2)  # [B, rows * cols, D]
        h = h + self.positions(rows, cols, x.device).to(h.dtype)
        cond = self.t_embed(timestep_features(t)) + self.c_embed(c)  # [B, D]
        for block in self.blocks:
            h = block(h, cond)
        shift, scale = self.final_ada(F.silu(cond)).chunk(2, dim=1)
        h = self.final(modulate(self.final_norm(h), shift, scale))  # [B, N, pm * pf * C]
        h = h.view(b, rows, cols, self.out_channels, self.pm, self.pf)
        return h.permute(0, 3, 1, 4, 2, 5).reshape(b, self.out_channels, m, f)
