"""vdisks: preallocated NOCOW files in the `vdisks` subvolume of an SSD pool."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from zos_storage.api import (
    AlreadyExistsError,
    InvalidNameError,
    NotEnoughSpaceError,
    NotFoundError,
    StorageError,
)
from zos_storage.storage import Storage

MIB = 1024**2
GIB = 1024**3


def test_vdisk_lifecycle(node: Storage) -> None:
    disk = node.disk_create("vm1", 64 * MIB)
    path = Path(disk.Path)
    assert path.parent.name == "vdisks"
    assert disk.Size == 64 * MIB == path.stat().st_size
    # fully preallocated, not sparse, and NOCOW
    assert path.stat().st_blocks * 512 >= 64 * MIB
    attrs = subprocess.run(["lsattr", str(path)], capture_output=True, text=True).stdout
    assert "C" in attrs.split()[0]
    assert node.disk_exists("vm1")
    assert node.disk_lookup("vm1") == disk
    assert [d.Path for d in node.disk_list()] == [disk.Path]
    with pytest.raises(AlreadyExistsError, match="disk with id 'vm1' already exists"):
        node.disk_create("vm1", MIB)

    grown = node.disk_resize("vm1", 96 * MIB)
    assert grown.Size == 96 * MIB == path.stat().st_size
    with pytest.raises(StorageError, match="only grow"):
        node.disk_resize("vm1", 10 * MIB)

    node.disk_delete("vm1")
    assert not node.disk_exists("vm1")
    node.disk_delete("vm1")  # missing is fine
    with pytest.raises(NotFoundError, match="vdisk 'vm1' not found"):
        node.disk_lookup("vm1")


def test_vdisks_are_listed_across_pools(node: Storage) -> None:
    a = node.disk_create("a", 400 * MIB)
    b = node.disk_create("b", 400 * MIB)
    assert Path(a.Path).parent != Path(b.Path).parent
    assert sorted(d.Path for d in node.disk_list()) == sorted([a.Path, b.Path])


def test_vdisk_names_cannot_escape(node: Storage) -> None:
    for bad in ("../x", "..", "a/b", ""):
        with pytest.raises(InvalidNameError):
            node.disk_create(bad, MIB)
    assert not node.disk_exists("../etc")


def test_vdisk_too_big_is_not_enough_space(node: Storage) -> None:
    with pytest.raises(NotEnoughSpaceError, match="not enough space left in pools of this type"):
        node.disk_create("big", 2 * GIB)
    assert not node.disk_exists("big")
    node.disk_create("ok", 800 * MIB)
    with pytest.raises(NotEnoughSpaceError):
        node.disk_resize("ok", 2 * GIB)


def test_write_image_only_into_a_blank_disk(node: Storage, tmp_path: Path) -> None:
    image = tmp_path / "image.raw"
    image.write_bytes(b"\x5a" * (2 * MIB))
    node.disk_create("img", 8 * MIB)
    node.disk_write("img", str(image))
    path = Path(node.disk_lookup("img").Path)
    assert path.read_bytes()[: 2 * MIB] == image.read_bytes()

    big = tmp_path / "big.raw"
    big.write_bytes(b"\0" * (9 * MIB))
    node.disk_create("small", 8 * MIB)
    with pytest.raises(StorageError, match="image size is bigger than disk"):
        node.disk_write("small", str(big))

    # a disk holding a filesystem is never overwritten (redeploy must keep user data)
    node.disk_create("used", 128 * MIB)
    node.disk_format("used")
    before = Path(node.disk_lookup("used").Path).read_bytes()
    node.disk_write("used", str(image))
    assert Path(node.disk_lookup("used").Path).read_bytes() == before
    with pytest.raises(NotFoundError):
        node.disk_write("missing", str(image))


def test_format_is_idempotent(node: Storage) -> None:
    disk = node.disk_create("fmt", 128 * MIB)
    node.disk_format("fmt")
    found = subprocess.run(
        ["blkid", "-p", "-o", "value", "-s", "TYPE", disk.Path], capture_output=True, text=True
    )
    assert found.stdout.strip() == "btrfs"
    node.disk_format("fmt")  # already formatted: success
