"""The t-ranges of the 1-, 2- and 4-partition models (SPEC 4), with no heavy imports: the
workflow reads them when it parses (every Snakemake start, on each cluster job too)."""

from __future__ import annotations

from .errors import InputError


def partition_boundaries(n_partitions: int) -> list[tuple[float, float]]:
    """t-ranges of 1, 2 or 4 partitions (SPEC 4); 4 split ``sigma_t^2`` uniformly."""
    if n_partitions == 1:
        edges = [0.0, 1.0]
    elif n_partitions == 2:
        edges = [0.0, 0.5, 1.0]
    elif n_partitions == 4:
        q = 2.0 ** (-4.0 / 3.0)
        edges = [0.0, q, 0.5, 1.0 - q, 1.0]
    else:
        raise ValueError(f"n_partitions must be 1, 2 or 4, got {n_partitions}")
    return list(zip(edges[:-1], edges[1:]))


def partition_range(index: int, n_partitions: int) -> tuple[float, float]:
    """t-range of partition ``index`` (0-based) of 1, 2 or 4 (SPEC 4)."""
    try:
        ranges = partition_boundaries(n_partitions)
    except ValueError as err:
        raise InputError(str(err)) from None
    if not 0 <= index < n_partitions:
        raise InputError(f"partition index {index} outside 0..{n_partitions - 1}")
    return ranges[index]
