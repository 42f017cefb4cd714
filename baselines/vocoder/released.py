"""Load the released BigVGAN-v2 generator weights (NVIDIA/BigVGAN, MIT) from a local file.

``bigvgan_v2_44khz_128band_512x`` (Hugging Face ``nvidia/bigvgan_v2_44khz_128band_512x``, its
``config.json`` at revision 95a9d1dc, as mirrored in
huggingface.co/JackIsNotInTheBox/Generate_Audio_for_Video_Checkpoints commit 45c9d8c9): resblock
"1", upsample_rates [8,4,2,2,2,2], upsample_kernel_sizes [16,8,4,4,4,4],
upsample_initial_channel 1536, resblock_kernel_sizes [3,7,11], resblock_dilation_sizes
[[1,3,5]] * 3, activation snakebeta, snake_logscale true, use_tanh_at_final false,
use_bias_at_final false; 128 mels, n_fft 2048, hop 512, win 2048, 44.1 kHz, fmin 0, fmax null.

Files accepted: a ``.safetensors`` holding the generator's state dict, or the released
``bigvgan_generator.pt`` (a pickle ``{"generator": state_dict}``) read with
``torch.load(weights_only=True)`` only, so no code in the pickle runs. A ``config.json`` beside
the file, when present, gives the shape; otherwise the 44 kHz 128-band 512x shape is assumed.

Name mapping (released -> ours), with ``nk`` kernels per stage and ``n = i * nk + j``:

=========================================================  ==========================================
``conv_pre.*``                                              ``input_conv.*``
``ups.{i}.0.*``                                             ``stages.{i}.up.*``
``resblocks.{n}.convs1.{u}.*``                              ``stages.{i}.blocks.{j}.units.{u}.conv1.*``
``resblocks.{n}.convs2.{u}.*``                              ``stages.{i}.blocks.{j}.units.{u}.conv2.*``
``resblocks.{n}.activations.{2u}.act.{alpha,beta}``         ``stages.{i}.blocks.{j}.units.{u}.act1.*``
``resblocks.{n}.activations.{2u+1}.act.{alpha,beta}``       ``stages.{i}.blocks.{j}.units.{u}.act2.*``
``....activations.{m}.upsample.filter``                     ``....act{1,2}.up_filter``
``....activations.{m}.downsample.lowpass.filter``           ``....act{1,2}.down_filter``
``activation_post.act.*`` / ``.upsample.filter`` / ...      ``output_act.*`` / ``.up_filter`` / ...
``conv_post.*``                                             ``output_conv.*``
=========================================================  ==========================================

Weight normalisation: the released file stores ``weight_g`` / ``weight_v`` (``torch.nn.utils.
weight_norm``); ours are ``parametrizations.weight.original0`` / ``original1`` (same shapes).
A file whose weight norm was removed (plain ``weight``) is accepted too: ``g = ||w||`` over all
but the first dimension, ``v = w``. Newer files already in the parametrization form pass through.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..interface import BaselineError
from ..mel import MelConfig

#: ``bigvgan_v2_44khz_128band_512x``'s generator, in our ``model`` keys.
RELEASED_44K_512X: dict[str, Any] = {
    "upsample_rates": [8, 4, 2, 2, 2, 2],
    "upsample_kernel_sizes": [16, 8, 4, 4, 4, 4],
    "initial_channels": 1536,
    "min_channels": 0,
    "resblock_kernel_sizes": [3, 7, 11],
    "resblock_dilations": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
    "activation": "snakebeta",
    "snake_logscale": True,
    "anti_alias": True,
    "tanh_at_final": False,
    "bias_at_final": False,
    "input_shift": 0.0,
    "input_scale": 1.0,
    "prior_iters": 0,
}

_WN = {
    "weight_g": "parametrizations.weight.original0",
    "weight_v": "parametrizations.weight.original1",
}


def is_released_state(state: dict[str, Tensor]) -> bool:
    """True when ``state`` uses the released module names (``conv_pre``, ``ups``, ...)."""
    return any(k.startswith("conv_pre.") for k in state)


def config_from_json(path: Path) -> tuple[MelConfig, dict[str, Any]]:
    """Our ``(mel, model)`` from a released ``config.json``."""
    try:
        h = json.loads(path.read_text(encoding="utf-8"))
        if str(h.get("resblock", "1")) != "1":
            raise BaselineError(f"{path}: only resblock '1' (AMPBlock1) is supported")
        mel = MelConfig(
            sample_rate=int(h["sampling_rate"]),
            n_fft=int(h["n_fft"]),
            hop_length=int(h["hop_size"]),
            win_length=int(h["win_size"]),
            n_mels=int(h["num_mels"]),
            fmin=float(h.get("fmin") or 0.0),
            fmax=None if h.get("fmax") is None else float(h["fmax"]),
        )
        model = {
            "upsample_rates": [int(v) for v in h["upsample_rates"]],
            "upsample_kernel_sizes": [int(v) for v in h["upsample_kernel_sizes"]],
            "initial_channels": int(h["upsample_initial_channel"]),
            "min_channels": 0,
            "resblock_kernel_sizes": [int(v) for v in h["resblock_kernel_sizes"]],
            "resblock_dilations": [[int(d) for d in ds] for ds in h["resblock_dilation_sizes"]],
            "activation": str(h["activation"]),
            "snake_logscale": bool(h.get("snake_logscale", True)),
            "anti_alias": True,
            "tanh_at_final": bool(h.get("use_tanh_at_final", True)),
            "bias_at_final": bool(h.get("use_bias_at_final", True)),
            "input_shift": 0.0,
            "input_scale": 1.0,
            "prior_iters": 0,
        }
    except BaselineError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BaselineError(f"{path}: unreadable BigVGAN config.json ({exc})") from None
    return mel, model


def _split_weight(w: Tensor) -> tuple[Tensor, Tensor]:
    """Weight norm's ``(g, v)`` of a plain weight: ``g`` the norm over all dims but the first."""
    g = torch.linalg.vector_norm(w.reshape(w.shape[0], -1), dim=1).reshape(
        w.shape[0], *([1] * (w.dim() - 1))
    )
    return g, w


def map_released(state: dict[str, Tensor], n_kernels: int) -> dict[str, Tensor]:
    """The released generator state dict under our names (see the module docstring)."""
    out: dict[str, Tensor] = {}
    for key, value in state.items():
        name = _rename(key, n_kernels)
        base, _, leaf = name.rpartition(".")
        if leaf in _WN:
            out[f"{base}.{_WN[leaf]}"] = value
        elif leaf == "weight":  # weight norm removed: re-split into (g, v)
            g, v = _split_weight(value)
            out[f"{base}.{_WN['weight_g']}"] = g
            out[f"{base}.{_WN['weight_v']}"] = v
        else:
            out[name] = value
    return out


_RESBLOCK = re.compile(r"^resblocks\.(\d+)\.(convs1|convs2|activations)\.(\d+)\.(.*)$")
_ACT_TAIL = {"upsample.filter": "up_filter", "downsample.lowpass.filter": "down_filter"}


def _act_tail(tail: str) -> str:
    if tail in _ACT_TAIL:
        return _ACT_TAIL[tail]
    if tail.startswith("act."):
        return tail[len("act.") :]
    return tail


def _rename(key: str, n_kernels: int) -> str:
    if key.startswith("conv_pre."):
        return "input_conv." + key[len("conv_pre.") :]
    if key.startswith("conv_post."):
        return "output_conv." + key[len("conv_post.") :]
    if key.startswith("activation_post."):
        return "output_act." + _act_tail(key[len("activation_post.") :])
    m = re.match(r"^ups\.(\d+)\.0\.(.*)$", key)
    if m:
        return f"stages.{m[1]}.up.{m[2]}"
    m = _RESBLOCK.match(key)
    if m:
        n, kind, idx, tail = int(m[1]), m[2], int(m[3]), m[4]
        prefix = f"stages.{n // n_kernels}.blocks.{n % n_kernels}.units"
        if kind == "convs1":
            return f"{prefix}.{idx}.conv1.{tail}"
        if kind == "convs2":
            return f"{prefix}.{idx}.conv2.{tail}"
        return f"{prefix}.{idx // 2}.act{1 + idx % 2}.{_act_tail(tail)}"
    raise BaselineError(f"unexpected name {key!r} in a BigVGAN generator state dict")


def read_released(path: Path) -> dict[str, Tensor]:
    """The generator state dict of a released file (.safetensors, or .pt/.pth via weights_only)."""
    if path.suffix == ".safetensors":
        import safetensors.torch

        try:
            state = safetensors.torch.load_file(str(path))
        except Exception as exc:  # safetensors raises several types
            raise BaselineError(f"{path}: unreadable safetensors file ({exc})") from None
    else:
        try:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as exc:  # pickle errors of many kinds; weights_only refuses code
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise BaselineError(f"{path}: not a weights-only torch file ({first})") from None
        if isinstance(state, dict) and "generator" in state:
            state = state["generator"]
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise BaselineError(f"{path}: no generator state dict in the file")
    return state
