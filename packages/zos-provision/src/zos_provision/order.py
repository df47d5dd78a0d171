"""Upstream's install order (spec §3.1), fixed for every type."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

INSTALL_ORDER: tuple[str, ...] = (
    "zmount",
    "volume",
    "qsfs",
    "network",
    "network-light",
    "ipv4",
    "ip",
    "zdb",
    "zmachine",
    "zmachine-light",
    "zlogs",
    "gateway-name-proxy",
    "gateway-fqdn-proxy",
)
_RANK = {t: i for i, t in enumerate(INSTALL_ORDER)}
SIZED_TYPES = frozenset({"zmount", "volume"})
SHARABLE_TYPES = frozenset({"network", "network-light"})

T = TypeVar("T")


def _size(data: Any) -> int:
    if isinstance(data, dict):
        size = data.get("size")
        if isinstance(size, int) and not isinstance(size, bool):
            return size
    return 0


def install_sorted(
    items: Iterable[T],
    wtype: Callable[[T], str],
    data: Callable[[T], Any],
    reverse: bool = False,
) -> list[T]:
    """Stable sort into install order; zmount and volume biggest first.

    ``reverse`` gives the removal/pause order: exactly the install order walked backwards.
    """

    def key(item: T) -> tuple[int, int]:
        kind = wtype(item)
        rank = _RANK.get(kind, len(INSTALL_ORDER))
        return rank, -_size(data(item)) if kind in SIZED_TYPES else 0

    ordered = sorted(items, key=key)
    if reverse:
        ordered.reverse()
    return ordered
