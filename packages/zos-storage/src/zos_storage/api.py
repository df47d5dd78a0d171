"""The storage module's contract: what storaged does, the types it exchanges, its errors.

storaged owns the node's raw disks (only those it is explicitly given). Each disk is one
btrfs *pool*; SSD pools hold *volumes* (subvolumes with a quota), *vdisks* (preallocated
NOCOW files for VM disks) and the node *cache*; each HDD pool can become one *zdb device*.

Wire names follow upstream ZOS (`pkg/storage.go`): module ``storage``, object ``storage``,
version ``0.0.1``; struct fields keep their Go names because zbus encodes structs as maps
keyed by Go field name. Sizes are bytes (``gridtypes.Unit``, a uint64).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

import zos_zbus as zbus
from zos_zbus import U64

MODULE = "storage"
OBJECT = "storage"
VERSION = "0.0.1"

Unit = U64
"""gridtypes.Unit: a size in bytes (uint64 on the wire)."""


class DeviceType(StrEnum):
    """zos.DeviceType: the kind of hardware a pool lives on."""

    SSD = "ssd"
    HDD = "hdd"


class _GoStruct(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Usage(_GoStruct):
    Size: Unit = 0
    Used: Unit = 0


_Usage = Usage  # lets a field be named Usage (its Go name) while typed by the class


class Volume(_GoStruct):
    """A btrfs subvolume with a quota (a workload's volume, or the cache)."""

    Name: str = ""
    Path: str = ""
    Usage: _Usage = _Usage()


class VDisk(_GoStruct):
    """A fully preallocated raw disk file for a VM."""

    Path: str = ""
    Size: int = 0
    """int64 on the wire."""

    @property
    def name(self) -> str:
        return self.Path.rsplit("/", 1)[-1]


class Device(_GoStruct):
    """A whole HDD pool allocated to one zdb instance (``ID`` is the pool label)."""

    Path: str = ""
    ID: str = ""
    Usage: _Usage = _Usage()


class BrokenPool(_GoStruct):
    Label: str = ""
    Err: zbus.GoError = None
    """The error text (a Go ``error`` travels as its text)."""


class BrokenDevice(_GoStruct):
    Path: str = ""
    Err: zbus.GoError = None


class PoolMetrics(_GoStruct):
    Name: str = ""
    Type: DeviceType = DeviceType.SSD
    Size: Unit = 0
    Used: Unit = 0


class UsageStat(_GoStruct):
    """gopsutil ``disk.UsageStat`` (inlined into :class:`PoolStats` like Go embedding)."""

    Path: str = ""
    Fstype: str = ""
    Total: U64 = 0
    Free: U64 = 0
    Used: U64 = 0
    UsedPercent: float = 0.0
    InodesTotal: U64 = 0
    InodesUsed: U64 = 0
    InodesFree: U64 = 0
    InodesUsedPercent: float = 0.0


class IOCountersStat(_GoStruct):
    """gopsutil ``disk.IOCountersStat``."""

    ReadCount: U64 = 0
    MergedReadCount: U64 = 0
    WriteCount: U64 = 0
    MergedWriteCount: U64 = 0
    ReadBytes: U64 = 0
    WriteBytes: U64 = 0
    ReadTime: U64 = 0
    WriteTime: U64 = 0
    IopsInProgress: U64 = 0
    IoTime: U64 = 0
    WeightedIO: U64 = 0
    Name: str = ""
    SerialNumber: str = ""
    Label: str = ""


class PoolStats(UsageStat):
    """Filesystem usage of a mounted pool plus the IO counters of its device."""

    Counters: dict[str, IOCountersStat] = {}


PoolsStats = dict[str, PoolStats]
"""pool label -> stats, one value per ``Monitor`` tick."""


# Errors. Over zbus only the message travels; `error_from_message` maps it back.


class StorageError(zbus.CallError):
    """Any failure of a storage call (the Go ``error`` return); the message says what was wrong."""


class NotFoundError(StorageError):
    """No volume, vdisk or device of that name."""


class AlreadyExistsError(StorageError):
    """A vdisk of that name exists already (volumes are idempotent instead)."""


class NotEnoughSpaceError(StorageError):
    """No pool of the type has room for the requested size (upstream ErrNotEnoughSpace)."""

    def __init__(self, kind: DeviceType) -> None:
        super().__init__(f"not enough space left in pools of this type {kind.value}")
        self.kind = kind


class InvalidNameError(StorageError):
    """A name that is reserved or would escape its folder."""


def volume_not_found(name: str) -> NotFoundError:
    return NotFoundError(f"subvolume '{name}' not found")


def disk_not_found(name: str) -> NotFoundError:
    return NotFoundError(f"vdisk '{name}' not found")


def device_not_found(name: str) -> NotFoundError:
    return NotFoundError(f"zdb device '{name}' not found")


def error_from_message(message: str) -> StorageError:
    """Rebuild the typed error from the text a zbus call error carries."""
    if message.startswith("not enough space left in pools of this type "):
        kind = message.rsplit(" ", 1)[-1]
        if kind in {t.value for t in DeviceType}:
            return NotEnoughSpaceError(DeviceType(kind))
    if message.endswith(" not found"):
        return NotFoundError(message)
    if message.endswith(" already exists"):
        return AlreadyExistsError(message)
    if message.startswith("invalid "):
        return InvalidNameError(message)
    return StorageError(message)


_RAISES = (StorageError, OSError)
"""What a handler raises as the Go ``error`` return (anything else is a zbus panic)."""


@zbus.interface(module=MODULE, object=OBJECT, version=VERSION)
class StorageModule:
    """upstream ``pkg.StorageModule``: the methods other modules call, with their Go names.

    Python clients get an implementation from ``zbus.Client(url).stub(StorageModule)``; a
    failing call raises ``zbus.RemoteCallError`` (turn it back into the typed error with
    :func:`error_from_message`).
    """

    @zbus.method("Cache", raises=_RAISES)
    async def cache(self) -> Volume:
        """The node cache volume (``zos-cache``)."""
        raise NotImplementedError

    @zbus.method("Total", raises=_RAISES)
    async def total(self, kind: DeviceType) -> U64:
        """Sum of the device sizes of pools of that type (SRU for ssd, HRU for hdd)."""
        raise NotImplementedError

    @zbus.method("BrokenPools", raises=_RAISES)
    async def broken_pools(self) -> list[BrokenPool]:
        """Pools that failed to mount (label and error)."""
        raise NotImplementedError

    @zbus.method("BrokenDevices", raises=_RAISES)
    async def broken_devices(self) -> list[BrokenDevice]:
        """Allowlisted devices storaged refused or failed to use (path and error)."""
        raise NotImplementedError

    @zbus.stream("Monitor")
    def monitor(self) -> AsyncIterator[PoolsStats]:
        """Every 5 s: usage and IO counters of the mounted SSD pools."""
        raise NotImplementedError

    @zbus.method("VolumeCreate", raises=_RAISES)
    async def volume_create(self, name: str, size: Unit) -> Volume:
        """A subvolume limited to ``size`` on the SSD pool with most room; idempotent."""
        raise NotImplementedError

    @zbus.method("VolumeUpdate", raises=_RAISES)
    async def volume_update(self, name: str, size: Unit) -> None:
        """Set a new quota limit (the caller refuses shrinking)."""
        raise NotImplementedError

    @zbus.method("VolumeLookup", raises=_RAISES)
    async def volume_lookup(self, name: str) -> Volume:
        raise NotImplementedError

    @zbus.method("VolumeExists", raises=_RAISES)
    async def volume_exists(self, name: str) -> bool:
        raise NotImplementedError

    @zbus.method("VolumeDelete", raises=_RAISES)
    async def volume_delete(self, name: str) -> None:
        """Delete a volume; a missing one is not an error."""
        raise NotImplementedError

    @zbus.method("VolumeList", raises=_RAISES)
    async def volume_list(self) -> list[Volume]:
        """All volumes except the cache and the vdisks container."""
        raise NotImplementedError

    @zbus.method("DiskCreate", raises=_RAISES)
    async def disk_create(self, name: str, size: Unit) -> VDisk:
        """A fully preallocated NOCOW file of ``size`` bytes; fails if it exists."""
        raise NotImplementedError

    @zbus.method("DiskResize", raises=_RAISES)
    async def disk_resize(self, name: str, size: Unit) -> VDisk:
        """Grow a vdisk (never shrinks)."""
        raise NotImplementedError

    @zbus.method("DiskWrite", raises=_RAISES)
    async def disk_write(self, name: str, image: str) -> None:
        """Copy the raw image file at ``image`` into a blank vdisk (a used one is kept)."""
        raise NotImplementedError

    @zbus.method("DiskFormat", raises=_RAISES)
    async def disk_format(self, name: str) -> None:
        """Put a btrfs filesystem on the vdisk unless it already has one."""
        raise NotImplementedError

    @zbus.method("DiskLookup", raises=_RAISES)
    async def disk_lookup(self, name: str) -> VDisk:
        raise NotImplementedError

    @zbus.method("DiskExists", raises=_RAISES)
    async def disk_exists(self, name: str) -> bool:
        raise NotImplementedError

    @zbus.method("DiskDelete", raises=_RAISES)
    async def disk_delete(self, name: str) -> None:
        """Delete a vdisk; a missing one is not an error."""
        raise NotImplementedError

    @zbus.method("DiskList", raises=_RAISES)
    async def disk_list(self) -> list[VDisk]:
        """The vdisks of every pool."""
        raise NotImplementedError

    @zbus.method("Devices", raises=_RAISES)
    async def devices(self) -> list[Device]:
        """HDD pools allocated to zdb."""
        raise NotImplementedError

    @zbus.method("DeviceAllocate", raises=_RAISES)
    async def device_allocate(self, min_size: Unit) -> Device:
        """Allocate a free HDD pool of at least ``min_size`` bytes to zdb."""
        raise NotImplementedError

    @zbus.method("DeviceLookup", raises=_RAISES)
    async def device_lookup(self, name: str) -> Device:
        raise NotImplementedError

    @zbus.method("Metrics", raises=_RAISES)
    async def metrics(self) -> list[PoolMetrics]:
        """Per pool: type, device size and reserved space."""
        raise NotImplementedError
