"""Exceptions of the metrics library: each carries a one-line message fit for a CSV cell."""

from __future__ import annotations


class MetricsError(Exception):
    """Base class of the library's errors (CLI: one line on stderr, exit status 2)."""


class AudioError(MetricsError):
    """An audio file or array that cannot be scored: missing, unreadable, empty, NaN or Inf."""


class MetricUndefined(MetricsError):
    """The metric has no value for this input (e.g. SiSpec of a silent signal); not a failure
    of the code, written as an empty value with this reason."""
