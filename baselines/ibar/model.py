"""The IBAR network: instruction encoder + DiT, in normalised log-mel units.

``IBAR.forward(x_t, t, cond, text)``: the noisy mel ``x_t [B, 1, M, F]`` and the degraded
input's mel ``cond [B, 1, M, F]`` (both normalised, :meth:`IBAR.normalise`) are concatenated on
the channel axis, patchified and run through the DiT, conditioned on ``t [B]`` and the instruction
embedding ``text [B, D_text]`` (:meth:`IBAR.embed`); the result is the velocity ``[B, 1, M, F]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .dit import DiT
from .text_encoder import build_text_encoder


class IBAR(nn.Module):
    """Instruction-conditioned mel flow model of a resolved config (see :mod:`.config`)."""

    def __init__(self, cfg: dict[str, Any], byt5_table: torch.Tensor | None = None) -> None:
        super().__init__()
        m = cfg["model"]
        self.mean, self.std = float(m["mel_mean"]), float(m["mel_std"])
        self.text = build_text_encoder(cfg["text"], byt5_table)
        self.dit = DiT(
            n_mels=int(cfg["mel"]["n_mels"]),
            patch_mels=m["patch_mels"],
            patch_frames=m["patch_frames"],
            hidden=m["hidden"],
            depth=m["depth"],
            heads=m["heads"],
            mlp_ratio=float(m["mlp_ratio"]),
            cond_dim=self.text.out_dim,
        )

    def normalise(self, log_mel: torch.Tensor) -> torch.Tensor:
        """Natural-log mel -> model units ``(log_mel - mean) / std`` (any shape)."""
        return (log_mel - self.mean) / self.std

    def denormalise(self, x: torch.Tensor) -> torch.Tensor:
        """Model units -> natural-log mel (any shape)."""
        return x * self.std + self.mean

    def embed(self, instructions: Sequence[str]) -> torch.Tensor:
        """Instructions -> ``[B, D_text]`` on the model's device."""
        device = next(self.dit.parameters()).device
        return self.text.embed_texts(instructions, device)

    def forward(
        self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor, text: torch.Tensor
    ) -> torch.Tensor:
        """Velocity ``[B, 1, M, F]`` at ``x_t`` (all inputs as in the module docstring)."""
        return self.dit(torch.cat([x_t, cond.to(x_t.dtype)], dim=1), t, text)
