"""The storage module: pools, volumes, vdisks, cache and zdb devices (api.StorageModule)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from zos_storage import blockdev, btrfs, stats, vdiskfile
from zos_storage.api import (
    AlreadyExistsError,
    BrokenDevice,
    BrokenPool,
    Device,
    DeviceType,
    InvalidNameError,
    NotEnoughSpaceError,
    PoolMetrics,
    PoolsStats,
    StorageError,
    Unit,
    Usage,
    VDisk,
    Volume,
    device_not_found,
    disk_not_found,
    volume_not_found,
)
from zos_storage.cachepolicy import next_cache_limit
from zos_storage.commands import CommandError, run
from zos_storage.config import StorageConfig
from zos_storage.discovery import discover
from zos_storage.pool import CACHE_VOLUME, VDISKS_VOLUME, ZDB_VOLUME, Pool, VolumeInfo

log = logging.getLogger(__name__)

LIMITED_CACHE_FLAG = "limited-cache"
_RESERVED_VOLUMES = {CACHE_VOLUME, VDISKS_VOLUME}
_CACHE_KINDS = (DeviceType.SSD, DeviceType.HDD)


def check_name(name: str, what: str) -> None:
    """Volume and vdisk names are single path components (no escaping their folder)."""
    if (
        not name
        or name in {".", ".."}
        or "/" in name
        or "\0" in name
        or len(name.encode("utf-8", "surrogatepass")) > 255
    ):
        raise InvalidNameError(f"invalid {what} name {name!r}: must be one path component")


class Storage:
    """Implements :class:`zos_storage.api.StorageModule` on the pools of the allowlist.

    Every public method takes one lock (upstream serves storage with one zbus worker, so
    calls never overlap there either).
    """

    def __init__(self, config: StorageConfig) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._pools: list[Pool] = []
        self._broken_pools: list[BrokenPool] = []
        self._broken_devices: list[BrokenDevice] = []
        self._totals: dict[DeviceType, int] = {}
        self.limited_cache = False

    # -- start-up --------------------------------------------------------------------

    def start(self) -> None:
        """Find or create the pools of the allowlist, mount them and ensure the cache."""
        with self._lock:
            found = discover(self.config)
            # mounted pools first, SSDs before HDDs; stable within each group
            self._pools = sorted(found.pools, key=lambda p: (not p.mounted, p.kind != "ssd"))
            self._broken_pools = found.broken_pools
            self._broken_devices = found.broken_devices
            self._totals = {
                kind: sum(p.size for p in self._pools if p.kind == kind) for kind in DeviceType
            }
            self.ensure_cache()

    def pools(self) -> list[Pool]:
        with self._lock:
            return list(self._pools)

    def _ssd_pools(self) -> list[Pool]:
        return self._mounted(DeviceType.SSD)

    def _mounted(self, *kinds: DeviceType) -> list[Pool]:
        """Mounted pools of those kinds, in the order of ``kinds``."""
        return [p for kind in kinds for p in self._pools if p.kind == kind and p.mounted]

    def _hdd_pools(self) -> list[Pool]:
        return [p for p in self._pools if p.kind == DeviceType.HDD]

    # -- capacity ----------------------------------------------------------------------

    def total(self, kind: DeviceType) -> int:
        try:
            kind = DeviceType(kind)
        except ValueError:
            raise StorageError(f"invalid device type '{kind}'. type unknown") from None
        with self._lock:
            return self._totals.get(kind, 0)

    def broken_pools(self) -> list[BrokenPool]:
        with self._lock:
            return list(self._broken_pools)

    def broken_devices(self) -> list[BrokenDevice]:
        with self._lock:
            return list(self._broken_devices)

    def metrics(self) -> list[PoolMetrics]:
        with self._lock:
            return [
                PoolMetrics(
                    Name=p.label, Type=p.kind, Size=p.size, Used=p.used() if p.mounted else 0
                )
                for p in self._pools
            ]

    async def monitor(self) -> AsyncIterator[PoolsStats]:
        while True:
            await asyncio.sleep(self.config.monitor_interval)
            yield await asyncio.to_thread(self.pools_stats)

    def pools_stats(self) -> PoolsStats:
        with self._lock:
            counters = stats.read_diskstats()
            return {
                p.label: stats.pool_stats(p.mountpoint, p.device, counters)
                for p in self._ssd_pools()
            }

    def _candidates(self, size: int, kind: DeviceType = DeviceType.SSD) -> list[Pool]:
        """Pools of ``kind`` where reserved + size fits the device, most free first."""
        free: list[tuple[int, Pool]] = []
        for pool in self._mounted(kind):
            try:
                used = pool.used()
            except (OSError, CommandError) as exc:
                log.error("usage of pool %s unknown: %s", pool.label, exc)
                continue
            if used + size <= pool.size:
                free.append((pool.size - used - size, pool))
        if not free:
            # upstream mounts an unmounted pool on demand when the mounted ones are full
            for pool in self._pools:
                if pool.kind != kind or pool.mounted:
                    continue
                try:
                    self._ensure_mounted(pool)
                    used = pool.used()
                except (OSError, CommandError) as exc:
                    log.error("pool %s cannot be mounted: %s", pool.label, exc)
                    continue
                if used + size <= pool.size:
                    return [pool]
            raise NotEnoughSpaceError(kind)
        free.sort(key=lambda item: item[0], reverse=True)
        return [pool for _, pool in free]

    # -- volumes -----------------------------------------------------------------------

    @staticmethod
    def _volume(info: VolumeInfo) -> Volume:
        return Volume(
            Name=info.name,
            Path=str(info.path),
            Usage=Usage(Size=info.limit or info.referenced, Used=info.referenced),
        )

    def _find_volume(
        self, name: str, kinds: tuple[DeviceType, ...] = (DeviceType.SSD,)
    ) -> tuple[Pool, VolumeInfo] | None:
        check_name(name, "volume")
        for pool in self._mounted(*kinds):
            info = pool.volume(name)
            if info is not None:
                return pool, info
        return None

    def volume_create(self, name: str, size: Unit) -> Volume:
        check_name(name, "volume")
        if name.startswith("zdb"):
            raise InvalidNameError("invalid volume name. zdb prefix is reserved")
        if name in _RESERVED_VOLUMES:
            raise InvalidNameError(f"invalid volume name. {name} is reserved")
        if size <= 0:
            raise StorageError(f"invalid volume size {size}: must be positive")
        with self._lock:
            return self._create_limited(name, size)

    def _create_limited(self, name: str, size: int, kind: DeviceType = DeviceType.SSD) -> Volume:
        existing = self._find_volume(name, (kind,))
        if existing is not None:
            return self._volume(existing[1])
        errors = []
        for pool in self._candidates(size, kind):
            try:
                info = pool.add_volume(name)
            except (OSError, CommandError) as exc:
                errors.append(f"{pool.label}: {exc}")
                continue
            try:
                pool.limit(info, size)
            except (OSError, CommandError) as exc:
                errors.append(f"{pool.label}: {exc}")
                pool.remove_volume(name)
                continue
            # the numbers btrfs will report from now on (a lookup gives the same answer)
            settled = pool.volume(name)
            if settled is None:
                raise StorageError(f"volume '{name}' vanished from pool {pool.label}")
            return self._volume(settled)
        raise StorageError(f"failed to create volume '{name}': {'; '.join(errors)}")

    def volume_update(self, name: str, size: Unit) -> None:
        if size <= 0:
            raise StorageError(f"invalid volume size {size}: must be positive")
        with self._lock:
            found = self._find_volume(name)
            if found is None:
                raise volume_not_found(name)
            pool, info = found
            pool.limit(info, size)

    def volume_lookup(self, name: str) -> Volume:
        with self._lock:
            found = self._find_volume(name)
            if found is None:
                raise volume_not_found(name)
            return self._volume(found[1])

    def volume_exists(self, name: str) -> bool:
        try:
            check_name(name, "volume")
        except InvalidNameError:
            return False
        with self._lock:
            return any(pool.has_volume(name) for pool in self._ssd_pools())

    def volume_delete(self, name: str) -> None:
        check_name(name, "volume")
        with self._lock:
            for pool in self._ssd_pools():
                if pool.has_volume(name):
                    pool.remove_volume(name)
                    return
            log.info("volume %s already gone", name)

    def volume_list(self) -> list[Volume]:
        with self._lock:
            return [
                self._volume(info)
                for pool in self._ssd_pools()
                for info in pool.volumes()
                if info.name not in _RESERVED_VOLUMES
            ]

    # -- cache -------------------------------------------------------------------------

    def cache(self) -> Volume:
        with self._lock:
            found = self._find_volume(CACHE_VOLUME, _CACHE_KINDS)
            if found is None:
                raise volume_not_found(CACHE_VOLUME)
            return self._volume(found[1])

    def ensure_cache(self) -> None:
        """Create (or find) the cache volume and bind-mount it on the cache target.

        SSD pools first; when none can hold it (or none mounted, zos#1172), an HDD pool.
        When no pool can hold it, a small tmpfs is mounted there instead and the
        ``limited-cache`` flag is set, as upstream does.
        """
        target = self.config.cache
        target.mkdir(parents=True, exist_ok=True)
        flag = self.config.flags / LIMITED_CACHE_FLAG
        with self._lock:
            found = self._find_volume(CACHE_VOLUME, _CACHE_KINDS)
            volume: Volume | None = self._volume(found[1]) if found else None
            for kind in _CACHE_KINDS:
                if volume is not None:
                    break
                try:
                    volume = self._create_limited(CACHE_VOLUME, self.config.cache_size, kind)
                except StorageError as exc:
                    log.warning("no cache on %s pools: %s", kind.value, exc)
            if blockdev.is_mountpoint(target):
                log.info("cache target %s already mounted", target)
                self.limited_cache = flag.exists()
                return
            if volume is None:
                self.config.flags.mkdir(parents=True, exist_ok=True)
                flag.touch()
                self.limited_cache = True
                size = f"size={self.config.limited_cache_size}"
                run(["mount", "-t", "tmpfs", "-o", size, "tmpfs", str(target)])
                return
            flag.unlink(missing_ok=True)
            self.limited_cache = False
            run(["mount", "--bind", volume.Path, str(target)])

    def check_cache_size(self) -> None:
        """Grow or shrink the cache limit after its usage (run every 5 minutes)."""
        with self._lock:
            found = self._find_volume(CACHE_VOLUME, _CACHE_KINDS)
            if found is None:
                return
            pool, info = found
            limit = next_cache_limit(info.limit, info.exclusive, self.config.cache_size)
            if limit != info.limit:
                log.info("cache limit %d -> %d", info.limit, limit)
                pool.limit(info, limit)

    # -- vdisks ------------------------------------------------------------------------

    def _vdisk_dirs(self) -> list[tuple[Pool, Path]]:
        return [
            (pool, pool.mountpoint / VDISKS_VOLUME)
            for pool in self._ssd_pools()
            if (pool.mountpoint / VDISKS_VOLUME).is_dir()
        ]

    def _find_disk(self, name: str) -> tuple[Pool, Path] | None:
        check_name(name, "vdisk")
        for pool, folder in self._vdisk_dirs():
            path = folder / name
            if path.is_file():
                return pool, path
        return None

    def _disk(self, name: str) -> tuple[Pool, Path]:
        found = self._find_disk(name)
        if found is None:
            raise disk_not_found(name)
        return found

    def disk_create(self, name: str, size: Unit) -> VDisk:
        check_name(name, "vdisk")
        if size <= 0:
            raise StorageError(f"invalid vdisk size {size}: must be positive")
        with self._lock:
            if self._find_disk(name) is not None:
                raise AlreadyExistsError(f"disk with id '{name}' already exists")
            pool = self._candidates(size)[0]
            folder = pool.mountpoint / VDISKS_VOLUME
            if not pool.has_volume(VDISKS_VOLUME):
                pool.add_volume(VDISKS_VOLUME)
            path = folder / name
            vdiskfile.create(path, size)
            return VDisk(Path=str(path), Size=size)

    def disk_resize(self, name: str, size: Unit) -> VDisk:
        with self._lock:
            pool, path = self._disk(name)
            current = path.stat().st_size
            if size < current:
                raise StorageError(
                    f"invalid size {size} for vdisk '{name}': it has {current} bytes "
                    "and vdisks only grow"
                )
            if size > current:
                if pool.used() + size - current > pool.size:
                    raise NotEnoughSpaceError(DeviceType.SSD)
                vdiskfile.grow(path, size)
            return VDisk(Path=str(path), Size=size)

    def disk_write(self, name: str, image: str) -> None:
        with self._lock:
            _, path = self._disk(name)
            if not vdiskfile.write_image(path, Path(image)):
                log.info("vdisk %s already holds data; image not written", name)

    def disk_format(self, name: str) -> None:
        with self._lock:
            _, path = self._disk(name)
            vdiskfile.format_btrfs(path)

    def disk_lookup(self, name: str) -> VDisk:
        with self._lock:
            _, path = self._disk(name)
            return VDisk(Path=str(path), Size=path.stat().st_size)

    def disk_exists(self, name: str) -> bool:
        with self._lock:
            try:
                return self._find_disk(name) is not None
            except InvalidNameError:
                return False

    def disk_delete(self, name: str) -> None:
        with self._lock:
            found = self._find_disk(name)
            if found is None:
                return
            found[1].unlink(missing_ok=True)

    def disk_list(self) -> list[VDisk]:
        with self._lock:
            return [
                VDisk(Path=str(item), Size=item.stat().st_size)
                for _, folder in self._vdisk_dirs()
                for item in sorted(folder.iterdir())
                if item.is_file()
            ]

    # -- zdb devices -------------------------------------------------------------------

    @staticmethod
    def _device(pool: Pool) -> Device:
        return Device(
            Path=str(pool.mountpoint / ZDB_VOLUME),
            ID=pool.label,
            Usage=Usage(Size=pool.size, Used=pool.used()),
        )

    def _ensure_mounted(self, pool: Pool) -> None:
        if not pool.mounted:
            btrfs.mount(pool.device, pool.mountpoint)

    def devices(self) -> list[Device]:
        with self._lock:
            return [
                self._device(pool)
                for pool in self._hdd_pools()
                if pool.mounted and pool.has_volume(ZDB_VOLUME)
            ]

    def device_allocate(self, min_size: Unit) -> Device:
        with self._lock:
            for pool in self._hdd_pools():
                if pool.size < min_size:
                    continue
                self._ensure_mounted(pool)
                if pool.has_volume(ZDB_VOLUME):
                    continue
                if pool.used() + min_size > pool.size:
                    continue
                pool.add_volume(ZDB_VOLUME)
                return self._device(pool)
            raise NotEnoughSpaceError(DeviceType.HDD)

    def device_lookup(self, name: str) -> Device:
        with self._lock:
            for pool in self._hdd_pools():
                if pool.label == name and pool.mounted and pool.has_volume(ZDB_VOLUME):
                    return self._device(pool)
            raise device_not_found(name)
