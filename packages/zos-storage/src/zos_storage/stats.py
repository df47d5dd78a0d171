"""Pool statistics for the Monitor stream: filesystem usage and disk IO counters."""

from __future__ import annotations

import os
from pathlib import Path

from zos_storage.api import IOCountersStat, PoolStats

_SECTOR = 512


def parse_diskstats(text: str) -> dict[str, IOCountersStat]:
    """``/proc/diskstats`` -> counters by device name, as gopsutil reports them."""
    found: dict[str, IOCountersStat] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 14:
            continue
        name = fields[2]
        values = [int(v) for v in fields[3:14]]
        found[name] = IOCountersStat(
            ReadCount=values[0],
            MergedReadCount=values[1],
            ReadBytes=values[2] * _SECTOR,
            ReadTime=values[3],
            WriteCount=values[4],
            MergedWriteCount=values[5],
            WriteBytes=values[6] * _SECTOR,
            WriteTime=values[7],
            IopsInProgress=values[8],
            IoTime=values[9],
            WeightedIO=values[10],
            Name=name,
        )
    return found


def pool_stats(mountpoint: Path, device: str, diskstats: dict[str, IOCountersStat]) -> PoolStats:
    vfs = os.statvfs(mountpoint)
    total = vfs.f_blocks * vfs.f_frsize
    free = vfs.f_bavail * vfs.f_frsize
    used = (vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize
    inodes_used = vfs.f_files - vfs.f_ffree
    name = Path(device).resolve().name
    counters = {name: diskstats[name]} if name in diskstats else {}
    return PoolStats(
        Path=str(mountpoint),
        Fstype="btrfs",
        Total=total,
        Free=free,
        Used=used,
        UsedPercent=(100.0 * used / (used + free)) if used + free else 0.0,
        InodesTotal=vfs.f_files,
        InodesUsed=inodes_used,
        InodesFree=vfs.f_ffree,
        InodesUsedPercent=(100.0 * inodes_used / vfs.f_files) if vfs.f_files else 0.0,
        Counters=counters,
    )


def read_diskstats() -> dict[str, IOCountersStat]:
    return parse_diskstats(Path("/proc/diskstats").read_text())
