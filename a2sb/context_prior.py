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

``fill_prior = "context-trend"`` changes the gap estimate only: each side's edge level is carried
into the gap along that side's own broadband level trend (a Burg-style extrapolation of the level
envelope from both sides, cross-faded by the same linear weights). The trend is the
least-squares slope, in dB per frame, of the frames' total power over the ``trend`` known frames
next to the gap, read away from the gap on each side (forward on the left, backward on the
right); slopes above ``-TREND_DEADZONE_DB`` count as flat (steady music keeps the
interpolation, a rising edge is not extrapolated upwards) and decays are bounded by
``TREND_MAX_DECAY_DB``. Measured on the default profile's MTD set: with the interpolation, a gap
whose left edge was already decaying (-3 dB per 50 ms into a rest before an onset) was filled
7.5 dB too loud, worse than silence. On development audio (``benchmarks/bench_gap_prior.py``:
77 excerpts of the valid items and every 4th train item, prior alone) the trend raised the worst
gap's SiSpec gain over silence from -1.08 to +0.24 dB at 0.5 s and from -3.02 to -2.66 dB at 1 s,
and cost 0.05, 0.12 and 0.22 dB of the mean gain (2.70, 2.64, 2.71 dB) at 0.3, 0.5 and 1 s.

``fill_prior = "context-phase"`` is "context-trend" with the gap's phase channels starting from
the extrapolation of :mod:`a2sb.phase_prior` instead of noise alone.

It works on a non-negative magnitude array in compression ``rho`` (the factorized
representation's ``|S|^rho`` channel) and never reads a masked value.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

PRIORS = ("noise", "context", "context-trend", "context-phase")
#: the priors whose gaps follow the edges' level trends ("context-phase": also a2sb.phase_prior)
TREND_PRIORS = ("context-trend", "context-phase")
TINY = 1e-6
TREND_FRAMES = 8  # known frames per side whose level trend is extrapolated ("context-trend")
TREND_DEADZONE_DB = 0.1  # dB/frame: slower decays, and every rise, count as flat
TREND_MAX_DECAY_DB = 3.0  # dB/frame: the steepest decay extrapolated
EDGE_FRAMES = 3  # known frames per side whose mean level a gap is interpolated between
SPAN_FRAMES = 128  # frames around a frame whose magnitudes give its power-law slope (bandwidth)


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


def _level_slope(frames: torch.Tensor, rho: float) -> float:
    """Least-squares slope (dB per frame) of the total power of ``frames`` [N, K] (``|S|^rho``),
    clamped as the ``context-trend`` prior extrapolates it: to ``[-max decay, 0]`` after the dead
    zone. 0 with fewer than 2 frames."""
    k = frames.shape[1]
    if k < 2:
        return 0.0
    power = frames.double().clamp_min(0.0).pow(2.0 / rho).sum(dim=0)
    level = 10.0 * torch.log10(power + 1e-20)
    x = torch.arange(k, dtype=torch.float64, device=frames.device)
    x = x - x.mean()
    slope = float((x * (level - level.mean())).sum() / (x * x).sum())
    return min(0.0, max(slope + TREND_DEADZONE_DB, -TREND_MAX_DECAY_DB))


def _amplitude(gain_db: torch.Tensor, rho: float) -> torch.Tensor:
    """A power gain in dB as a factor on ``|S|^rho``."""
    return torch.pow(10.0, gain_db * rho / 20.0)


def context_prior(
    mag: torch.Tensor,
    mask: torch.Tensor,
    edge: int = EDGE_FRAMES,
    span: int = SPAN_FRAMES,
    trend: int = 0,
    rho: float = 0.25,
) -> torch.Tensor:
    """The context estimate of ``mag`` ``[..., N, W]`` (``|S|^rho``) where ``mask`` ``[..., N, W]``
    is 1.

    ``trend`` 0: gaps are interpolated between their edges ("context"); > 0: each edge follows
    the level trend of its ``trend`` nearest known frames ("context-trend").
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
        out[b] = _one(mags[b] * (~masks[b]), masks[b], edge, span, trend, rho)
    return out.reshape(*lead, *mag.shape[-2:])


def _one(
    known: torch.Tensor, missing: torch.Tensor, edge: int, span: int, trend: int, rho: float
) -> torch.Tensor:
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
    n_frames = known.shape[1]
    for a, b in _runs(full):
        if a == 0 and b == n_frames:  # nothing known in the whole segment
            continue
        length = b - a
        steps = torch.arange(1, length + 1, dtype=torch.float64, device=known.device)
        sides = []  # (edge level [N], gain [L] along the gap from left to right)
        if a > 0:  # trend 0 reads no frames: slope 0, the plain interpolation
            slope = _level_slope(filled[:, max(0, a - trend) : a], rho)
            sides.append((filled[:, max(0, a - edge) : a].mean(dim=1), steps * slope))
        if b < n_frames:  # the right side's trend read backwards, from its edge into the gap
            slope = _level_slope(filled[:, b : b + trend].flip(1), rho)
            sides.append((filled[:, b : b + edge].mean(dim=1), steps.flip(0) * slope))
        (lo, gain_lo), (hi, gain_hi) = sides[0], sides[-1]  # one side only at a border
        w = torch.linspace(0.0, 1.0, length + 2, dtype=torch.float64, device=known.device)[1:-1]
        w_lo = ((1 - w) * _amplitude(gain_lo, rho)).to(known.dtype)
        w_hi = (w * _amplitude(gain_hi, rho)).to(known.dtype)
        filled[:, a:b] = lo[:, None] * w_lo[None, :] + hi[:, None] * w_hi[None, :]
    return filled * missing
