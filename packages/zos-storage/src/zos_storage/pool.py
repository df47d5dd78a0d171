"""A pool: one whole disk holding one single-device btrfs filesystem, mounted by label."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from zos_storage import btrfs
from zos_storage.api import DeviceType
from zos_storage.commands import CommandError

log = logging.getLogger(__name__)

SEEKTIME_FILE = ".seektime"
CACHE_VOLUME = "zos-cache"
VDISKS_VOLUME = "vdisks"
ZDB_VOLUME = "zdb"


@dataclass(frozen=True)
class VolumeInfo:
    """A subvolume of a pool with its quota numbers."""

    id: int
    name: str
    path: Path
    limit: int
    """qgroup max referenced; 0 when unlimited."""
    referenced: int
    exclusive: int


@dataclass
class Pool:
    label: str
    device: str
    kind: DeviceType
    size: int
    """Device size in bytes: the pool's capacity for allocation."""
    mountpoint: Path

    @property
    def mounted(self) -> bool:
        return os.path.ismount(self.mountpoint)

    def volumes(self) -> list[VolumeInfo]:
        groups = btrfs.qgroups(self.mountpoint)
        found = []
        for sub in btrfs.subvolumes(self.mountpoint):
            group = groups.get(sub.id)
            found.append(
                VolumeInfo(
                    id=sub.id,
                    name=sub.name,
                    path=self.mountpoint / sub.name,
                    limit=group.max_referenced if group else 0,
                    referenced=group.referenced if group else 0,
                    exclusive=group.exclusive if group else 0,
                )
            )
        return found

    def volume(self, name: str) -> VolumeInfo | None:
        return next((v for v in self.volumes() if v.name == name), None)

    def used(self) -> int:
        """Reserved space: each volume's limit, or its real bytes when unlimited.

        vdisks are fully preallocated, so their file sizes are what they hold; counting
        them directly avoids qgroup numbers that lag until the next transaction commit.
        """
        total = 0
        for volume in self.volumes():
            if volume.name == VDISKS_VOLUME:
                total += sum(f.stat().st_size for f in volume.path.iterdir() if f.is_file())
            elif volume.limit:
                total += volume.limit
            else:
                total += volume.referenced
        return total

    def add_volume(self, name: str) -> VolumeInfo:
        path = self.mountpoint / name
        btrfs.subvolume_create(path)
        volume = self.volume(name)
        if volume is None:
            raise OSError(f"subvolume {path} vanished right after creation")
        return volume

    def ensure_qgroup(self, volume: VolumeInfo) -> None:
        """Repair a subvolume without its level-0 qgroup (zos#1007)."""
        if volume.id not in btrfs.qgroups(self.mountpoint):
            btrfs.qgroup_create(volume.id, self.mountpoint)

    def limit(self, volume: VolumeInfo, size: int) -> None:
        self.ensure_qgroup(volume)
        btrfs.qgroup_limit(size, volume.path)

    def remove_volume(self, volume: VolumeInfo) -> None:
        btrfs.subvolume_delete(volume.path)
        try:
            btrfs.qgroup_destroy(volume.id, self.mountpoint)
        except CommandError as exc:
            # the kernel may report EBUSY until the deletion is committed; it then drops
            # the qgroup itself (or the next mount's cleanup does)
            log.info("qgroup 0/%d of %s left for later: %s", volume.id, volume.path, exc)

    def drop_stale_qgroups(self) -> None:
        """Destroy level-0 qgroups whose subvolume no longer exists (done on every mount)."""
        live = {sub.id for sub in btrfs.subvolumes(self.mountpoint)} | {5}
        for group_id in btrfs.qgroups(self.mountpoint):
            if group_id not in live:
                try:
                    btrfs.qgroup_destroy(group_id, self.mountpoint)
                except CommandError as exc:
                    log.info("stale qgroup 0/%d of %s kept: %s", group_id, self.label, exc)
