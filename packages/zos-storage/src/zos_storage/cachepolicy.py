"""How the cache volume's limit follows its usage (upstream's 5-minute resize rule)."""

from __future__ import annotations

GROW_PERCENT = 60
SHRINK_PERCENT = 20


def next_cache_limit(limit: int, exclusive: int, step: int) -> int:
    """The cache limit to set given the current limit and exclusive usage.

    >= 60 % used: grow by one step; < 20 %: twice the usage rounded up to a step; never
    below one step. A limit of 0 (unlimited) first becomes max(step, 2 x used).
    """
    if limit == 0:
        return max(step, 2 * exclusive)
    percent = exclusive * 100 // limit
    size = limit
    if percent >= GROW_PERCENT:
        size += step
    elif percent < SHRINK_PERCENT and size > step:
        size = (2 * exclusive // step) * step + step
    return max(size, step)
