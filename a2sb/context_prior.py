"""A context estimate of the missing magnitudes, the bridge's starting point in the masked region.

The paper fills the masked region of ``X1`` with Gaussian noise (eq. 8), and the network learns
the whole level and shape of what is missing. A network trained for a few hundred CPU steps does
not: measured on the default profile, its fills were 5-31 dB too quiet on ordinary music and
3-21 dB too loud where the music is quiet (a rest, a dark piano above 12 kHz), whatever the
context. With ``MaskConfig.fill_prior = "context"`` the masked region of ``X1`` starts instead from
an estimate read off the known region only, and the bridge learns the correction from there:

- rows missing above a cutoff (bandwidth extension): a power law in frequency. Per frame, the
  level of the band just below the cutoff (0.8-0.95 x the first missing row), extended with the
  slope (log magnitude against log frequency, clamped to <= 0) of the octave below the cutoff,
  the slope taken from the magnitudes averaged over ``span`` frames around the frame;
- frames missing entirely (inpainting): per row, a linear interpolation between the mean of the
  ``edge`` known frames on each side of the gap (one side only at a border).

It works on a non-negative magnitude array in any compression (the factorized representation's
``|S|^rho`` channel) and never reads a masked value.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

PRIORS = ("noise", "context")
TINY = 1e-6


def _runs(flags: torch.Tensor) -> list[tuple[int, int]]:
    """``[start, end)`` of every run of True in a 1-D bool tensor."""
    padded = torch.cat([flags.new_zeros(1), flags, flags.new_zeros(1)]).to(torch.int8)
    change = torch.nonzero(padded[1:] - padded[:-1]).flatten().tolist()
    return list(zip(change[0::2], change[1::2]))


def _frame_mean(values: torch.Tensor, span: int) -> torch.Tensor:
    """Mean over ``span | 1`` frames centred on each frame (fewer at the borders). ``[..., W]``."""
    if span <= 1:
        return values
    kernel = span | 1
    flat = values.reshape(-1, 1, values.shape[-1])
    pooled = F.avg_pool1d(flat, kernel, stride=1, padding=kernel // 2, count_include_pad=False)
    return pooled.reshape(values.shape)


def _bandwidth_prior(mag: torch.Tensor, first: int, span: int) -> torch.Tensor:
    """Power-law extension of ``mag`` [N, W] above row ``first``: ``[N - first, W]``."""
    # row k holds bin k + 1, at (k + 1) * rate / n_fft: log2 of it up to a constant
    logf = torch.log2(torch.arange(1, mag.shape[0] + 1, dtype=torch.float64, device=mag.device))
    top = mag[
        max(0, int(0.8 * first)) : max(1, int(0.95 * first))
    ].double()  # just below the cutoff
    level = top.mean(dim=0)  # [W]: per frame
    ref = max(1, first // 2)
    band = mag[ref:first].double()  # the octave below the cutoff
    if band.shape[0] >= 2:
        logm = torch.log(_frame_mean(band, span) + TINY)  # [R, W]
        x = logf[ref:first] - logf[ref:first].mean()
        slope = ((x[:, None] * (logm - logm.mean(dim=0))).sum(dim=0) / (x * x).sum()).clamp(max=0.0)
    else:
        slope = torch.zeros_like(level)
    anchor = float(torch.log2(torch.tensor(0.875 * first + 1.0)))
    ext = level[None, :] * torch.exp(slope[None, :] * (logf[first:, None] - anchor))
    return ext.to(mag.dtype)


def context_prior(
    mag: torch.Tensor, mask: torch.Tensor, edge: int = 3, span: int = 128
) -> torch.Tensor:
    """The context estimate of ``mag`` ``[..., N, W]`` where ``mask`` ``[..., N, W]`` is 1.

    Returns ``[..., N, W]``: the estimate in the masked region, 0 elsewhere. Only ``mag`` where
    ``mask`` is 0 is read. A column whose missing rows are not one band at the top and not the
    whole column gets 0 in its masked rows.
    """
    if mag.shape != mask.shape:
        raise ValueError(
            f"magnitude {tuple(mag.shape)} and mask {tuple(mask.shape)} differ in shape"
        )
    lead = mag.shape[:-2]
    mags = mag.reshape(-1, *mag.shape[-2:])
    masks = mask.reshape(-1, *mask.shape[-2:]) > 0
    out = torch.zeros_like(mags)
    for b in range(mags.shape[0]):
        out[b] = _one(mags[b] * (~masks[b]), masks[b], edge, span)
    return out.reshape(*lead, *mag.shape[-2:])


def _one(known: torch.Tensor, missing: torch.Tensor, edge: int, span: int) -> torch.Tensor:
    n_rows = known.shape[0]
    filled = known.clone()
    full = missing.all(dim=0)  # [W] frames missing entirely
    count = missing.sum(dim=0)
    first = n_rows - count  # a top band starts here when the column is a top band
    rows = torch.arange(n_rows, device=known.device)[:, None]
    top_band = (missing == (rows >= first[None, :])).all(dim=0) & (count > 0) & ~full
    with_data = known[:, ~full]  # the context of a power-law extension: every frame with data
    for start in sorted(set(first[top_band].tolist())):
        cols = top_band & (first == start)
        ext = _bandwidth_prior(with_data, start, span)
        filled[start:, cols] = ext[:, cols[~full]].clamp_min(0.0)
    for a, b in _runs(full):
        sides = [
            s for s in (filled[:, max(0, a - edge) : a], filled[:, b : b + edge]) if s.shape[1]
        ]
        if not sides:  # nothing known in the whole segment
            continue
        lo, hi = sides[0].mean(dim=1), sides[-1].mean(dim=1)  # one side only at a border
        w = torch.linspace(0.0, 1.0, b - a + 2, dtype=known.dtype, device=known.device)[1:-1]
        filled[:, a:b] = lo[:, None] * (1 - w) + hi[:, None] * w
    return filled * missing
