"""Device safety: storaged never touches a disk it was not given, nor a used one it was."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable
from pathlib import Path

from zos_storage.api import DeviceType
from zos_storage.loopdisk import LoopDisk
from zos_storage.storage import Storage

MIB = 1024**2
MakeDisk = Callable[..., LoopDisk]
MakeStorage = Callable[..., Storage]


def checksum(device: str) -> str:
    digest = hashlib.sha256()
    with Path(device).open("rb") as handle:
        while chunk := handle.read(4 * MIB):
            digest.update(chunk)
    return digest.hexdigest()


def ext4_with_data(disk: LoopDisk, where: Path) -> None:
    subprocess.run(["mkfs.ext4", "-q", "-L", "userdata", disk.device], check=True)
    where.mkdir(parents=True)
    subprocess.run(["mount", disk.device, str(where)], check=True)
    try:
        (where / "precious").write_bytes(b"keep me" * 100_000)
    finally:
        subprocess.run(["umount", str(where)], check=True)


def write_mbr(device: str) -> None:
    """A DOS partition table with one Linux partition from sector 2048 (no sfdisk needed)."""
    entry = bytes([0, 0, 0, 0, 0x83, 0, 0, 0]) + (2048).to_bytes(4, "little")
    entry += (100_000).to_bytes(4, "little")
    sector = bytearray(512)
    sector[440:444] = b"\x12\x34\x56\x78"  # disk signature
    sector[446:462] = entry
    sector[510:512] = b"\x55\xaa"
    with Path(device).open("r+b") as handle:
        handle.write(sector)


def test_unlisted_device_with_data_is_untouched(
    make_disk: MakeDisk, make_storage: MakeStorage, tmp_path: Path
) -> None:
    bystander = make_disk(256 * MIB)
    ext4_with_data(bystander, tmp_path / "bystander")
    before = checksum(bystander.device)
    ours = make_disk()
    storage = make_storage({ours.device: DeviceType.SSD})
    storage.volume_create("v", 10 * MIB)
    assert checksum(bystander.device) == before
    assert [p.device for p in storage.pools()] == [ours.device]


def test_listed_used_devices_are_reported_broken_and_untouched(
    make_disk: MakeDisk, make_storage: MakeStorage, tmp_path: Path
) -> None:
    ext4 = make_disk(256 * MIB)
    ext4_with_data(ext4, tmp_path / "ext4")
    parted = make_disk(256 * MIB)
    write_mbr(parted.device)
    sums = {d.device: checksum(d.device) for d in (ext4, parted)}
    not_a_disk = tmp_path / "plain-file"
    not_a_disk.write_text("x")

    storage = make_storage(
        {ext4.device: DeviceType.SSD, parted.device: DeviceType.SSD, str(not_a_disk): None}
    )
    assert storage.pools() == []
    broken = {b.Path: b.Err or "" for b in storage.broken_devices()}
    assert "ext4 filesystem" in broken[ext4.device]
    assert "partition table" in broken[parted.device]
    assert "not a block device" in broken[str(not_a_disk)]
    assert {d: checksum(d) for d in sums} == sums
    assert not_a_disk.read_text() == "x"


def test_pool_mounted_elsewhere_is_broken_and_left_alone(
    make_disk: MakeDisk, make_storage: MakeStorage, tmp_path: Path, tag: str
) -> None:
    disk = make_disk()
    subprocess.run(["mkfs.btrfs", "-q", "-L", f"{tag}-foreign", disk.device], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    subprocess.run(["mount", disk.device, str(elsewhere)], check=True)
    storage = make_storage({disk.device: DeviceType.SSD})
    assert storage.pools() == []
    (pool,) = storage.broken_pools()
    assert pool.Label == f"{tag}-foreign"
    assert "mounted at" in (pool.Err or "")
    assert not (elsewhere / ".seektime").exists()


def test_empty_allowlist_touches_nothing(make_storage: MakeStorage) -> None:
    storage = make_storage({})
    assert storage.pools() == [] and storage.broken_devices() == []
    assert storage.total(DeviceType.SSD) == 0
    assert storage.limited_cache  # a tmpfs cache, like upstream without any disk
    assert list(storage.config.mounts.glob("*")) == []


def test_a_cloned_pool_is_not_mounted_over_the_original(
    make_disk: MakeDisk, make_storage: MakeStorage, tag: str
) -> None:
    original, clone = make_disk(), make_disk()
    for disk in (original, clone):
        subprocess.run(["mkfs.btrfs", "-q", "-L", f"{tag}-same", disk.device], check=True)
    storage = make_storage({original.device: DeviceType.SSD, clone.device: DeviceType.SSD})
    assert [p.device for p in storage.pools()] == [original.device]
    (broken,) = storage.broken_pools()
    assert broken.Label == f"{tag}-same" and "already mounted" in (broken.Err or "")
