"""Node capacity, the system reserve and memory admission (spec §8)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from zos_provision.api import Capacity

GiB = 1024**3


@dataclass
class Memory:
    total: int
    available: int


class MemoryProbe(Protocol):
    def __call__(self) -> Memory: ...


def host_memory(meminfo: Path = Path("/proc/meminfo")) -> Memory:
    values: dict[str, int] = {}
    for line in meminfo.read_text().splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts:
            values[key] = int(parts[0]) * 1024
    return Memory(total=values["MemTotal"], available=values.get("MemAvailable", 0))


def system_reserve(total_mru: int, cache_size: int = 0) -> Capacity:
    """mru = max(10 % of RAM, 2 GiB) (upstream code, not its docs); sru = the node cache."""
    return Capacity(mru=max(total_mru // 10, 2 * GiB), sru=cache_size)


def host_total(memory: Memory, sru: int = 0, hru: int = 0) -> Capacity:
    return Capacity(cru=os.cpu_count() or 1, mru=memory.total, sru=sru, hru=hru)


class CapacityError(Exception):
    pass


def check_memory(required: int, booked: int, memory: Memory, reserve: int) -> None:
    """Admission: only memory, against max(booked + reserve, actually in use)."""
    in_use = memory.total - memory.available
    usable = max(memory.total - max(booked + reserve, in_use), 0)
    if required > usable:
        raise CapacityError(
            "failed to satisfy required capacity: cannot fulfil required memory size "
            f"{required} bytes out of usable {usable} bytes"
        )
