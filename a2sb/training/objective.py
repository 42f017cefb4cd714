"""The training objective of A2SB (paper eq. 8-10): the bridge of a run and its masked loss."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..bridge import BridgeSchedule
from ..masks import MaskConfig
from ..representation import STFTConfig, encode


@dataclass(frozen=True)
class BridgeSpec:
    """What turns audio into bridge pairs: the representation (``stft``, ``kind``), the
    degradation fill (``masks``) and the noise schedule."""

    stft: STFTConfig
    kind: str
    masks: MaskConfig
    schedule: BridgeSchedule

    def pair(
        self, wave: torch.Tensor, mask: torch.Tensor, fill: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(X0, X1)``: the clean representation of ``wave [..., L]`` and its degraded copy
        (eq. 8) under ``mask [..., N, W]`` with fill noise ``fill``."""
        x0 = encode(wave, self.stft, self.kind)
        return x0, self.masks.degrade(x0, mask, fill, rho=self.stft.rho)


def bridge_loss(
    model: nn.Module,
    batch: dict[str, torch.Tensor],
    spec: BridgeSpec,
    device: torch.device,
    precision: str = "fp32",
) -> torch.Tensor:
    """Eq. 10 on a micro-batch: the masked mean of ``(eps(X_t, t) - (X_t - X0) / sigma_t)^2``.

    ``batch`` holds ``wave [B, L]``, ``mask``/``keep [B, N, W]``, ``t [B]``, ``fill``/``z``
    ``[B, C, N, W]`` (:class:`~a2sb.training.dataset.CropDataset`). X0 = encode(wave); X1 from
    eq. 8 (:meth:`BridgeSpec.pair`); X_t from the bridge marginal (eq. 9) with noise z. The loss
    weight is ``M * keep`` (missing region, inside the file's true bandwidth), each example's
    masked mean is taken over its weighted bins and channels, and the batch loss is the mean of
    the examples' losses, so the gradient does not depend on how a global batch is split over
    devices and accumulation steps. An example with no weighted bin contributes 0.
    ``X_t - X0`` is formed directly (marginal of the pair (0, X1 - X0)) rather than by a
    subtraction that cancels in float32 at small t.
    """
    wave, mask, keep, t, fill, z = (
        batch[k].to(device, non_blocking=True) for k in ("wave", "mask", "keep", "t", "fill", "z")
    )
    x0, x1 = spec.pair(wave, mask, fill)  # [B, C, N, W]
    diff = spec.schedule.marginal(torch.zeros_like(x0), x1 - x0, t, z)  # X_t - X0
    target = diff / spec.schedule.sigma(t, diff)
    x_t = x0 + diff
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        pred = model(x_t, t)
    weight = (mask * keep).unsqueeze(1)  # [B, 1, N, W]
    err = (pred.float() - target) ** 2 * weight
    denom = (weight.sum(dim=(1, 2, 3)) * x0.shape[1]).clamp_min(1.0)
    return (err.sum(dim=(1, 2, 3)) / denom).mean()
