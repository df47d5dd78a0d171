"""The ``zmount`` (vdisk) and ``volume`` (subvolume) managers, through storaged.

Both name the storage object after the workload id (``twin-contract-name``), as upstream,
and are idempotent: provisioning an existing object returns it, deleting a missing one is
fine. That is what makes the queue's at-least-once delivery safe.
"""

from __future__ import annotations

from typing import Any, Protocol

from zos_provision.managers.base import NoActionNeeded, Unchanged, WorkloadContext


class _Usage(Protocol):
    @property
    def Size(self) -> int: ...
    @property
    def Used(self) -> int: ...


class _Volume(Protocol):
    @property
    def Name(self) -> str: ...
    @property
    def Usage(self) -> _Usage: ...


class _VDisk(Protocol):
    @property
    def Path(self) -> str: ...
    @property
    def Size(self) -> int: ...


class StorageBackend(Protocol):
    """The part of storaged's ``StorageModule`` (zos_storage.api) these managers use."""

    async def volume_create(self, name: str, size: int) -> Any: ...
    async def volume_update(self, name: str, size: int) -> None: ...
    async def volume_lookup(self, name: str) -> Any: ...
    async def volume_exists(self, name: str) -> bool: ...
    async def volume_delete(self, name: str) -> None: ...
    async def disk_create(self, name: str, size: int) -> Any: ...
    async def disk_resize(self, name: str, size: int) -> Any: ...
    async def disk_lookup(self, name: str) -> Any: ...
    async def disk_exists(self, name: str) -> bool: ...
    async def disk_delete(self, name: str) -> None: ...


def _size(ctx: WorkloadContext) -> int:
    data = ctx.workload.data
    size = data.get("size") if isinstance(data, dict) else None
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise ValueError("invalid size")
    return size


class VolumeManager:
    """``volume``: a btrfs subvolume with a quota. Result ``{"id": <volume name>}``."""

    def __init__(self, storage: StorageBackend) -> None:
        self.storage = storage

    async def provision(self, ctx: WorkloadContext) -> Any:
        name, size = ctx.workload_id, _size(ctx)
        if await self.storage.volume_exists(name):
            volume: _Volume = await self.storage.volume_lookup(name)
            if volume.Usage.Size < size:
                await self.storage.volume_update(name, size)
            return {"id": name}
        await self.storage.volume_create(name, size)
        return {"id": name}

    async def update(self, ctx: WorkloadContext) -> Any:
        name, size = ctx.workload_id, _size(ctx)
        volume: _Volume = await self.storage.volume_lookup(name)
        if size == volume.Usage.Size:
            raise NoActionNeeded()
        if size < volume.Usage.Used:
            raise Unchanged(
                f"cannot shrink volume to {size} bytes, {volume.Usage.Used} bytes are in use"
            )
        await self.storage.volume_update(name, size)
        return {"id": name}

    async def deprovision(self, ctx: WorkloadContext) -> None:
        await self.storage.volume_delete(ctx.workload_id)


class ZMountManager:
    """``zmount``: a preallocated vdisk for a VM. Result ``{"volume_id": <disk name>}``."""

    def __init__(self, storage: StorageBackend) -> None:
        self.storage = storage

    async def provision(self, ctx: WorkloadContext) -> Any:
        name, size = ctx.workload_id, _size(ctx)
        if await self.storage.disk_exists(name):
            disk: _VDisk = await self.storage.disk_lookup(name)
            if disk.Size < size:
                await self.storage.disk_resize(name, size)
            return {"volume_id": name}
        await self.storage.disk_create(name, size)
        return {"volume_id": name}

    async def update(self, ctx: WorkloadContext) -> Any:
        # No VM daemon runs on this node yet, so no disk can be attached to a running VM;
        # once vmd exists, refuse growing an attached disk here (upstream rule).
        name, size = ctx.workload_id, _size(ctx)
        disk: _VDisk = await self.storage.disk_lookup(name)
        if size == disk.Size:
            raise NoActionNeeded()
        if size < disk.Size:
            raise Unchanged(f"cannot shrink disk from {disk.Size} to {size} bytes")
        await self.storage.disk_resize(name, size)
        return {"volume_id": name}

    async def deprovision(self, ctx: WorkloadContext) -> None:
        await self.storage.disk_delete(ctx.workload_id)
