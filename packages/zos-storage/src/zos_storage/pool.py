"""A pool: one whole disk holding one single-device btrfs filesystem, mounted by label."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from zos_storage import btrfs
from zos_storage.api import DeviceType

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

    def _info(self, sub: btrfs.Subvolume, groups: dict[int, btrfs.QGroup]) -> VolumeInfo:
        group = groups.get(sub.id)
        return VolumeInfo(
            id=sub.id,
            name=sub.name,
            path=self.mountpoint / sub.name,
            limit=group.max_referenced if group else 0,
            referenced=group.referenced if group else 0,
            exclusive=group.exclusive if group else 0,
        )

    def _settled_qgroups(self) -> dict[int, btrfs.QGroup]:
        """qgroup numbers as of now: commit first, since btrfs accounts them at commit time."""
        btrfs.sync(self.mountpoint)
        return btrfs.qgroups(self.mountpoint)

    def volumes(self) -> list[VolumeInfo]:
        groups = self._settled_qgroups()
        return [self._info(sub, groups) for sub in btrfs.child_subvolumes(self.mountpoint)]

    def has_volume(self, name: str) -> bool:
        return btrfs.is_subvolume(self.mountpoint / name)

    def volume(self, name: str) -> VolumeInfo | None:
        path = self.mountpoint / name
        if not btrfs.is_subvolume(path):
            return None
        sub = btrfs.Subvolume(btrfs.subvolume_id(path), name)
        return self._info(sub, self._settled_qgroups())

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
        """A new, empty subvolume (its numbers are known without asking btrfs)."""
        path = self.mountpoint / name
        btrfs.subvolume_create(path)
        return VolumeInfo(btrfs.subvolume_id(path), name, path, 0, 0, 0)

    def limit(self, volume: VolumeInfo, size: int) -> None:
        try:
            btrfs.qgroup_limit(size, volume.path)
        except OSError:
            # a subvolume without its level-0 qgroup (zos#1007): create it, then retry
            if volume.id in btrfs.qgroups(self.mountpoint):
                raise
            btrfs.qgroup_create(volume.id, self.mountpoint)
            btrfs.qgroup_limit(size, volume.path)

    def remove_volume(self, name: str) -> None:
        path = self.mountpoint / name
        subvolume_id = btrfs.subvolume_id(path)
        btrfs.subvolume_delete(path)
        try:
            btrfs.qgroup_destroy(subvolume_id, self.mountpoint)
        except OSError as exc:
            # the kernel may report EBUSY until the deletion is committed; it then drops
            # the qgroup itself (or the next mount's cleanup does)
            log.info("qgroup 0/%d of %s left for later: %s", subvolume_id, path, exc)

    def drop_stale_qgroups(self) -> None:
        """Destroy level-0 qgroups whose subvolume no longer exists (done on every mount)."""
        live = {sub.id for sub in btrfs.subvolumes(self.mountpoint)} | {5}
        # (btrfs subvolume list sees nested subvolumes too, so none of theirs is dropped)
        for group_id in btrfs.qgroups(self.mountpoint):
            if group_id not in live:
                try:
                    btrfs.qgroup_destroy(group_id, self.mountpoint)
                except OSError as exc:
                    log.info("stale qgroup 0/%d of %s kept: %s", group_id, self.label, exc)
