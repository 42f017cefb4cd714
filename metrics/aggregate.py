"""Aggregation of per-item rows into a summary table with 95 % confidence intervals.

Groups rows by the given columns plus ``metric``. Statistics use only rows with ``status`` ok
and a finite value; the others are counted in ``n_undefined`` (the metric has no value, e.g.
SiSpec of silence) and ``n_failed`` (errors). Per group: ``mean``, ``std`` (sample standard
deviation, ddof = 1), ``n``, and a Student-t 95 % confidence interval of the mean,
``mean +- t(0.975, n - 1) * std / sqrt(n)`` (``ci95_low``, ``ci95_high``, ``ci95_halfwidth``;
empty for n < 2). The method is written in each row's ``ci_method``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .errors import MetricsError

CI_METHOD = "student-t 95% CI of the mean: mean +- t(0.975, n-1) * std(ddof=1) / sqrt(n)"

STAT_COLUMNS = (
    "mean",
    "std",
    "n",
    "ci95_low",
    "ci95_high",
    "ci95_halfwidth",
    "n_undefined",
    "n_failed",
    "ci_method",
)


def mean_ci(values: Sequence[float], level: float = 0.95) -> dict[str, float | int | None]:
    """Mean, std (ddof 1), n and Student-t interval of the mean at ``level`` (None if n < 2)."""
    x = np.asarray(values, dtype=np.float64)
    n = int(x.size)
    out: dict[str, float | int | None] = {
        "mean": float(x.mean()) if n else None,
        "std": None,
        "n": n,
        "ci95_low": None,
        "ci95_high": None,
        "ci95_halfwidth": None,
    }
    if n >= 2:
        std = float(x.std(ddof=1))
        import scipy.stats  # here: a second of import that scoring alone does not need

        half = float(scipy.stats.t.ppf(0.5 + level / 2, n - 1)) * std / math.sqrt(n)
        out.update(
            std=std, ci95_low=out["mean"] - half, ci95_high=out["mean"] + half, ci95_halfwidth=half
        )
    return out


def _finite(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _fmt(value: float | int | None) -> str:
    if value is None:
        return ""
    return str(value) if isinstance(value, int) else repr(float(value))


def aggregate_rows(rows: Iterable[dict[str, Any]], by: Sequence[str]) -> list[dict[str, str]]:
    """Summary rows: one per group of ``by`` columns and metric, sorted by group."""
    rows = list(rows)
    keys = [c for c in by if c != "metric"] + ["metric"]
    if rows:
        missing = [c for c in keys if c not in rows[0]]
        if missing:
            raise MetricsError(
                f"column(s) {', '.join(missing)} not in the per-item CSV "
                f"(columns: {', '.join(rows[0])}); add them with evaluate --tag NAME=VALUE"
            )
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(str(row.get(c, "") or "") for c in keys)
        group = groups.setdefault(key, {"values": [], "n_undefined": 0, "n_failed": 0})
        status = row.get("status", "ok") or "ok"
        value = _finite(row.get("value", ""))
        if status == "undefined":
            group["n_undefined"] += 1
        elif status != "ok" or value is None:
            group["n_failed"] += 1
        else:
            group["values"].append(value)
    summary = []
    for key in sorted(groups):
        group = groups[key]
        stats = mean_ci(group["values"])
        out = dict(zip(keys, key))
        out.update({k: _fmt(v) for k, v in stats.items()})
        out.update(
            n_undefined=str(group["n_undefined"]),
            n_failed=str(group["n_failed"]),
            ci_method=CI_METHOD,
        )
        summary.append(out)
    return summary
