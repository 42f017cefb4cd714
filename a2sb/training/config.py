"""Training configuration: one flat file per run (SPEC 6, 11), loaded from YAML or JSON.

Every key of :class:`TrainConfig` may appear at the top level of the file; a key that is not a
field is an error naming the file and the key. Missing keys take the defaults below (the
paper's optimiser settings). The pipeline generates each run's file from a profile
(``results/<profile>/configs/<run>.json``, see ``workflow/rules/train.smk``). Example::

    model: {preset: tiny, dropout: 0.0}    # preset name, ModelConfig dict, or preset + overrides
    stft: {sample_rate: 8000, n_fft: 64, hop_length: 32, win_length: 64, segment_frames: 32}
    masks: {cutoff_hz_range: [500, 3500], gap_s_range: [0.01, 0.05], min_true_sr: 0}
    kind: factorized
    manifests: [results/data/train.csv]
    global_batch: 4
    micro_batch: 2
    max_steps: 20
    precision: fp32

Relative manifest and checkpoint paths are taken relative to the working directory and stored
absolute in the run's resolved ``config.json``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml

from ..config_merge import merge_config
from ..errors import InputError
from ..io.provenance import config_hash
from ..masks import MaskConfig
from ..network import ModelConfig, build_model, resolve_config
from ..partitions import partition_range  # noqa: F401  (re-exported)
from ..representation import KINDS, STFTConfig, num_channels

PRECISIONS = ("bf16", "fp32")
DEVICES = ("auto", "cpu", "cuda")

# Keys that may change when a run is resumed: they do not alter the trained weights.
RESUMABLE_KEYS = frozenset(
    {"max_steps", "checkpoint_every", "keep_checkpoints", "log_every", "valid_every", "num_workers"}
)


@dataclass
class TrainConfig:
    """Everything a training run needs; the defaults are the paper's optimiser (SPEC 6)."""

    description: str = ""
    # What is trained.
    model: Any = "small"  # preset name, ModelConfig dict, or {"preset": name, **overrides}
    stft: dict[str, Any] = field(default_factory=dict)  # STFTConfig fields (defaults: paper)
    masks: dict[str, Any] = field(default_factory=dict)  # MaskConfig fields (defaults: official)
    kind: str = "factorized"  # "factorized" (3 channels) or "complex" (2-channel ablation)
    beta_max: float = 1.0
    t_range: tuple[float, float] = (0.0, 1.0)  # t ~ U[lo, hi] (a partition's range)
    t_eps: float = 1e-4  # t is clamped to >= t_eps: sigma_0 = 0 would divide by zero
    init: str | None = None  # checkpoint (.safetensors) the weights start from
    # Data.
    manifests: list[str] = field(default_factory=list)
    split: str | None = "train"  # None: every row
    valid_manifests: list[str] = field(default_factory=list)
    valid_split: str | None = "valid"
    research_use: bool = False  # set when a manifest holds non-permissive data (Maestro)
    # Probability that a crop is darkened by a random spectral roll-off before it is encoded
    # (:func:`a2sb.training.dataset.random_rolloff`); 0 = the paper's training (no augmentation).
    augment_rolloff: float = 0.0
    num_workers: int = 0
    # Optimisation (paper 3.5).
    global_batch: int = 320
    micro_batch: int = 1  # per device and forward pass; accumulation fills the global batch
    max_steps: int = 209_000
    lr: float = 8e-5
    lr_warmup_steps: int = 0  # linear warm-up; the paper states none
    weight_decay: float = 1e-8  # RAdam with decoupled weight decay
    grad_clip: float = 0.5
    precision: str = "bf16"  # "bf16" autocast (pre-training) or "fp32" (fine-tuning)
    seed: int = 0
    deterministic: bool = False  # torch.use_deterministic_algorithms (bit-exact resume on CPU)
    device: str = "auto"
    # Bookkeeping.
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3  # step checkpoints kept on disk (0 = all)
    log_every: int = 10
    valid_every: int = 1000  # 0 = only at the end
    valid_segments: int = 4
    valid_steps: int = 10  # sampler steps of the validation restorations
    valid_cutoff_hz: float = 4000.0
    valid_gap_s: float = 0.3  # centred gap; at most half a segment

    # ------------------------------------------------------------------ derived objects

    def model_config(self) -> ModelConfig:
        """The network's ``ModelConfig`` (preset, dict, or preset plus overrides)."""
        return resolve_model(self.model)

    def stft_config(self) -> STFTConfig:
        return STFTConfig.from_dict(self.stft)

    def mask_config(self) -> MaskConfig:
        return MaskConfig.from_dict(self.masks)

    def accumulation_steps(self, world_size: int) -> int:
        """Micro-steps per optimiser step so that ``world * micro * accum = global_batch``."""
        per_step = world_size * self.micro_batch
        if self.global_batch % per_step:
            raise InputError(
                f"global_batch {self.global_batch} is not divisible by world size {world_size} "
                f"x micro_batch {self.micro_batch}"
            )
        return self.global_batch // per_step

    # ------------------------------------------------------------------ (de)serialisation

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["t_range"] = list(self.t_range)
        return data

    def config_hash(self) -> str:
        """sha256 of the settings that determine the weights (bookkeeping keys left out)."""
        data = {k: v for k, v in self.to_dict().items() if k not in RESUMABLE_KEYS}
        data.pop("description", None)
        return config_hash(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> TrainConfig:
        """Build and validate (:func:`a2sb.config_merge.merge_config` over the defaults); a bad
        key or value is an ``InputError`` naming ``source`` and the key."""
        if not isinstance(data, dict):
            raise InputError(f"{source}: a training config must be a mapping of keys to values")
        data = dict(data)
        for key in ("manifests", "valid_manifests"):
            if isinstance(data.get(key), str):
                data[key] = [data[key]]
        merged = merge_config(dataclasses.asdict(cls()), data, source, opaque=OPAQUE_KEYS,
                              nullable=("split", "valid_split"))  # fmt: skip
        merged["t_range"] = _pair(merged["t_range"], f"{source}: t_range")
        cfg = cls(**merged)
        cfg.validate(source)
        return cfg

    def validate(self, source: str = "config") -> None:
        """Raise a one-line ``InputError`` for any value that cannot train."""

        def bad(message: str) -> InputError:
            return InputError(f"{source}: {message}")

        try:
            model = self.model_config()
            stft = self.stft_config()
            self.mask_config()
        except (ValueError, TypeError) as err:
            raise bad(str(err)) from None
        if self.kind not in KINDS:
            raise bad(f"kind must be one of {KINDS}, got {self.kind!r}")
        if model.in_channels != num_channels(self.kind) or model.out_channels != model.in_channels:
            raise bad(
                f"model has {model.in_channels} -> {model.out_channels} channels but kind "
                f"{self.kind!r} needs {num_channels(self.kind)}"
            )
        with torch.device("meta"):  # shapes only: nothing is allocated
            net = build_model(model)
            try:
                net.check_input(torch.empty(1, model.in_channels, stft.n_rows, stft.segment_frames))
            except ValueError as err:
                raise bad(
                    f"segments of n_fft / 2 = {stft.n_rows} rows x {stft.segment_frames} frames: {err}"
                ) from None
        lo, hi = self.t_range
        if not 0.0 <= lo < hi <= 1.0:
            raise bad(f"t_range must satisfy 0 <= lo < hi <= 1, got {list(self.t_range)}")
        if not 0.0 < self.t_eps < hi:
            raise bad(f"t_eps must lie in (0, {hi}), got {self.t_eps}")
        if self.precision not in PRECISIONS:
            raise bad(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.device not in DEVICES:
            raise bad(f"device must be one of {DEVICES}, got {self.device!r}")
        positive = ("global_batch", "micro_batch", "max_steps", "log_every", "checkpoint_every")
        for key in positive:
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise bad(f"{key} must be a positive integer, got {value!r}")
        for key in (
            "num_workers",
            "valid_every",
            "valid_segments",
            "keep_checkpoints",
            "lr_warmup_steps",
        ):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise bad(f"{key} must be a non-negative integer, got {value!r}")
        if self.global_batch % self.micro_batch:
            raise bad(
                f"global_batch {self.global_batch} is not a multiple of micro_batch {self.micro_batch}"
            )
        if not (
            self.lr > 0 and self.grad_clip > 0 and self.weight_decay >= 0 and self.beta_max > 0
        ):
            raise bad("lr, grad_clip and beta_max must be positive and weight_decay >= 0")
        for key in ("valid_steps", "seed"):
            value = getattr(self, key)
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or value < (key == "valid_steps")
            ):
                raise bad(f"{key} must be an integer >= {int(key == 'valid_steps')}, got {value!r}")
        for key in ("manifests", "valid_manifests"):
            value = getattr(self, key)
            if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
                raise bad(f"{key} must be a list of paths, got {value!r}")
        if not 0 < self.valid_cutoff_hz < stft.sample_rate / 2:
            raise bad(f"valid_cutoff_hz {self.valid_cutoff_hz} must lie below Nyquist")
        if self.valid_gap_s <= 0:
            raise bad(f"valid_gap_s must be positive, got {self.valid_gap_s}")
        if not 0.0 <= self.augment_rolloff <= 1.0:
            raise bad(f"augment_rolloff must lie in [0, 1], got {self.augment_rolloff}")


#: Keys holding a whole sub-config, checked by its own type (ModelConfig, STFTConfig, MaskConfig).
OPAQUE_KEYS = ("model", "stft", "masks")


def resolve_model(spec: Any) -> ModelConfig:
    """A preset name, a full ``ModelConfig`` dict, or ``{"preset": name, **overrides}``."""
    if isinstance(spec, dict) and "preset" in spec:
        overrides = {k: v for k, v in spec.items() if k != "preset"}
        base = resolve_config(spec["preset"]).to_dict()
        return ModelConfig.from_dict({**base, **overrides})
    return resolve_config(spec)


def _pair(value: Any, where: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise InputError(f"{where} must be [lo, hi], got {value!r}") from None
    if math.isnan(lo) or math.isnan(hi):
        raise InputError(f"{where} must be numbers, got {value!r}")
    return lo, hi


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Parse a YAML or JSON config file into a dict (one-line ``InputError`` on failure)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: unreadable config file ({err})") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(
            f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'} ({first})"
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: a training config must be a mapping of keys to values")
    return data


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read ``path`` (YAML or JSON), apply ``overrides`` (CLI flags) and validate."""
    data = read_config_file(path)
    data.update(overrides or {})
    return TrainConfig.from_dict(data, str(path))


def absolute_paths(cfg: TrainConfig, base: Path | None = None) -> TrainConfig:
    """Copy of ``cfg`` with manifest and init paths made absolute (relative to ``base`` or cwd)."""
    base = base or Path.cwd()

    def fix(p: str) -> str:
        q = Path(p).expanduser()
        return str(q if q.is_absolute() else (base / q).resolve())

    return dataclasses.replace(
        cfg,
        manifests=[fix(p) for p in cfg.manifests],
        valid_manifests=[fix(p) for p in cfg.valid_manifests],
        init=fix(cfg.init) if cfg.init else None,
    )
