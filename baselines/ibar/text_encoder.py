"""IBAR's instruction embedding: a trained byte-level encoder, or a frozen byT5 table.

The A2SB paper embeds IBAR's instructions with byT5 (Xue et al., "ByT5: Towards a token-free
future with pre-trained byte-to-byte models", TACL 2022) and does not say which size; the paper
profile takes a local copy of ``google/byt5-small`` (``text.byt5_path``; ``-base`` works alike).
Since IBAR only ever sees its few templates, the frozen encoder is run once at training time on
every template (last hidden state, mean over the real tokens) and the resulting table
``[n_templates, d_model]`` is stored in the checkpoint: restoring needs neither ``transformers``
nor the byT5 weights.

The default profile replaces byT5 by a small byte-level encoder trained with the model (UTF-8
bytes + 1 as tokens, 0 = padding; learned positions; a few pre-LayerNorm transformer layers; mean
over the real tokens): the same token-free input as byT5, a fraction of its size.
Both give ``[B, out_dim]``; the DiT maps it into its conditioning vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from ..interface import BaselineError
from .dit import Mlp, SelfAttention
from .templates import ALL_TEMPLATES, template_index


def encode_bytes(texts: Sequence[str], max_bytes: int) -> torch.Tensor:
    """Texts -> ``[B, max_bytes]`` int64 tokens (UTF-8 byte + 1, 0-padded, cut at max_bytes)."""
    out = torch.zeros(len(texts), max_bytes, dtype=torch.long)
    for i, text in enumerate(texts):
        data = list(text.encode("utf-8"))[:max_bytes]
        if not data:
            raise BaselineError("empty IBAR instruction")
        out[i, : len(data)] = torch.tensor(data, dtype=torch.long) + 1
    return out


class _Block(nn.Module):
    """Pre-LayerNorm transformer encoder block, ``[B, T, D] -> [B, T, D]``."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, 4.0)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), keep)
        return x + self.mlp(self.norm2(x))


class ByteTextEncoder(nn.Module):
    """Trained byte-level encoder: instructions -> ``[B, width]`` (mean over real bytes)."""

    def __init__(self, width: int, layers: int, heads: int, max_bytes: int) -> None:
        super().__init__()
        self.max_bytes, self.out_dim = max_bytes, width
        self.embed = nn.Embedding(257, width, padding_idx=0)
        self.pos = nn.Parameter(torch.randn(max_bytes, width) * 0.02)
        self.blocks = nn.ModuleList(_Block(width, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(width)
        nn.init.normal_(self.embed.weight, std=0.02)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``tokens [B, T]`` (from :func:`encode_bytes`) -> ``[B, width]``."""
        keep = tokens != 0
        h = self.embed(tokens) + self.pos[: tokens.shape[1]]
        for block in self.blocks:
            h = block(h, keep)
        h = self.norm(h) * keep[..., None]
        return h.sum(1) / keep.sum(1, keepdim=True).clamp(min=1)

    def embed_texts(self, texts: Sequence[str], device: torch.device) -> torch.Tensor:
        """Instructions -> ``[B, width]`` on ``device``."""
        return self(encode_bytes(texts, self.max_bytes).to(device))


class ByT5Table(nn.Module):
    """Frozen byT5 features of every template (a buffer ``[n_templates, d_model]``)."""

    def __init__(self, table: torch.Tensor) -> None:
        super().__init__()
        if table.ndim != 2 or table.shape[0] != len(ALL_TEMPLATES):
            raise BaselineError(
                f"byT5 table of shape {tuple(table.shape)} does not match the "
                f"{len(ALL_TEMPLATES)} IBAR templates"
            )
        self.register_buffer("table", table.float().clone())
        self.out_dim = int(table.shape[1])

    def embed_texts(self, texts: Sequence[str], device: torch.device) -> torch.Tensor:
        """Instructions (templates only) -> ``[B, d_model]`` on ``device``."""
        rows = torch.tensor([template_index(t) for t in texts], device=self.table.device)
        return self.table[rows].to(device)


def byt5_table(path: str | Path, device: torch.device | str = "cpu") -> torch.Tensor:
    """``[n_templates, d_model]``: byT5 encoder features of every template, mean-pooled.

    ``path``: a local folder holding a byT5 checkpoint in the ``transformers`` layout. Needs the
    ``transformers`` package (imported here only); a one-line :class:`BaselineError` otherwise.
    """
    path = Path(path)
    if not path.is_dir():
        raise BaselineError(f"text.byt5_path {path}: no such folder (a local byT5 checkpoint)")
    try:
        from transformers import AutoTokenizer, T5EncoderModel
    except ImportError:
        raise BaselineError(
            "the byT5 text encoder needs the 'transformers' package, which is not installed"
        ) from None
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        encoder = T5EncoderModel.from_pretrained(str(path)).to(device).eval()
    except Exception as exc:  # transformers raises many types for a bad folder
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BaselineError(f"text.byt5_path {path}: cannot load byT5 ({first})") from None
    batch = tokenizer(list(ALL_TEMPLATES), padding=True, return_tensors="pt").to(device)
    with torch.no_grad():
        hidden = encoder(**batch).last_hidden_state  # [n, T, d_model]
    mask = batch["attention_mask"][..., None].to(hidden.dtype)
    return ((hidden * mask).sum(1) / mask.sum(1)).float().cpu()


def build_text_encoder(text_cfg: dict, table: torch.Tensor | None = None) -> nn.Module:
    """The encoder of a resolved ``text`` section; ``table`` for ``byt5`` (see :func:`byt5_table`)."""
    if text_cfg["encoder"] == "bytes":
        return ByteTextEncoder(
            text_cfg["width"], text_cfg["layers"], text_cfg["heads"], text_cfg["max_bytes"]
        )
    if table is None:
        table = byt5_table(text_cfg["byt5_path"])
    return ByT5Table(table)
