"""Restoration as an inverse problem ``y = A(x)``: reconstruction guidance and data consistency.

CQTDiff (Moliner et al. 2023, sec. 3.2; the sampler of the official code) changes the
denoised estimate at every evaluation of the sampler:

1. Reconstruction guidance: ``g = grad_x ||y - A(D(x; s))||_2`` (through the network), and
   ``D <- D - xi s sqrt(L) g / ||g||`` (the official step ``xi / (s ||g|| / sqrt(L))`` on the
   score, written on ``D``; ``L`` = samples per segment, so the change has RMS ``xi s``).
   The squared and the plain norm give the same normalised step.
2. Data consistency (for linear ``A`` whose known part is a projection): ``D <- y + D - A(D)``,
   i.e. the known samples (inpainting) or the known band (bandwidth extension) are pasted into
   the denoised estimate (not into the noisy state).

Operators (``[B, L] -> [B, L]``):

- inpainting: ``A(x) = m * x`` with ``m = 1`` outside the gaps;
- bandwidth extension: a brick-wall low-pass through the FFT of the segment (bins below the
  cutoff kept). The evaluation's degradation (soxr resampling to ``2 f_c`` and back,
  :func:`metrics.degradations.bandwidth_limit`) is not differentiable; the brick wall has the
  same pass band edge (soxr's transition band just below ``f_c`` is the one difference).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .edm import Denoiser

Operator = Callable[[torch.Tensor], torch.Tensor]


def lowpass(sample_rate: int, cutoff_hz: float) -> Operator:
    """Brick-wall low-pass ``[..., L] -> [..., L]``: rfft bins below ``cutoff_hz`` kept."""

    def apply(x: torch.Tensor) -> torch.Tensor:
        n = x.shape[-1]
        spec = torch.fft.rfft(x, dim=-1)
        freqs = torch.fft.rfftfreq(n, 1.0 / sample_rate).to(x.device)
        return torch.fft.irfft(spec * (freqs < cutoff_hz).to(spec.real.dtype), n=n, dim=-1)

    return apply


def masking(mask: torch.Tensor) -> Operator:
    """``x -> mask * x`` (``mask [L]`` or ``[B, L]``, 1 where samples are known)."""
    return lambda x: x * mask.to(x.device, x.dtype)


class GuidedDenoiser:
    """``denoise`` with reconstruction guidance (``xi > 0``) and optional data consistency."""

    def __init__(
        self,
        denoise: Denoiser,
        operator: Operator,
        y: torch.Tensor,
        xi: float = 0.2,
        consistency: bool = True,
    ) -> None:
        self.denoise, self.operator, self.y = denoise, operator, y
        self.xi, self.consistency = float(xi), consistency

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        if self.xi > 0:
            with torch.enable_grad():
                x_in = x.detach().requires_grad_(True)
                x0 = self.denoise(x_in, sigma)
                residual = torch.linalg.vector_norm(self.y - self.operator(x0), dim=-1).sum()
                grad = None
                if residual.requires_grad:
                    (grad,) = torch.autograd.grad(residual, x_in, allow_unused=True)
            x0 = x0.detach()
            if grad is not None:
                n = x.shape[-1]
                norm = torch.linalg.vector_norm(grad, dim=-1, keepdim=True)
                s = sigma[:, None].to(x0.dtype)
                step = (
                    self.xi * s**2 / (s * norm / n**0.5 + 1e-6)
                )  # official: xi / (s |g| / sqrt(L))
                x0 = x0 - step * grad
        else:
            with torch.no_grad():
                x0 = self.denoise(x, sigma)
        if self.consistency:
            x0 = self.y + x0 - self.operator(x0)
        return x0.detach()
