"""Model configuration, named presets and ``build_model`` (SPEC 5, 11).

Presets change widths, levels, heads and attention levels only; the wiring is the paper's
(``cpu``, the default CPU profile's model, also has one residual block per level instead of two
and no dropout).
``paper`` has exactly the released checkpoints' state-dict names and shapes (565,544,851
parameters, of which 144 are the frozen RoPE frequencies).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .unet import A2SBUNet


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of the A2SB UNet. Defaults are the paper's (SPEC 5).

    ``widths`` has one entry per level plus the middle block (levels = len(widths) - 1).
    Attention runs at encoder levels ``enc_attn_levels``, decoder levels ``dec_attn_levels``
    (decoder level l runs at width ``widths[levels - l]``) and in the middle block. RoPE rotates
    ``4 * rope_freqs_per_axis`` dims of each head (64 in the paper).
    """

    in_channels: int = 3
    out_channels: int = 3
    widths: tuple[int, ...] = (128, 256, 512, 768, 1024, 2048)
    num_res_blocks: int = 2
    enc_attn_levels: tuple[int, ...] = (3, 4)
    dec_attn_levels: tuple[int, ...] = (0, 1)
    num_heads: int = 8
    dropout: float = 0.1
    rope_freqs_per_axis: int = 16
    time_freqs: int = 64
    band_freqs: int = 8
    norm_groups: int = 32

    def __post_init__(self) -> None:
        for name in ("widths", "enc_attn_levels", "dec_attn_levels"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        self.validate()

    @property
    def levels(self) -> int:
        """Number of down/up-sampling levels: ``len(widths) - 1``."""
        return len(self.widths) - 1

    def attention_widths(self) -> list[int]:
        """Widths of every attention block (encoder, middle, decoder)."""
        n = self.levels
        return (
            [self.widths[lv] for lv in self.enc_attn_levels]
            + [self.widths[n]]
            + [self.widths[n - lv] for lv in self.dec_attn_levels]
        )

    def validate(self) -> None:
        """Raise ``ValueError`` with a clear message if the configuration cannot be built."""
        positive = ("in_channels", "out_channels", "num_res_blocks", "num_heads")
        positive += ("rope_freqs_per_axis", "time_freqs", "band_freqs", "norm_groups")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"model config: {name} must be a positive integer, got {value!r}")
        if len(self.widths) < 2:
            raise ValueError(f"model config: widths needs >= 2 entries, got {list(self.widths)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"model config: dropout must lie in [0, 1), got {self.dropout}")
        for w in self.widths:
            if w < 1 or w % self.norm_groups:
                raise ValueError(
                    f"model config: widths {list(self.widths)} must be multiples of "
                    f"norm_groups {self.norm_groups}"
                )
        for name in ("enc_attn_levels", "dec_attn_levels"):
            bad = [lv for lv in getattr(self, name) if not 0 <= lv < self.levels]
            if bad:
                raise ValueError(
                    f"model config: {name} {bad} outside 0..{self.levels - 1} "
                    f"({self.levels} levels)"
                )
        for w in self.attention_widths():
            if w % self.num_heads:
                raise ValueError(
                    f"model config: attention width {w} is not divisible by num_heads "
                    f"{self.num_heads}"
                )
            if 4 * self.rope_freqs_per_axis > w // self.num_heads:
                raise ValueError(
                    f"model config: rope covers 4 * rope_freqs_per_axis = "
                    f"{4 * self.rope_freqs_per_axis} dims, more than the head dim "
                    f"{w // self.num_heads} of width {w} with {self.num_heads} heads"
                )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples as lists)."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelConfig:
        """Inverse of ``to_dict``; missing keys take the paper's defaults, unknown keys are errors."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"model config: unknown keys {unknown}")
        return cls(**dict(data))


_PAPER = ModelConfig()

PRESETS: dict[str, ModelConfig] = {
    # The released A2SB model (565,544,851 parameters).
    "paper": _PAPER,
    # The 2-channel [Re S, Im S] ablation of Figures 4-5 at the paper's size.
    "paper-2ch": dataclasses.replace(_PAPER, in_channels=2, out_channels=2),
    # The paper's wiring at about 1/50 of its size (GPU benchmarks).
    "bench-small": dataclasses.replace(_PAPER, widths=(32, 64, 64, 128, 128, 256), num_heads=2),
    # The default CPU profile's model.
    "small": dataclasses.replace(_PAPER, widths=(32, 64, 96, 128, 160, 192), num_heads=2),
    # The default CPU profile's model: the wiring at 16-160 channels with one residual block per
    # level, so the full-resolution levels (which dominate the cost on a CPU) stay cheap.
    "cpu": dataclasses.replace(
        _PAPER,
        widths=(16, 32, 64, 96, 128, 160),
        num_res_blocks=1,
        num_heads=2,
        norm_groups=16,
        rope_freqs_per_axis=8,
        dropout=0.0,  # a few hundred steps on a small corpus: no regularisation needed, and
        # dropout's random masks cost ~6 % of a CPU training step
    ),
    # Unit tests: every block of the wiring, well under a million parameters.
    "tiny": dataclasses.replace(_PAPER, widths=(32,) * 6, num_heads=2, rope_freqs_per_axis=4),
    # Whole-pipeline tests (ci profile, paper replicas): every block of the wiring at 16
    # channels, one residual block per level; about 1/8 of "tiny"'s cost per call.
    "micro": dataclasses.replace(
        _PAPER,
        widths=(16,) * 6,
        num_res_blocks=1,
        num_heads=2,
        norm_groups=8,
        rope_freqs_per_axis=2,
        dropout=0.0,
    ),
    # Streaming memory benchmarks (benchmarks/bench_streaming.py): the paper's wiring (two
    # residual blocks per level, its attention levels) at 8 channels per level, so that a
    # window costs a few tenths of a second on a CPU and the band of state dominates the memory.
    "narrow": dataclasses.replace(
        _PAPER,
        widths=(8,) * 6,
        num_heads=1,  # one score matrix per attention block: half the cost of two heads
        norm_groups=8,
        rope_freqs_per_axis=2,  # RoPE on all 8 dims of the head
        dropout=0.0,
    ),
}


def resolve_config(spec: str | Mapping[str, Any] | ModelConfig) -> ModelConfig:
    """A preset name, a ``to_dict()`` mapping or a ``ModelConfig`` -> ``ModelConfig``."""
    if isinstance(spec, ModelConfig):
        return spec
    if isinstance(spec, str):
        if spec not in PRESETS:
            raise ValueError(f"unknown model preset {spec!r}; known: {', '.join(PRESETS)}")
        return PRESETS[spec]
    if isinstance(spec, Mapping):
        return ModelConfig.from_dict(spec)
    raise TypeError(f"model spec must be a preset name, a dict or a ModelConfig, got {type(spec)}")


def build_model(spec: str | Mapping[str, Any] | ModelConfig) -> A2SBUNet:
    """Build the UNet of a preset name, config dict or ``ModelConfig`` (on the current default
    device: wrap in ``with torch.device("meta"):`` to get shapes without allocating)."""
    from .unet import A2SBUNet

    return A2SBUNet(resolve_config(spec))


def count_parameters(model: Any) -> int:
    """Number of parameter elements (frozen RoPE frequencies included, as in the paper's count)."""
    return sum(p.numel() for p in model.parameters())
