"""The A2SB noise-prediction network (SPEC 5): config, presets and the UNet."""

from .presets import PRESETS, ModelConfig, build_model, count_parameters, resolve_config
from .unet import A2SBUNet

__all__ = [
    "PRESETS",
    "A2SBUNet",
    "ModelConfig",
    "build_model",
    "count_parameters",
    "resolve_config",
]
