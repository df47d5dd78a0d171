"""Pools, cache, zdb devices, capacity and metrics on real loop disks."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from zos_storage.api import DeviceType, NotEnoughSpaceError, NotFoundError, StorageError
from zos_storage.loopdisk import LoopDisk, mounts_under
from zos_storage.pool import SEEKTIME_FILE
from zos_storage.storage import LIMITED_CACHE_FLAG, Storage

MIB = 1024**2
GIB = 1024**3
MakeDisk = Callable[..., LoopDisk]
MakeStorage = Callable[..., Storage]


def blkid_label(device: str) -> str:
    proc = subprocess.run(
        ["blkid", "-p", "-o", "value", "-s", "LABEL", device], capture_output=True, text=True
    )
    return proc.stdout.strip()


def test_blank_disks_become_labelled_mounted_pools(node: Storage, tag: str) -> None:
    pools = node.pools()
    assert len(pools) == 3
    for pool in pools:
        assert pool.label.startswith(f"{tag}-")
        assert blkid_label(pool.device) == pool.label
        assert pool.mounted and pool.mountpoint == node.config.mounts / pool.label
        assert (pool.mountpoint / SEEKTIME_FILE).read_text() == pool.kind.value
        assert pool.size == GIB
    assert node.total(DeviceType.SSD) == 2 * GIB
    assert node.total(DeviceType.HDD) == GIB
    with pytest.raises(StorageError, match="invalid device type 'nvme'"):
        node.total("nvme")  # type: ignore[arg-type]
    assert node.broken_pools() == [] and node.broken_devices() == []


def test_type_is_detected_then_remembered(make_disk: MakeDisk, make_storage: MakeStorage) -> None:
    disk = make_disk()
    # loop devices report rotational=1: without an override the pool is an HDD
    storage = make_storage({disk.device: None})
    assert storage.pools()[0].kind == DeviceType.HDD
    storage = make_storage({disk.device: DeviceType.SSD})
    assert storage.pools()[0].kind == DeviceType.SSD
    # the override is remembered in .seektime and wins over the rotational flag later
    storage = make_storage({disk.device: None})
    assert storage.pools()[0].kind == DeviceType.SSD


def test_cache_is_a_limited_volume_mounted_on_the_target(node: Storage) -> None:
    cache = node.cache()
    assert cache.Name == "zos-cache" and cache.Usage.Size == 64 * MIB
    target = node.config.cache
    assert target.is_mount()
    (target / "probe").write_text("x")
    assert (Path(cache.Path) / "probe").read_text() == "x"
    assert "zos-cache" not in [v.Name for v in node.volume_list()]
    assert not node.limited_cache


def test_no_room_for_cache_mounts_a_tmpfs(make_disk: MakeDisk, make_storage: MakeStorage) -> None:
    disk = make_disk()
    storage = make_storage({disk.device: DeviceType.SSD}, cache_size=4 * GIB)
    assert storage.limited_cache
    assert (storage.config.flags / LIMITED_CACHE_FLAG).exists()
    fstype = subprocess.run(
        ["findmnt", "-n", "-o", "FSTYPE", str(storage.config.cache)], capture_output=True, text=True
    ).stdout.strip()
    assert fstype == "tmpfs"
    with pytest.raises(NotFoundError):
        storage.cache()


def test_cache_falls_back_to_an_hdd_pool(make_disk: MakeDisk, make_storage: MakeStorage) -> None:
    disk = make_disk()
    storage = make_storage({disk.device: DeviceType.HDD})
    assert not storage.limited_cache
    assert storage.cache().Path == str(storage.pools()[0].mountpoint / "zos-cache")


def test_cache_limit_follows_usage(node: Storage) -> None:
    cache = node.cache()
    # fill 70 % of the limit: the next check grows it by one step
    with (Path(cache.Path) / "fill").open("wb") as handle:
        handle.write(b"\1" * (45 * MIB))
    subprocess.run(["btrfs", "filesystem", "sync", cache.Path], check=True)
    subprocess.run(["btrfs", "quota", "rescan", "-w", cache.Path], check=True)
    node.check_cache_size()
    assert node.cache().Usage.Size == 128 * MIB


def test_zdb_devices_on_hdd_pools(node: Storage) -> None:
    assert node.devices() == []
    device = node.device_allocate(100 * MIB)
    hdd = next(p for p in node.pools() if p.kind == DeviceType.HDD)
    assert hdd.label == device.ID
    assert device.Path == str(hdd.mountpoint / "zdb") and Path(device.Path).is_dir()
    assert device.Usage.Size == GIB
    assert node.devices() == [device]
    assert node.device_lookup(hdd.label) == device
    with pytest.raises(NotEnoughSpaceError, match="of this type hdd"):
        node.device_allocate(100 * MIB)  # the only HDD is taken
    with pytest.raises(NotFoundError, match="zdb device 'nope' not found"):
        node.device_lookup("nope")


def test_metrics_report_reserved_space(node: Storage) -> None:
    node.volume_create("m1", 100 * MIB)
    metrics = {m.Name: m for m in node.metrics()}
    assert len(metrics) == 3
    assert all(m.Size == GIB for m in metrics.values())
    used = sorted(m.Used for m in metrics.values() if m.Type == DeviceType.SSD)
    # one SSD holds the 64 MiB cache, the other (most free) the new volume
    assert used == [64 * MIB, 100 * MIB]


async def test_monitor_streams_ssd_pool_stats(
    make_disk: MakeDisk, make_storage: MakeStorage
) -> None:
    disk = make_disk()
    storage = make_storage({disk.device: DeviceType.SSD}, monitor_interval=0.05)
    stream = storage.monitor()
    stats = await asyncio.wait_for(anext(stream), 5)
    await stream.aclose()  # type: ignore[attr-defined]
    ((label, pool_stats),) = stats.items()
    assert label == storage.pools()[0].label
    assert pool_stats.Total > 0 and pool_stats.Fstype == "btrfs"
    assert Path(disk.device).name in pool_stats.Counters


def test_restart_finds_everything_as_it_was(
    make_disk: MakeDisk, make_storage: MakeStorage, tmp_path: Path
) -> None:
    disks = {make_disk().device: DeviceType.SSD, make_disk().device: DeviceType.HDD}
    first = make_storage(disks)
    volume = first.volume_create("keep", 100 * MIB)
    (Path(volume.Path) / "data").write_text("persisted")
    disk = first.disk_create("keepdisk", 32 * MIB)
    device = first.device_allocate(10 * MIB)
    labels = {p.device: (p.label, p.kind) for p in first.pools()}

    # same process state gone, mounts still there (daemon restart)
    second = make_storage(disks)
    assert {p.device: (p.label, p.kind) for p in second.pools()} == labels
    assert second.volume_lookup("keep") == first.volume_lookup("keep")

    # everything unmounted (node reboot): storaged remounts its pools by label
    for target in reversed(mounts_under(tmp_path / "root")):
        subprocess.run(["umount", str(target)], check=True)
    third = make_storage({d: None for d in disks})  # types come back from .seektime
    assert {p.device: (p.label, p.kind) for p in third.pools()} == labels
    assert third.volume_lookup("keep").Usage.Size == 100 * MIB
    assert (Path(volume.Path) / "data").read_text() == "persisted"
    assert third.disk_lookup("keepdisk") == disk
    assert third.device_lookup(device.ID).Path == device.Path
    assert third.cache().Name == "zos-cache" and third.config.cache.is_mount()


def test_unmounted_pool_is_mounted_on_demand(node: Storage) -> None:
    ssds = [p for p in node.pools() if p.kind == DeviceType.SSD]
    spare = next(p for p in ssds if not (p.mountpoint / "zos-cache").exists())
    subprocess.run(["umount", str(spare.mountpoint)], check=True)
    # the mounted SSD holds the cache (64 MiB): 990 MiB no longer fits there
    volume = node.volume_create("big", 990 * MIB)
    assert spare.mounted and Path(volume.Path).parent == spare.mountpoint
