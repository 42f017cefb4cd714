"""2-D axial rotary position embedding of the attention blocks (SPEC 5).

Layout (that of lucidrains' rotary-embedding-torch ``RotaryEmbedding(dim=2 F, freqs_for="pixel",
max_freq=64).get_axial_freqs(H, W)``, which the released weights were trained with):

- frequencies ``f = linspace(1, 32, F) * pi`` (F = 16 in the paper);
- positions ``linspace(-1, 1, H)`` for rows and ``linspace(-1, 1, W)`` for columns;
- per position an angle vector of ``4 F`` dims = concat(row angles [2 F], column angles [2 F]),
  each axis's ``F`` angles repeated twice, interleaved (``a0 a0 a1 a1 ...``);
- the first ``4 F`` dims of each head are rotated pairwise, ``(x1, x2) -> (x1 cos - x2 sin,
  x2 cos + x1 sin)`` on interleaved pairs ``(x[2i], x[2i+1])``; the other dims pass unchanged.

Since both members of a pair share one angle, the rotation is computed on ``2 F`` angles per
axis without materialising the repeated ``4 F`` vector.
"""

from __future__ import annotations

import math

import torch
from torch import nn

ROPE_MAX_FREQ = (
    64.0  # rotary-embedding-torch "pixel" frequencies: linspace(1, max_freq / 2, F) * pi
)


def pixel_freqs(num_freqs: int) -> torch.Tensor:
    """``linspace(1, 32, F) * pi``: ``[F]``."""
    return torch.linspace(1.0, ROPE_MAX_FREQ / 2, num_freqs) * math.pi


class RotaryFreqs(nn.Module):
    """Holds ``freqs [F]`` as a frozen parameter (state-dict name ``pos_emb.freqs``).

    It is an ``nn.Parameter`` with ``requires_grad=False``, as in rotary-embedding-torch: it
    counts in ``parameters()`` (9 x 16 of the paper model's 565,544,851) but is never trained.
    """

    def __init__(self, num_freqs: int) -> None:
        super().__init__()
        self.freqs = nn.Parameter(pixel_freqs(num_freqs), requires_grad=False)

    def angles(self, height: int, width: int) -> torch.Tensor:
        """Angle of each rotated pair: ``[H * W, 2 F]`` = concat(row angles [F], column angles [F]).

        Computed in float32 (as the reference computes them in the parameter's dtype).
        """
        f = self.freqs.detach().to(torch.float32)
        rows = torch.linspace(-1.0, 1.0, height, device=f.device)[:, None] * f  # [H, F]
        cols = torch.linspace(-1.0, 1.0, width, device=f.device)[:, None] * f  # [W, F]
        rows = rows[:, None, :].expand(height, width, -1)
        cols = cols[None, :, :].expand(height, width, -1)
        return torch.cat((rows, cols), dim=-1).reshape(height * width, -1)


def apply_rope(x: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate interleaved pairs of the first ``2 P`` dims of ``x`` by ``angles [L, P]``.

    ``x [..., L, D]`` with ``D >= 2 P`` (L = H * W positions). Returns a new tensor of x's shape
    and dtype; cos and sin are taken in float32 and cast to x's dtype.
    """
    n_pairs = angles.shape[-1]
    rot_dim = 2 * n_pairs
    if rot_dim > x.shape[-1]:
        raise ValueError(f"rope needs {rot_dim} dims per head, head has {x.shape[-1]}")
    cos = angles.cos().to(x.dtype)
    sin = angles.sin().to(x.dtype)
    pairs = x[..., :rot_dim].unflatten(-1, (n_pairs, 2))
    x1, x2 = pairs[..., 0], pairs[..., 1]
    rotated = torch.stack((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1).flatten(-2)
    if rot_dim == x.shape[-1]:
        return rotated
    return torch.cat((rotated, x[..., rot_dim:]), dim=-1)
