"""noded's contract: modules ``registrar`` and ``node`` as upstream (zbus.md §13).

- ``registrar``/``registrar``@0.0.1 (Registrar): NodeID(), TwinID(); both fail until the node
  is registered on the chain.
- ``node``/``system``@0.0.1 (SystemMonitor): NodeID(), GetNodeFeatures() and the streams CPU,
  Memory, Disks, Nics.
- ``node``/``host``@0.0.1 (HostMonitor): the Uptime stream.

Stream values are gopsutil structures (Go field names, embedded structs inlined).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

import zos_zbus as zbus

REGISTRAR_MODULE = "registrar"
REGISTRAR_OBJECT = "registrar"
NODE_MODULE = "node"
SYSTEM_OBJECT = "system"
HOST_OBJECT = "host"
VERSION = "0.0.1"


class RegistrationError(zbus.CallError):
    """The node is not registered (yet); the message says why."""


class _Go(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TimesStat(_Go):
    """pkg.TimesStat: gopsutil cpu.TimesStat (inlined) + Percent + Time."""

    CPU: str = "cpu-total"
    User: float = 0.0
    System: float = 0.0
    Idle: float = 0.0
    Nice: float = 0.0
    Iowait: float = 0.0
    Irq: float = 0.0
    Softirq: float = 0.0
    Steal: float = 0.0
    Guest: float = 0.0
    GuestNice: float = 0.0
    Percent: float = 0.0
    Time: datetime = Field(default_factory=lambda: datetime.now(UTC))


class VirtualMemoryStat(_Go):
    """gopsutil mem.VirtualMemoryStat (the fields a node reports)."""

    Total: int = 0
    Available: int = 0
    Used: int = 0
    UsedPercent: float = 0.0
    Free: int = 0
    Active: int = 0
    Inactive: int = 0
    Buffers: int = 0
    Cached: int = 0
    Shared: int = 0


class DiskIOCountersStat(_Go):
    """pkg.DiskIOCountersStat: gopsutil disk.IOCountersStat (inlined) + Time."""

    ReadCount: zbus.U64 = 0
    MergedReadCount: zbus.U64 = 0
    WriteCount: int = 0
    MergedWriteCount: int = 0
    ReadBytes: int = 0
    WriteBytes: int = 0
    ReadTime: int = 0
    WriteTime: int = 0
    IopsInProgress: int = 0
    IoTime: int = 0
    WeightedIO: int = 0
    Name: str = ""
    SerialNumber: str = ""
    Label: str = ""
    Time: datetime = Field(default_factory=lambda: datetime.now(UTC))


class NicIOCounterStat(_Go):
    """pkg.NicIOCounterStat: gopsutil net.IOCountersStat (inlined) + rates (bytes/s)."""

    Name: str = ""
    BytesSent: int = 0
    BytesRecv: int = 0
    PacketsSent: int = 0
    PacketsRecv: int = 0
    Errin: int = 0
    Errout: int = 0
    Dropin: int = 0
    Dropout: int = 0
    Fifoin: int = 0
    Fifoout: int = 0
    RateOut: int = 0
    RateIn: int = 0


@zbus.interface(module=REGISTRAR_MODULE, object=REGISTRAR_OBJECT, version=VERSION)
class Registrar:
    @zbus.method("NodeID", raises=RegistrationError)
    async def node_id(self) -> zbus.U32:
        """The chain's node id; fails until the node is registered."""
        raise NotImplementedError

    @zbus.method("TwinID", raises=RegistrationError)
    async def twin_id(self) -> zbus.U32:
        """The chain's twin id of the node key; fails until the node is registered."""
        raise NotImplementedError


@zbus.interface(module=NODE_MODULE, object=SYSTEM_OBJECT, version=VERSION)
class SystemMonitor:
    @zbus.method("NodeID")
    async def node_id(self) -> zbus.U32:
        raise NotImplementedError

    @zbus.method("GetNodeFeatures")
    async def get_node_features(self) -> list[str]:
        raise NotImplementedError

    @zbus.stream("CPU")
    def cpu(self) -> AsyncGenerator[TimesStat, None]:
        raise NotImplementedError

    @zbus.stream("Memory")
    def memory(self) -> AsyncGenerator[VirtualMemoryStat, None]:
        raise NotImplementedError

    @zbus.stream("Disks")
    def disks(self) -> AsyncGenerator[dict[str, DiskIOCountersStat], None]:
        raise NotImplementedError

    @zbus.stream("Nics")
    def nics(self) -> AsyncGenerator[list[NicIOCounterStat], None]:
        raise NotImplementedError


@zbus.interface(module=NODE_MODULE, object=HOST_OBJECT, version=VERSION)
class HostMonitor:
    @zbus.stream("Uptime")
    def uptime(self) -> AsyncGenerator[zbus.Duration, None]:
        """Time since boot (Go time.Duration)."""
        raise NotImplementedError
