"""Fixtures: real btrfs pools on loop devices over sparse files, removed even on failure."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from zos_storage.api import DeviceType
from zos_storage.config import StorageConfig
from zos_storage.loopdisk import LoopDisk, attach, detach, unmount_under
from zos_storage.storage import Storage

MIB = 1024**2
GIB = 1024**3

MakeDisk = Callable[..., LoopDisk]
MakeStorage = Callable[..., Storage]


@pytest.fixture
def tag() -> str:
    """A short random tag carried by every kernel-wide name a test creates."""
    return "zt" + secrets.token_hex(3)


@pytest.fixture
def make_disk(tmp_path: Path, tag: str) -> Iterator[MakeDisk]:
    """Attach loop devices over sparse files; teardown unmounts everything under tmp_path,
    then detaches exactly those devices and deletes their files."""
    created: list[LoopDisk] = []

    def make(size: int = GIB) -> LoopDisk:
        disk = attach(tmp_path / "disks" / f"{tag}-{len(created)}.img", size)
        created.append(disk)
        return disk

    yield make
    unmount_under(tmp_path)
    for disk in reversed(created):
        detach(disk)
        disk.file.unlink(missing_ok=True)


@pytest.fixture
def make_storage(tmp_path: Path, tag: str) -> Iterator[MakeStorage]:
    """Start storages under tmp_path/root; teardown unmounts whatever they mounted there."""

    def make(disks: dict[str, DeviceType | None], **options: object) -> Storage:
        settings: dict[str, object] = {"label_prefix": f"{tag}-", "cache_size": 64 * MIB}
        settings.update(options)
        config = StorageConfig(root=tmp_path / "root", disks=disks, **settings)  # type: ignore[arg-type]
        storage = Storage(config)
        storage.start()
        return storage

    yield make
    unmount_under(tmp_path / "root")


@pytest.fixture
def node(make_disk: MakeDisk, make_storage: MakeStorage) -> Storage:
    """A started storage on 2 SSD-typed and 1 HDD-typed 1 GiB disks."""
    ssd1, ssd2, hdd = make_disk(), make_disk(), make_disk()
    return make_storage(
        {ssd1.device: DeviceType.SSD, ssd2.device: DeviceType.SSD, hdd.device: DeviceType.HDD}
    )
