"""Conditioning of the A2SB network: time and band embeddings (SPEC 5; paper 3.4).

The network has no learned time embedding: every ResBlock sees, through its own 1x1 convolution,
a per-pixel map of 144 channels = 16 band-embedding channels (which row of the spectrogram) and
128 time-embedding channels. The map is constant along the time (frame) axis, so it is built as
``[B, 144, H, 1]`` and broadcast over the frames by the modulation that uses it.
"""

from __future__ import annotations

import torch

TIME_MULT_MIN = 0.5
TIME_MULT_MAX = 16.0
BAND_PI = 3.14  # the official code writes 3.14, not pi: kept so released weights see the same input


def time_embedding(t: torch.Tensor, num_freqs: int = 64) -> torch.Tensor:
    """``[sin(t m), cos(t m)]`` with ``m = linspace(0.5, 16, num_freqs)``. ``t [B] -> [B, 2 F]``."""
    m = torch.linspace(
        TIME_MULT_MIN, TIME_MULT_MAX, num_freqs, device=t.device, dtype=torch.float32
    )
    angles = t.to(torch.float32)[:, None] * m[None, :]
    return torch.cat((angles.sin(), angles.cos()), dim=1)


def band_embedding(
    n_rows: int, num_freqs: int = 8, device: torch.device | str | None = None
) -> torch.Tensor:
    """Row-position code ``[cos a_jk (j = 1..F), sin a_jk (j = 1..F)]``, ``a_jk = j k 2 3.14 / (3 H)``.

    ``k = 0..H-1`` is the row index at a resolution with ``H = n_rows`` rows. Returns ``[2 F, H]``.
    """
    j = torch.arange(1, num_freqs + 1, device=device, dtype=torch.float32)
    k = torch.arange(n_rows, device=device, dtype=torch.float32)
    a = (j[:, None] * k[None, :] * 2) * BAND_PI / (3 * n_rows)  # official order of operations
    return torch.cat((a.cos(), a.sin()), dim=0)


def conditioning_map(t_emb: torch.Tensor, n_rows: int, band_freqs: int = 8) -> torch.Tensor:
    """Per-row conditioning ``concat(band [2 F_b], time [2 F_t])`` for a resolution with ``n_rows`` rows.

    ``t_emb [B, 2 F_t] -> [B, 2 F_b + 2 F_t, H, 1]`` (constant along frames: broadcast over W).
    """
    b = t_emb.shape[0]
    band = band_embedding(n_rows, band_freqs, device=t_emb.device).to(t_emb.dtype)
    band = band[None, :, :, None].expand(b, -1, -1, 1)
    time = t_emb[:, :, None, None].expand(-1, -1, n_rows, 1)
    return torch.cat((band, time), dim=1)


def conditioning_channels(time_freqs: int = 64, band_freqs: int = 8) -> int:
    """Channels of the conditioning map: ``2 band_freqs + 2 time_freqs`` (144 in the paper)."""
    return 2 * band_freqs + 2 * time_freqs
