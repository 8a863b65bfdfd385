"""Quantiles from cumulative histogram buckets, computed the way PromQL's histogram_quantile is."""

from __future__ import annotations

import math
from collections.abc import Mapping


def histogram_quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """The q-quantile (0 < q < 1) of cumulative `buckets` {upper bound: count}, by linear
    interpolation inside the bucket holding the rank; None without observations.

    As in PromQL: the buckets need a +Inf bound, counts are made monotonic, the lowest
    bucket starts at 0, and a rank in the +Inf bucket yields the highest finite bound.
    """
    if not 0 < q < 1:
        raise ValueError(f"quantile must be within (0, 1), got {q}")
    bounds = sorted(buckets)
    if not bounds or bounds[-1] != math.inf:
        return None
    counts: list[float] = []
    for bound in bounds:  # scrapes are not atomic: a later bucket may lag behind
        counts.append(max(buckets[bound], counts[-1] if counts else 0.0))
    total = counts[-1]
    if total <= 0:
        return None
    rank = q * total
    index = next(i for i, count in enumerate(counts) if count >= rank)
    if index == len(bounds) - 1:
        return bounds[-2] if len(bounds) > 1 else None
    upper = bounds[index]
    if index == 0:
        if upper <= 0:
            return upper
        lower, below = 0.0, 0.0
    else:
        lower, below = bounds[index - 1], counts[index - 1]
    return lower + (upper - lower) * (rank - below) / (counts[index] - below)
