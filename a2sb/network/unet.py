"""The A2SB UNet (SPEC 5; paper 3.4; the official ``AttnUNetF`` wiring, so released weights load).

Resolution ``r`` (``r = 0..L``, L = number of levels) has ``N / 2^r`` rows and ``W / 2^r``
frames. Encoder level ``l`` runs at resolution ``l`` and width ``c[l]``, then downsamples to
``c[l + 1]`` and pushes the result; the middle block runs at resolution ``L``; decoder level
``l`` adds the popped skip, runs at resolution ``L - l`` and width ``c[L - l]``, then upsamples to
``c[L - l - 1]``. Every ResBlock is conditioned on the map of its own resolution.
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import AttentionBlock, Downsample, GroupNorm32, ResBlock, Upsample
from .embeddings import conditioning_channels, conditioning_map, time_embedding
from .presets import ModelConfig


class A2SBUNet(nn.Module):
    """Noise-prediction network ``eps(x_t, t)``: ``x [B, C, N, W], t [B] in [0, 1] -> [B, C, N, W]``.

    N and W must be multiples of ``2^levels`` (32 for the paper's 5 levels).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        c = list(config.widths)
        n_levels = config.levels
        cond = conditioning_channels(config.time_freqs, config.band_freqs)

        def res(width: int) -> ResBlock:
            return ResBlock(width, cond, config.dropout, config.norm_groups)

        def attn(width: int) -> AttentionBlock:
            return AttentionBlock(
                width, config.num_heads, config.rope_freqs_per_axis, config.norm_groups
            )

        def level(width: int, with_attention: bool) -> nn.ModuleList:
            blocks: list[nn.Module] = []
            for _ in range(config.num_res_blocks):
                blocks.append(res(width))
                if with_attention:
                    blocks.append(attn(width))
            return nn.ModuleList(blocks)

        self.input_projection = nn.Conv2d(config.in_channels, c[0], 3, padding=1)
        self.enc_blocks = nn.ModuleList(
            level(c[lv], lv in config.enc_attn_levels) for lv in range(n_levels)
        )
        self.ds_layers = nn.ModuleList(Downsample(c[lv], c[lv + 1]) for lv in range(n_levels))
        self.middle_block = nn.ModuleList([res(c[-1]), attn(c[-1]), res(c[-1])])
        self.dec_blocks = nn.ModuleList(
            level(c[n_levels - lv], lv in config.dec_attn_levels) for lv in range(n_levels)
        )
        self.us_layers = nn.ModuleList(
            Upsample(c[n_levels - lv], c[n_levels - lv - 1]) for lv in range(n_levels)
        )
        self.output_projection = nn.Sequential(
            GroupNorm32(config.norm_groups, c[0]),
            nn.SiLU(),
            nn.Conv2d(c[0], config.out_channels, 3, padding=1),
        )

    @staticmethod
    def _run(blocks: nn.ModuleList, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        for block in blocks:
            h = block(h, cond) if isinstance(block, ResBlock) else block(h)
        return h

    def check_input(self, x: torch.Tensor) -> None:
        """Raise ``ValueError`` naming the shapes if ``x`` cannot go through the network."""
        cfg = self.config
        if x.ndim != 4 or x.shape[1] != cfg.in_channels:
            raise ValueError(
                f"network input must be [B, {cfg.in_channels}, N, W], got {list(x.shape)}"
            )
        m = 2**cfg.levels
        if x.shape[2] % m or x.shape[3] % m:
            raise ValueError(
                f"network input rows and frames must be multiples of {m} "
                f"(2^{cfg.levels} levels), got N={x.shape[2]}, W={x.shape[3]} in {list(x.shape)}"
            )
        # GroupNorm needs more than one value per group: the coarsest resolution may be 1 x 1.
        for r, width in enumerate(cfg.widths):
            if (width // cfg.norm_groups) * (x.shape[2] >> r) * (x.shape[3] >> r) < 2:
                raise ValueError(
                    f"network input {list(x.shape)} is too small: at 1/{2**r} resolution "
                    f"GroupNorm would see one value per group (width {width}, "
                    f"{cfg.norm_groups} groups)"
                )

    def forward(self, x: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
        """``x [B, C, N, W]``, ``t [B]`` (or a scalar, shared by the batch) -> ``[B, C, N, W]``."""
        self.check_input(x)
        t = torch.as_tensor(t, device=x.device).reshape(-1)
        if t.numel() == 1:
            t = t.expand(x.shape[0])
        if t.shape[0] != x.shape[0]:
            raise ValueError(f"t has {t.shape[0]} entries for a batch of {x.shape[0]}")
        cfg = self.config
        n_levels = cfg.levels
        t_emb = time_embedding(t, cfg.time_freqs).to(x.dtype)
        # One [B, E, H_r, 1] map per resolution r = 0..L, shared by the encoder and the decoder.
        conds = [
            conditioning_map(t_emb, x.shape[2] >> r, cfg.band_freqs) for r in range(n_levels + 1)
        ]

        h = self.input_projection(x)
        skips: list[torch.Tensor] = []
        for lv in range(n_levels):
            h = self._run(self.enc_blocks[lv], h, conds[lv])
            h = self.ds_layers[lv](h)
            skips.append(h)
        h = self._run(self.middle_block, h, conds[n_levels])
        for lv in range(n_levels):
            h = h + skips.pop()
            h = self._run(self.dec_blocks[lv], h, conds[n_levels - lv])
            h = self.us_layers[lv](h)
        return self.output_projection(h)
