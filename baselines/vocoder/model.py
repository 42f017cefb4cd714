"""The BigVGAN-style generator: mel frames -> waveform (Lee et al., "BigVGAN", ICLR 2023).

Structure (from the paper and the MIT-licensed NVIDIA/BigVGAN description; written anew):

- ``input_conv``: weight-normalised Conv1d(n_mels -> C0, kernel 7);
- ``stages[i]``: a weight-normalised ConvTranspose1d(C_i -> C_{i+1}, kernel k_i, stride u_i,
  padding (k_i - u_i) / 2), so the length grows exactly by u_i; then the mean of one AMP block per
  resblock kernel size. An AMP block (BigVGAN's "AMPBlock1") holds one unit per dilation d:
  ``x + conv2(act2(conv1_d(act1(x))))`` with ``conv1_d`` dilated by d and ``conv2`` undilated;
- ``output_act`` then ``output_conv`` (Conv1d(C -> 1, kernel 7), bias optional), then ``tanh`` or a
  clamp to [-1, 1].

Two additions of ours, off in the paper profile and for the released weights: ``input_shift`` /
``input_scale`` map the log-mel affinely before ``input_conv`` (the raw log-mel sits near
log(1e-5) = -11.5, whose constant offset a fresh network turns into a frame-rate buzz), and
``prior_iters > 0`` adds the network's output to a Griffin-Lim estimate from the same mel
(:mod:`.prior`; the output conv then starts at zero gain, so training begins from the prior).

Channels halve at every stage (``C_{i+1} = C_i / 2``), floored at ``min_channels`` (0: no floor,
as in the released models). Activations are Snake ``x + sin^2(a x) / a`` or SnakeBeta
``x + sin^2(a x) / b`` with per-channel ``a``, ``b`` (stored as logarithms when
``snake_logscale``). With ``anti_alias`` each activation runs at twice the rate: upsampled by 2
with a 12-tap Kaiser-windowed sinc (cutoff a quarter of the doubled rate, half-width 0.3,
replicate padding), activated, low-passed by the same filter and decimated by 2 (BigVGAN's
anti-aliased multi-periodicity composition). The small CPU profiles switch it off (it costs about
2x); the released weights need it on.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import weight_norm

from ..mel import MelConfig
from .prior import griffin_lim

#: Kaiser-sinc filter length of the anti-aliased activations (BigVGAN: 12).
AA_TAPS = 12


def kaiser_sinc(cutoff: float, half_width: float, taps: int) -> Tensor:
    """Low-pass FIR ``[1, 1, taps]`` of unit DC gain, cutoff and transition half-width in cycles/sample.

    Kaiser's design rule: attenuation ``A = 2.285 (taps/2 - 1) pi (4 half_width) + 7.95`` dB and
    ``beta`` from ``A``; even lengths are sampled at half-integer offsets.
    """
    half = taps // 2
    attenuation = 2.285 * (half - 1) * math.pi * (4 * half_width) + 7.95
    if attenuation > 50:
        beta = 0.1102 * (attenuation - 8.7)
    elif attenuation >= 21:
        beta = 0.5842 * (attenuation - 21) ** 0.4 + 0.07886 * (attenuation - 21)
    else:
        beta = 0.0
    window = torch.kaiser_window(taps, periodic=False, beta=beta, dtype=torch.float64)
    if taps % 2 == 0:
        offsets = torch.arange(-half, half, dtype=torch.float64) + 0.5
    else:
        offsets = torch.arange(taps, dtype=torch.float64) - half
    h = 2 * cutoff * window * torch.sinc(2 * cutoff * offsets)
    return (h / h.sum()).float().view(1, 1, taps)


class PeriodicActivation(nn.Module):
    """Snake or SnakeBeta over ``[B, C, T]``, optionally anti-aliased (2x oversampled)."""

    def __init__(self, channels: int, kind: str, logscale: bool, anti_alias: bool) -> None:
        super().__init__()
        if kind not in ("snake", "snakebeta"):
            raise ValueError(f"unknown activation {kind!r} (snake, snakebeta)")
        self.kind, self.logscale, self.anti_alias = kind, logscale, anti_alias
        init = torch.zeros(channels) if logscale else torch.ones(channels)
        self.alpha = nn.Parameter(init.clone())
        if kind == "snakebeta":
            self.beta = nn.Parameter(init.clone())
        if anti_alias:
            taps = kaiser_sinc(0.25, 0.3, AA_TAPS)
            self.register_buffer("up_filter", taps.clone())
            self.register_buffer("down_filter", taps.clone())

    def _act(self, x: Tensor) -> Tensor:
        alpha = self.alpha.view(1, -1, 1)
        beta = self.beta.view(1, -1, 1) if self.kind == "snakebeta" else alpha
        if self.logscale:
            alpha, beta = alpha.exp(), beta.exp()
        return x + torch.sin(alpha * x).pow(2) / (beta + 1e-9)

    def forward(self, x: Tensor) -> Tensor:
        if not self.anti_alias:
            return self._act(x)
        channels = x.shape[1]
        # 2x upsampling: zero-stuffing convolution with the low-pass (gain 2), edges replicated
        pad = AA_TAPS // 2 - 1
        crop = pad * 2 + (AA_TAPS - 2) // 2
        up = F.conv_transpose1d(
            F.pad(x, (pad, pad), mode="replicate"),
            self.up_filter.expand(channels, 1, AA_TAPS),
            stride=2,
            groups=channels,
        )
        up = 2.0 * up[..., crop : up.shape[-1] - crop]
        y = self._act(up)
        # low-pass and decimate by 2
        y = F.pad(y, (AA_TAPS // 2 - 1, AA_TAPS // 2), mode="replicate")
        return F.conv1d(y, self.down_filter.expand(channels, 1, AA_TAPS), stride=2, groups=channels)


def _conv(c_in: int, c_out: int, kernel: int, dilation: int = 1, bias: bool = True) -> nn.Module:
    conv = nn.Conv1d(
        c_in, c_out, kernel, dilation=dilation, padding=dilation * (kernel - 1) // 2, bias=bias
    )
    return weight_norm(conv)  # PyTorch's default init, as BigVGAN effectively has


class AMPUnit(nn.Module):
    """``x + conv2(act2(conv1(act1(x))))``, ``conv1`` dilated."""

    def __init__(self, channels: int, kernel: int, dilation: int, act: dict[str, Any]) -> None:
        super().__init__()
        self.act1 = PeriodicActivation(channels, **act)
        self.conv1 = _conv(channels, channels, kernel, dilation)
        self.act2 = PeriodicActivation(channels, **act)
        self.conv2 = _conv(channels, channels, kernel, 1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(self.act2(self.conv1(self.act1(x))))


class AMPBlock(nn.Module):
    """A chain of :class:`AMPUnit` with one kernel size and the given dilations."""

    def __init__(
        self, channels: int, kernel: int, dilations: list[int], act: dict[str, Any]
    ) -> None:
        super().__init__()
        self.units = nn.ModuleList(AMPUnit(channels, kernel, d, act) for d in dilations)

    def forward(self, x: Tensor) -> Tensor:
        for unit in self.units:
            x = unit(x)
        return x


class Stage(nn.Module):
    """Transposed-conv upsampling by ``rate`` then the mean of the AMP blocks."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        rate: int,
        kernel: int,
        block_kernels: list[int],
        dilations: list[list[int]],
        act: dict[str, Any],
    ) -> None:
        super().__init__()
        up = nn.ConvTranspose1d(c_in, c_out, kernel, stride=rate, padding=(kernel - rate) // 2)
        self.up = weight_norm(up)
        self.blocks = nn.ModuleList(
            AMPBlock(c_out, k, d, act) for k, d in zip(block_kernels, dilations, strict=True)
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.up(x)
        out = self.blocks[0](x)
        for block in self.blocks[1:]:
            out = out + block(x)
        return out / len(self.blocks)


#: The generator's ``model`` keys and their defaults (the small CPU profile).
MODEL_DEFAULTS: dict[str, Any] = {
    "upsample_rates": [8, 4, 2, 2, 2, 2],
    "upsample_kernel_sizes": [16, 8, 4, 4, 4, 4],
    "initial_channels": 128,
    "min_channels": 16,
    "resblock_kernel_sizes": [3, 7],
    "resblock_dilations": [[1, 3, 5], [1, 3, 5]],
    "activation": "snakebeta",
    "snake_logscale": True,
    "anti_alias": False,
    "tanh_at_final": False,
    "bias_at_final": False,
    "input_shift": 5.0,
    "input_scale": 0.3,
    "prior_iters": 32,
}


def stage_channels(model: dict[str, Any]) -> list[int]:
    """``[C0, C1, ..., C_S]``: channels entering the first stage and leaving each stage."""
    channels = [int(model["initial_channels"])]
    for _ in model["upsample_rates"]:
        channels.append(max(channels[-1] // 2, int(model["min_channels"])))
    return channels


def check_model(model: dict[str, Any], mel: MelConfig) -> str | None:
    """A problem with the generator config for this mel, or None."""
    rates, kernels = list(model["upsample_rates"]), list(model["upsample_kernel_sizes"])
    if not rates or len(rates) != len(kernels):
        return (
            "model.upsample_rates and model.upsample_kernel_sizes need the same (non-zero) length"
        )
    if math.prod(rates) != mel.hop_length:
        return f"the product of model.upsample_rates ({math.prod(rates)}) must equal the mel hop ({mel.hop_length})"
    for u, k in zip(rates, kernels):
        if u < 1 or k < u or (k - u) % 2:
            return (
                f"upsampling kernel {k} with rate {u}: need kernel >= rate and an even difference"
            )
    if len(model["resblock_kernel_sizes"]) != len(model["resblock_dilations"]) or not len(
        model["resblock_kernel_sizes"]
    ):
        return "model.resblock_kernel_sizes and model.resblock_dilations need the same length"
    if any(k % 2 == 0 for k in model["resblock_kernel_sizes"]):
        return "model.resblock_kernel_sizes must be odd"
    if model["activation"] not in ("snake", "snakebeta"):
        return f"model.activation must be snake or snakebeta, got {model['activation']!r}"
    if model["prior_iters"] < 0:
        return "model.prior_iters must be >= 0"
    if min(stage_channels(model)) < 1:
        return "model.initial_channels is too small for the number of stages (set min_channels)"
    return None


class Vocoder(nn.Module):
    """BigVGAN-style generator: ``[B, n_mels, F]`` log-mel -> ``[B, F * hop]`` waveform."""

    def __init__(self, mel: MelConfig, model: dict[str, Any]) -> None:
        super().__init__()
        problem = check_model(model, mel)
        if problem:
            raise ValueError(problem)
        self.mel = mel
        self.model_config = dict(model)
        act = {
            "kind": model["activation"],
            "logscale": bool(model["snake_logscale"]),
            "anti_alias": bool(model["anti_alias"]),
        }
        channels = stage_channels(model)
        self.input_conv = _conv(mel.n_mels, channels[0], 7)
        self.stages = nn.ModuleList(
            Stage(
                channels[i],
                channels[i + 1],
                int(u),
                int(k),
                [int(v) for v in model["resblock_kernel_sizes"]],
                [[int(d) for d in ds] for ds in model["resblock_dilations"]],
                act,
            )
            for i, (u, k) in enumerate(zip(model["upsample_rates"], model["upsample_kernel_sizes"]))
        )
        self.output_act = PeriodicActivation(channels[-1], **act)
        self.output_conv = _conv(channels[-1], 1, 7, bias=bool(model["bias_at_final"]))
        self.tanh_at_final = bool(model["tanh_at_final"])
        self.input_shift = float(model["input_shift"])
        self.input_scale = float(model["input_scale"])
        self.prior_iters = int(model["prior_iters"])
        if self.prior_iters:  # start as the Griffin-Lim prior exactly: zero output gain
            with torch.no_grad():
                self.output_conv.parametrizations.weight.original0.zero_()

    @property
    def hop(self) -> int:
        return self.mel.hop_length

    def forward(self, mel: Tensor) -> Tensor:
        """``[B, n_mels, F]`` -> ``[B, F * hop]``."""
        mel_in = mel
        if self.input_shift or self.input_scale != 1.0:
            mel = (mel + self.input_shift) * self.input_scale
        x = self.input_conv(mel)
        for stage in self.stages:
            x = stage(x)
        x = self.output_conv(self.output_act(x)).squeeze(1)
        if self.prior_iters:
            x = x + griffin_lim(mel_in, self.mel, self.prior_iters)
        return torch.tanh(x) if self.tanh_at_final else x.clamp(-1.0, 1.0)

    def receptive_frames(self) -> int:
        """A bound on the frames of context each side that reach one output sample."""
        reach, scale = 3.0, 1.0  # input conv: 3 frames each side
        kernels = self.model_config["resblock_kernel_sizes"]
        dilations = self.model_config["resblock_dilations"]
        for u, k in zip(
            self.model_config["upsample_rates"], self.model_config["upsample_kernel_sizes"]
        ):
            scale *= u
            reach += k / 2 / scale
            blocks = max(
                sum((kk - 1) // 2 * (d + 1) for d in ds) for kk, ds in zip(kernels, dilations)
            )
            reach += blocks / scale
        reach += 3 / scale
        if self.prior_iters:  # Griffin-Lim is global; a few frames keep chunk borders clean
            reach += 8
        return int(math.ceil(reach)) + 1
