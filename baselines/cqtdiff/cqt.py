"""An invertible constant-Q transform: a "painless" non-stationary Gabor transform (NSGT).

Construction (Balazs, Dörfler, Jaillet, Holighaus, Velasco, "Theory, implementation and
applications of nonstationary Gabor frames", J. Comput. Appl. Math. 2011; Velasco, Holighaus,
Dörfler, Grill, "Constructing an invertible constant-Q transform with nonstationary Gabor frames",
DAFx 2011), written for this project from those descriptions:

- A segment ``x`` of ``L`` samples is taken as periodic; ``X = rfft(x)`` (bins ``0 .. L/2``).
- ``K = B * n`` log-spaced centre frequencies ``f_k = f_min 2^(k / B)``, ``f_min = (fs / 2) 2^-n``
  (``B`` bins per octave, ``n`` octaves, the top centre one bin below Nyquist). Window ``g_k`` is
  compactly supported in frequency: a rising half-Hann from ``f_(k-1)`` to ``f_k`` and a falling one
  from ``f_k`` to ``f_(k+1)`` (``f_(-1) = f_min 2^(-1/B)``, ``f_K = fs / 2``). Two residual bands
  complete the cover: a low-pass (1 up to ``f_(-1)``, then falling to 0 at ``f_0``) and a high-pass
  (rising from ``f_(K-1)`` to Nyquist). So ``sum_k g_k = 1`` and ``sum_k g_k^2 >= 1/2`` everywhere.
- Coefficients of window ``k`` (support of ``n_k <= M_k`` bins around its centre bin ``c_k``):
  ``c_k[m] = sqrt(M_k / L) * ifft_M_k(z_k)[m]`` with ``z_k[(nu - c_k) mod M_k] = X[nu] g_k[nu]``
  (the band moved to baseband, so a steady partial gives slowly turning phase), sampled every
  ``hop_k = L / M_k`` samples. The frame operator is then diagonal in frequency,
  ``S[nu] = (1/L) sum_k g_k[nu]^2``, and the canonical dual windows are ``h_k = g_k / sum_j g_j^2``:
  ``X[nu] = sum_k h_k[nu] * fft_M_k(c_k)[(nu - c_k) mod M_k] / sqrt(M_k / L)`` exactly.

Rasterisation by octave (ours, for the octave U-Net of :mod:`.network`): all bins of octave
``j`` (``j = 0`` the top one) share one hop ``hop_j = hop_0 2^j`` (bandwidths halve per octave),
capped where the low-pass band (width ``f_min``) would no longer fit; the low-pass band joins the
lowest octave, the high-pass band the top one. Octave ``j`` is a ``[..., R_j, M_j]`` complex array,
rows ordered from low to high frequency. Segment lengths must be multiples of :attr:`CQTLayout.quantum`
(the largest hop) so that all ``M_j = L / hop_j`` are integers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

#: Safety factor on the hops: a window of ``w`` Hz needs ``hop <= fs / w`` (plus rounding).
HOP_MARGIN = 0.97


@dataclass(frozen=True)
class CQTLayout:
    """Frequency scale and per-octave hops; depends on the rate and the scale, not the length."""

    sample_rate: int
    bins_per_octave: int
    octaves: int

    def __post_init__(self) -> None:
        if self.bins_per_octave < 2 or self.octaves < 1:
            raise ValueError(f"CQT: need bins_per_octave >= 2 and octaves >= 1, got {self}")
        if self.hops[0] < 1:
            raise ValueError(f"CQT: {self.bins_per_octave} bins per octave is too fine")

    @property
    def n_bins(self) -> int:
        return self.bins_per_octave * self.octaves

    @property
    def f_min(self) -> float:
        return self.sample_rate / 2 / 2**self.octaves

    def centres(self) -> np.ndarray:
        """``f_(-1) .. f_K`` in Hz: the ``K`` centres with one extra edge each side, ``[K + 2]``."""
        k = np.arange(-1, self.n_bins + 1)
        f = self.f_min * 2.0 ** (k / self.bins_per_octave)
        f[-1] = self.sample_rate / 2
        return f

    @cached_property
    def hops(self) -> tuple[int, ...]:
        """Hop in samples of octave ``j`` (0 = top), non-decreasing."""
        f = self.centres()
        widths = f[2:] - f[:-2]  # support width of bin k, [K]
        b = self.bins_per_octave
        top = max(widths[-b:].max(), self.sample_rate / 2 - f[-2])
        hop0 = math.floor(HOP_MARGIN * self.sample_rate / top)
        cap = HOP_MARGIN * self.sample_rate / f[1]  # the low-pass band: width f_0
        hops, hop = [], hop0
        for _ in range(self.octaves):
            hops.append(hop)
            if hop * 2 <= cap:
                hop *= 2
        return tuple(hops)

    @property
    def quantum(self) -> int:
        """Segment lengths must be multiples of this (the largest hop)."""
        return self.hops[-1]

    @property
    def rows(self) -> tuple[int, ...]:
        """Rows (windows) per octave, top first: B + 1 for the top and the lowest octave."""
        rows = [self.bins_per_octave] * self.octaves
        rows[0] += 1
        rows[-1] += 1
        return tuple(rows)

    def fit_length(self, length: int) -> int:
        """Smallest valid segment length >= ``length``."""
        return max(1, math.ceil(length / self.quantum)) * self.quantum


def _half_hann(u: np.ndarray) -> np.ndarray:
    """Rising half-Hann on ``u`` in [0, 1]: 0 -> 1."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(u, 0.0, 1.0))


def windows(layout: CQTLayout, length: int) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Every window on the rfft grid of ``length``, low to high: ``(centre_bin, bins, values)``.

    The low-pass band comes first, then the ``K`` constant-Q bins, then the high-pass band.
    """
    n_freq = length // 2 + 1
    freqs = np.arange(n_freq) * layout.sample_rate / length
    f = layout.centres()  # f[i + 1] = f_i
    out: list[tuple[int, np.ndarray, np.ndarray]] = []
    # low-pass: 1 on [0, f_-1], falling to 0 at f_0
    g = np.where(freqs <= f[0], 1.0, 1.0 - _half_hann((freqs - f[0]) / (f[1] - f[0])))
    g[freqs >= f[1]] = 0.0
    out.append((0, *_support(g)))
    for k in range(layout.n_bins):
        lo, mid, hi = f[k], f[k + 1], f[k + 2]
        rise = _half_hann((freqs - lo) / (mid - lo))
        fall = 1.0 - _half_hann((freqs - mid) / (hi - mid))
        g = np.where(freqs <= mid, rise, fall)
        g[(freqs <= lo) | (freqs >= hi)] = 0.0
        out.append((int(round(mid * length / layout.sample_rate)), *_support(g)))
    # high-pass: rising from f_(K-1) to Nyquist
    g = _half_hann((freqs - f[-2]) / (f[-1] - f[-2]))
    g[freqs <= f[-2]] = 0.0
    out.append((n_freq - 1, *_support(g)))
    return out


def _support(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    idx = np.flatnonzero(g > 0)
    return idx, g[idx]


class NSGT(torch.nn.Module):
    """Forward and exact inverse CQT of fixed-length segments (no learned parameters).

    ``forward(x [..., L]) -> list of octave coefficients [..., R_j, M_j]`` (complex, top octave
    first); ``inverse(list) -> [..., L]`` (real). Both are linear and differentiable; the dtype
    follows the input (float32 or float64; the tables are built in float64).
    """

    def __init__(self, layout: CQTLayout, length: int) -> None:
        super().__init__()
        if length % layout.quantum:
            raise ValueError(f"CQT: length {length} is not a multiple of {layout.quantum}")
        self.layout, self.length = layout, length
        n_freq = length // 2 + 1
        wins = windows(layout, length)
        denom = np.zeros(n_freq)
        for _, idx, g in wins:
            denom[idx] += g**2
        if denom.min() <= 0:
            raise ValueError("CQT: the windows do not cover every frequency")
        # octave j (top first) holds bins k in [K - (j+1)B, K - jB) (+ the residual bands)
        b, n_bins = layout.bins_per_octave, layout.n_bins
        groups: list[list[int]] = []
        for j in range(layout.octaves):
            first, last = n_bins - (j + 1) * b, n_bins - j * b  # bin indices; window = bin + 1
            members = list(range(first + 1, last + 1))
            if j == 0:
                members.append(n_bins + 1)
            if j == layout.octaves - 1:
                members.insert(0, 0)
            groups.append(members)
        self.shapes: list[tuple[int, int]] = []
        self.scales: list[float] = []
        src_all, win_all = [], []
        inv_nu, inv_flat, inv_val = [], [], []  # the inverse gathers per rfft bin
        offset = 0
        for j, members in enumerate(groups):
            m = length // layout.hops[j]
            src = np.zeros((len(members), m), dtype=np.int64)
            win = np.zeros((len(members), m))
            for r, w in enumerate(members):
                centre, idx, g = wins[w]
                if len(idx) > m:
                    raise ValueError(
                        f"CQT: window {w} spans {len(idx)} bins > {m} frames at length {length}"
                    )
                pos = (idx - centre) % m
                src[r, pos] = idx
                win[r, pos] = g
                inv_nu.append(idx)
                inv_flat.append(offset + r * m + pos)
                inv_val.append(g / denom[idx])
            offset += len(members) * m
            self.shapes.append((len(members), m))
            self.scales.append(math.sqrt(m / length))
            src_all.append(torch.from_numpy(src))
            win_all.append(torch.from_numpy(win))
        nu, flat, val = (np.concatenate(a) for a in (inv_nu, inv_flat, inv_val))
        order = np.argsort(nu, kind="stable")
        nu, flat, val = nu[order], flat[order], val[order]
        first = np.searchsorted(nu, nu)  # index of the first entry of each bin
        slot = np.arange(len(nu)) - first
        inv_idx = np.zeros((slot.max() + 1, n_freq), dtype=np.int64)
        inv_w = np.zeros((slot.max() + 1, n_freq))
        inv_idx[slot, nu], inv_w[slot, nu] = flat, val
        for j, (src, win) in enumerate(zip(src_all, win_all)):
            self.register_buffer(f"src{j}", src, persistent=False)
            self.register_buffer(f"win{j}", win, persistent=False)
        self.register_buffer("inv_idx", torch.from_numpy(inv_idx), persistent=False)
        self.register_buffer("inv_w", torch.from_numpy(inv_w), persistent=False)
        self._cast: dict[tuple, tuple[list[torch.Tensor], torch.Tensor]] = {}

    def _tables(self, dtype: torch.dtype) -> tuple[list[torch.Tensor], torch.Tensor]:
        key = (dtype, self.inv_w.device)
        if key not in self._cast:
            wins = [getattr(self, f"win{j}").to(dtype) for j in range(len(self.shapes))]
            self._cast[key] = (wins, self.inv_w.to(dtype))
        return self._cast[key]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.shape[-1] != self.length:
            raise ValueError(f"CQT: expected length {self.length}, got {x.shape[-1]}")
        spec = torch.fft.rfft(x, dim=-1)
        wins, _ = self._tables(x.dtype)
        out = []
        for j, scale in enumerate(self.scales):
            z = spec[..., getattr(self, f"src{j}")] * wins[j]
            out.append(torch.fft.ifft(z, dim=-1) * scale)
        return out

    def inverse(self, coefs: list[torch.Tensor]) -> torch.Tensor:
        _, inv_w = self._tables(coefs[0].real.dtype)
        flat = torch.cat(
            [
                (torch.fft.fft(c, dim=-1) / scale).flatten(-2)
                for c, scale in zip(coefs, self.scales)
            ],
            dim=-1,
        )
        spec = (flat[..., self.inv_idx] * inv_w).sum(dim=-2)
        return torch.fft.irfft(spec, n=self.length, dim=-1)


_CACHE: dict[tuple[CQTLayout, int, str], NSGT] = {}


def nsgt_for(layout: CQTLayout, length: int, device: torch.device | str = "cpu") -> NSGT:
    """A cached :class:`NSGT` on ``device`` (the tables take a moment to build)."""
    key = (layout, length, str(device))
    if key not in _CACHE:
        if len(_CACHE) >= 8:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = NSGT(layout, length).to(device)
    return _CACHE[key]
