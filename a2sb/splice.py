"""Splicing generated audio into kept audio at gap edges, with short cross-fades.

``splice_gaps(kept, generated, gaps, fade)`` returns ``kept`` outside the gaps and ``generated``
inside them; over ``fade`` samples at every gap edge the two are cross-faded, so the output has
no step where they meet. ``side="outside"`` fades just outside the gap (A2SB: its generated frames
reach a window beyond the gap, and the gap itself stays fully generated); ``side="inside"`` fades
just inside (IBAR: its generation is only valid inside). ``law="equal-power"`` uses
``cos / sin`` gains (constant power for uncorrelated signals), ``law="equal-gain"`` the raised
cosine ``(1 - w, w)`` (constant sum).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

Side = Literal["inside", "outside"]
Law = Literal["equal-power", "equal-gain"]


def gap_spans(gaps: Sequence[tuple[float, float]] | None, rate: int) -> list[tuple[int, int]]:
    """Gaps in seconds as sample spans ``[(start, stop), ...]`` at ``rate`` (rounded)."""
    return [(int(round(a * rate)), int(round(b * rate))) for a, b in gaps or []]


def fade_in(length: int, law: Law) -> tuple[np.ndarray, np.ndarray]:
    """Gains ``(kept, generated)`` over ``length`` samples, from kept to generated."""
    u = (np.arange(length) + 0.5) / max(length, 1)
    if law == "equal-power":
        return np.cos(0.5 * np.pi * u), np.sin(0.5 * np.pi * u)
    if law == "equal-gain":
        w = 0.5 - 0.5 * np.cos(np.pi * u)
        return 1.0 - w, w
    raise ValueError(f"unknown fade law {law!r}")


def splice_gaps(
    kept: np.ndarray,
    generated: np.ndarray,
    gaps: Sequence[tuple[int, int]],
    fade: int,
    side: Side = "outside",
    law: Law = "equal-power",
) -> np.ndarray:
    """``[L]``: ``kept`` outside the sample ranges ``gaps`` ``[start, end)``, ``generated`` inside,
    cross-faded over ``fade`` samples at each edge (none at the file's ends)."""
    if kept.shape != generated.shape:
        raise ValueError(f"kept {kept.shape} and generated {generated.shape} differ in shape")
    n_total = kept.shape[-1]
    weight_kept, weight_gen = splice_weights(0, n_total, n_total, gaps, fade, side, law)
    out = weight_kept * kept + weight_gen * generated
    return out.astype(np.result_type(kept.dtype, generated.dtype), copy=False)


def splice_weights(
    first: int,
    stop: int,
    n_total: int,
    gaps: Sequence[tuple[int, int]],
    fade: int,
    side: Side = "outside",
    law: Law = "equal-power",
) -> tuple[np.ndarray, np.ndarray]:
    """The gains ``(kept, generated)`` of :func:`splice_gaps` on samples ``[first, stop)`` of a
    signal of ``n_total`` samples: the same numbers whichever block they are computed in (the
    streaming restoration splices block by block)."""
    weight_gen = np.zeros(stop - first)
    spans = [(max(0, start), min(n_total, end)) for start, end in gaps]
    spans = [(a, b) for a, b in spans if b > a]
    for a, b in spans:
        lo, hi = max(a, first), min(b, stop)
        if hi > lo:
            weight_gen[lo - first : hi - first] = 1.0
    weight_kept = 1.0 - weight_gen
    for (start, end), (a, b) in zip([g for g in gaps if min(n_total, g[1]) > max(0, g[0])], spans):
        if side == "outside":
            lead = (max(0, a - fade), a)
            trail = (b, min(n_total, b + fade))
        else:
            r = min(fade, (b - a) // 2)
            lead, trail = (a, a + r), (b - r, b)
        raise_gen = side == "outside"
        if start >= 0 and lead[1] > lead[0]:
            g_kept, g_gen = fade_in(lead[1] - lead[0], law)
            _blend(weight_kept, weight_gen, lead, first, stop, g_kept, g_gen, raise_gen)
        if end <= n_total and trail[1] > trail[0]:
            g_kept, g_gen = fade_in(trail[1] - trail[0], law)
            _blend(
                weight_kept, weight_gen, trail, first, stop, g_kept[::-1], g_gen[::-1], raise_gen
            )
    return weight_kept, weight_gen


def _blend(
    weight_kept: np.ndarray,
    weight_gen: np.ndarray,
    span: tuple[int, int],
    first: int,
    stop: int,
    g_kept: np.ndarray,
    g_gen: np.ndarray,
    raise_gen: bool,
) -> None:
    """Apply fade gains over ``span`` (absolute samples; the weights hold ``[first, stop)``)
    where they raise (outside fades: never lowering a sample another gap generates) or lower
    (inside fades) the generated share."""
    a, b = max(span[0], first), min(span[1], stop)
    if b <= a:
        return
    g_kept, g_gen = g_kept[a - span[0] : b - span[0]], g_gen[a - span[0] : b - span[0]]
    current = weight_gen[a - first : b - first]
    take = g_gen > current if raise_gen else g_gen < current
    weight_gen[a - first : b - first] = np.where(take, g_gen, current)
    weight_kept[a - first : b - first] = np.where(take, g_kept, weight_kept[a - first : b - first])
