"""The system monitor streams (CPU, memory, disks, NICs, uptime) from psutil."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import psutil  # type: ignore[import-untyped]

from zos_noded.api import (
    DiskIOCountersStat,
    HostMonitor,
    NicIOCounterStat,
    Registrar,
    RegistrationError,
    SystemMonitor,
    TimesStat,
    VirtualMemoryStat,
)
from zos_noded.host import uptime_seconds

# What this node can run (upstream's GetNodeFeatures of a full zos node).
NODE_FEATURES = [
    "zmount", "network", "zdb", "zmachine", "volume", "ipv4", "ip", "gateway-name-proxy",
    "gateway-fqdn-proxy", "qsfs", "zlogs", "yggdrasil", "mycelium", "wireguard",
]


def cpu_sample() -> TimesStat:
    times = psutil.cpu_times()
    return TimesStat(
        User=times.user, System=times.system, Idle=times.idle, Nice=times.nice,
        Iowait=getattr(times, "iowait", 0.0), Irq=getattr(times, "irq", 0.0),
        Softirq=getattr(times, "softirq", 0.0), Steal=getattr(times, "steal", 0.0),
        Guest=getattr(times, "guest", 0.0), GuestNice=getattr(times, "guest_nice", 0.0),
        Percent=psutil.cpu_percent(interval=None), Time=datetime.now(UTC),
    )


def memory_sample() -> VirtualMemoryStat:
    mem = psutil.virtual_memory()
    return VirtualMemoryStat(
        Total=mem.total, Available=mem.available, Used=mem.used, UsedPercent=mem.percent,
        Free=mem.free, Active=getattr(mem, "active", 0), Inactive=getattr(mem, "inactive", 0),
        Buffers=getattr(mem, "buffers", 0), Cached=getattr(mem, "cached", 0),
        Shared=getattr(mem, "shared", 0),
    )


def disks_sample() -> dict[str, DiskIOCountersStat]:
    now = datetime.now(UTC)
    counters = psutil.disk_io_counters(perdisk=True) or {}
    return {
        name: DiskIOCountersStat(
            Name=name, ReadCount=c.read_count, WriteCount=c.write_count,
            ReadBytes=c.read_bytes, WriteBytes=c.write_bytes, ReadTime=c.read_time,
            WriteTime=c.write_time, MergedReadCount=getattr(c, "read_merged_count", 0),
            MergedWriteCount=getattr(c, "write_merged_count", 0),
            IoTime=getattr(c, "busy_time", 0), Time=now)
        for name, c in counters.items()
    }


def nics_sample(previous: dict[str, NicIOCounterStat], interval: float) -> list[NicIOCounterStat]:
    out = []
    for name, c in (psutil.net_io_counters(pernic=True) or {}).items():
        before = previous.get(name)
        rate_in = rate_out = 0
        if before is not None and interval > 0:
            rate_in = max(0, int((c.bytes_recv - before.BytesRecv) / interval))
            rate_out = max(0, int((c.bytes_sent - before.BytesSent) / interval))
        out.append(NicIOCounterStat(
            Name=name, BytesSent=c.bytes_sent, BytesRecv=c.bytes_recv,
            PacketsSent=c.packets_sent, PacketsRecv=c.packets_recv, Errin=c.errin,
            Errout=c.errout, Dropin=c.dropin, Dropout=c.dropout, RateIn=rate_in,
            RateOut=rate_out))
    return out


class RegistrationState(Registrar):
    """The ``registrar`` object: the ids once registration succeeded, an error before."""

    def __init__(self) -> None:
        self.node: int | None = None
        self.twin: int | None = None
        self.error = "registration in progress"
        self.registered = asyncio.Event()

    def set(self, node_id: int, twin_id: int) -> None:
        self.node, self.twin = node_id, twin_id
        self.registered.set()

    async def node_id(self) -> int:
        if self.node is None:
            raise RegistrationError(self.error)
        return self.node

    async def twin_id(self) -> int:
        if self.twin is None:
            raise RegistrationError(self.error)
        return self.twin


class NodeMonitor(SystemMonitor):
    """The ``system`` object: every stream yields one sample per ``interval`` seconds."""

    def __init__(self, registrar: RegistrationState, interval: float = 2.0) -> None:
        self.registrar = registrar
        self.interval = interval

    async def node_id(self) -> int:
        return self.registrar.node or 0

    async def get_node_features(self) -> list[str]:
        return list(NODE_FEATURES)

    async def cpu(self) -> AsyncIterator[TimesStat]:  # type: ignore[override]
        psutil.cpu_percent(interval=None)  # prime the percentage
        while True:
            await asyncio.sleep(self.interval)
            yield cpu_sample()

    async def memory(self) -> AsyncIterator[VirtualMemoryStat]:  # type: ignore[override]
        while True:
            yield memory_sample()
            await asyncio.sleep(self.interval)

    async def disks(self) -> AsyncIterator[dict[str, DiskIOCountersStat]]:  # type: ignore[override]
        while True:
            yield disks_sample()
            await asyncio.sleep(self.interval)

    async def nics(self) -> AsyncIterator[list[NicIOCounterStat]]:  # type: ignore[override]
        previous: dict[str, NicIOCounterStat] = {}
        while True:
            sample = nics_sample(previous, self.interval)
            previous = {nic.Name: nic for nic in sample}
            yield sample
            await asyncio.sleep(self.interval)


class UptimeMonitor(HostMonitor):
    """The ``host`` object."""

    def __init__(self, interval: float = 2.0) -> None:
        self.interval = interval

    async def uptime(self) -> AsyncIterator[timedelta]:  # type: ignore[override]
        while True:
            yield timedelta(seconds=uptime_seconds())
            await asyncio.sleep(self.interval)
