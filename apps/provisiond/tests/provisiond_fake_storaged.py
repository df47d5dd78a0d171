"""A storaged stand-in on zbus for provisiond's process tests: volumes and vdisks as files.

usage: provisiond_fake_storaged.py BROKER DIR DELAY
Serves module ``storage`` (StorageModule, 0.0.1) with FileStorage's semantics; the methods
provisiond does not use answer "not supported".
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import zos_zbus as zbus
from zos_provision.testing import FileStorage
from zos_storage.api import (
    DeviceType,
    NotFoundError,
    PoolMetrics,
    StorageError,
    StorageModule,
    Usage,
    VDisk,
    Volume,
)


class FakeStorage(StorageModule):
    def __init__(self, files: FileStorage) -> None:
        self.files = files

    async def volume_create(self, name: str, size: int) -> Volume:
        v = await self.files.volume_create(name, size)
        return Volume(Name=v.Name, Path=v.Path, Usage=Usage(Size=v.Usage.Size, Used=v.Usage.Used))

    async def volume_update(self, name: str, size: int) -> None:
        await self.files.volume_update(name, size)

    async def volume_lookup(self, name: str) -> Volume:
        try:
            v = await self.files.volume_lookup(name)
        except LookupError as err:
            raise NotFoundError(str(err)) from err
        return Volume(Name=v.Name, Path=v.Path, Usage=Usage(Size=v.Usage.Size, Used=v.Usage.Used))

    async def volume_exists(self, name: str) -> bool:
        return await self.files.volume_exists(name)

    async def volume_delete(self, name: str) -> None:
        await self.files.volume_delete(name)

    async def volume_list(self) -> list[Volume]:
        return [await self.volume_lookup(p.name) for p in self.files.volumes.iterdir()]

    async def disk_create(self, name: str, size: int) -> VDisk:
        try:
            d = await self.files.disk_create(name, size)
        except FileExistsError as err:
            raise StorageError(str(err)) from err
        return VDisk(Path=d.Path, Size=d.Size)

    async def disk_resize(self, name: str, size: int) -> VDisk:
        d = await self.files.disk_resize(name, size)
        return VDisk(Path=d.Path, Size=d.Size)

    async def disk_lookup(self, name: str) -> VDisk:
        try:
            d = await self.files.disk_lookup(name)
        except LookupError as err:
            raise NotFoundError(str(err)) from err
        return VDisk(Path=d.Path, Size=d.Size)

    async def disk_exists(self, name: str) -> bool:
        return await self.files.disk_exists(name)

    async def disk_delete(self, name: str) -> None:
        await self.files.disk_delete(name)

    async def disk_list(self) -> list[VDisk]:
        return [await self.disk_lookup(p.name) for p in self.files.disks.iterdir()]

    async def total(self, kind: DeviceType) -> int:
        return 100 * 1024**3 if kind == DeviceType.SSD else 0

    async def metrics(self) -> list[PoolMetrics]:
        return [PoolMetrics(Name="fake-ssd", Type=DeviceType.SSD, Size=100 * 1024**3, Used=0)]

    async def _unsupported(self, *args: Any) -> Any:
        raise StorageError("not supported by the fake storaged")

    cache = broken_pools = broken_devices = devices = device_allocate = _unsupported
    device_lookup = disk_write = disk_format = _unsupported

    async def monitor(self) -> Any:  # type: ignore[override]
        if False:
            yield {}


async def main() -> None:
    broker, folder, delay = sys.argv[1:4]
    server = zbus.Server("storage", broker)
    server.register(FakeStorage(FileStorage(folder, float(delay))), StorageModule)
    await zbus.serve(server)


if __name__ == "__main__":
    asyncio.run(main())
