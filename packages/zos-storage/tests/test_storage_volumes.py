"""Volumes: subvolume + qgroup on real btrfs pools."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest

from zos_storage.api import DeviceType, InvalidNameError, NotEnoughSpaceError, NotFoundError
from zos_storage.storage import Storage

MIB = 1024**2
GIB = 1024**3


def test_volume_lifecycle(node: Storage) -> None:
    volume = node.volume_create("wl1", 100 * MIB)
    assert volume.Name == "wl1"
    assert Path(volume.Path).is_dir()
    assert volume.Usage.Size == 100 * MIB
    assert node.volume_exists("wl1")
    assert node.volume_lookup("wl1").Path == volume.Path
    # idempotent: the same name returns the existing volume
    assert node.volume_create("wl1", 200 * MIB).Path == volume.Path
    assert [v.Name for v in node.volume_list()] == ["wl1"]

    node.volume_update("wl1", 300 * MIB)
    assert node.volume_lookup("wl1").Usage.Size == 300 * MIB

    node.volume_delete("wl1")
    assert not node.volume_exists("wl1")
    assert not Path(volume.Path).exists()
    node.volume_delete("wl1")  # missing is not an error


def test_volumes_spread_to_the_pool_with_most_room(node: Storage) -> None:
    first = node.volume_create("a", 300 * MIB)
    second = node.volume_create("b", 300 * MIB)
    assert Path(first.Path).parent != Path(second.Path).parent
    hdd = next(p for p in node.pools() if p.kind == DeviceType.HDD)
    for v in (first, second):
        assert Path(v.Path).parent != hdd.mountpoint


def test_quota_is_enforced(node: Storage) -> None:
    volume = node.volume_create("quota", 100 * MIB)
    chunk = b"\xa5" * MIB
    written = 0
    with pytest.raises(OSError) as caught:
        fd = os.open(Path(volume.Path) / "data", os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            for _ in range(150):
                written += os.write(fd, chunk)
            os.fsync(fd)
        finally:
            os.close(fd)
    assert caught.value.errno == errno.EDQUOT
    assert "Disk quota exceeded" in str(caught.value)
    assert written < 101 * MIB


def test_full_pool_is_not_enough_space(node: Storage) -> None:
    with pytest.raises(NotEnoughSpaceError) as caught:
        node.volume_create("huge", 2 * GIB)
    assert str(caught.value) == "not enough space left in pools of this type ssd"
    node.volume_create("fits", 900 * MIB)
    node.volume_create("fits2", 900 * MIB)
    # both SSD pools now have their room reserved
    with pytest.raises(NotEnoughSpaceError):
        node.volume_create("third", 200 * MIB)


def test_unknown_and_invalid_names(node: Storage) -> None:
    with pytest.raises(NotFoundError, match="subvolume 'nope' not found"):
        node.volume_lookup("nope")
    with pytest.raises(NotFoundError, match="subvolume 'nope' not found"):
        node.volume_update("nope", MIB)
    assert not node.volume_exists("nope")
    with pytest.raises(InvalidNameError, match="zdb prefix is reserved"):
        node.volume_create("zdb1", MIB)
    for bad in ("", "..", "a/b"):
        with pytest.raises(InvalidNameError):
            node.volume_create(bad, MIB)


def _commit(path: str) -> None:
    """Commit the running btrfs transaction, as the kernel does by itself every 30 s."""
    subprocess.run(["btrfs", "filesystem", "sync", path], check=True, capture_output=True)


def test_volume_usage_does_not_depend_on_transaction_commits(node: Storage) -> None:
    # qgroup numbers only move when a transaction commits: reading them without one gave 0
    # for a new volume, then its real size once the kernel happened to commit (a flake)
    volume = node.volume_create("usage", 100 * MIB)
    (Path(volume.Path) / "data").write_text("persisted")
    first = node.volume_lookup("usage")
    _commit(volume.Path)
    assert node.volume_lookup("usage") == first == volume
    assert volume.Usage.Used > 0  # the subvolume's own tree block, at least
    assert [v for v in node.volume_list() if v.Name == "usage"] == [volume]


def test_device_usage_does_not_depend_on_transaction_commits(node: Storage) -> None:
    device = node.device_allocate(10 * MIB)
    _commit(device.Path)
    assert node.device_lookup(device.ID) == device
