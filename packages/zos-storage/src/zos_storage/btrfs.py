"""Thin wrappers over btrfs-progs: filesystems, subvolumes and qgroups."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

from zos_storage.commands import CommandError, run


def mkfs(device: str, label: str) -> None:
    # no -f: mkfs refuses a device that holds a signature, a last line of defence.
    run(["mkfs.btrfs", "-q", "-L", label, device])


def mount(device: str, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    run(["mount", "-t", "btrfs", device, str(target)])


def unmount(target: Path) -> None:
    run(["umount", str(target)])


def quota_enable(mountpoint: Path) -> None:
    """Enable quotas, then wait for the rescan enabling starts (numbers are wrong until then)."""
    run(["btrfs", "quota", "enable", str(mountpoint)])
    quota_rescan_wait(mountpoint)


@dataclass(frozen=True)
class Subvolume:
    id: int
    name: str
    """Path relative to the pool's top level (one level deep for everything storaged makes)."""


_SUBVOLUME_LINE = re.compile(r"^ID (\d+) gen \d+ top level \d+ path (.+)$")


def subvolumes(mountpoint: Path) -> list[Subvolume]:
    """Direct children of the top-level subvolume (``btrfs subvolume list -o``)."""
    proc = run(["btrfs", "subvolume", "list", "-o", str(mountpoint)])
    found = []
    for line in proc.stdout.splitlines():
        match = _SUBVOLUME_LINE.match(line.strip())
        if match:
            found.append(Subvolume(int(match.group(1)), match.group(2).removeprefix("<FS_TREE>/")))
    return found


# Hot paths (create/delete/limit) use the btrfs ioctls directly: one syscall instead of a
# btrfs-progs process each. Numbers and layouts from linux/btrfs.h (stable kernel ABI).
_SUBVOLUME_ROOT_INODE = 256
"""A subvolume's root directory is always inode 256 (BTRFS_FIRST_FREE_OBJECTID)."""
_VOL_ARGS_SIZE = 4096  # struct btrfs_ioctl_vol_args: s64 fd; char name[4088]
_NAME_MAX = 4087


def _ioc(direction: int, nr: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (0x94 << 8) | nr


_WRITE, _READ = 1, 2
_NONE = 0
_BTRFS_IOC_SYNC = _ioc(_NONE, 8, 0)
_BTRFS_IOC_QUOTA_RESCAN_WAIT = _ioc(_NONE, 46, 0)
_BTRFS_IOC_SUBVOL_CREATE = _ioc(_WRITE, 14, _VOL_ARGS_SIZE)
_BTRFS_IOC_SNAP_DESTROY = _ioc(_WRITE, 15, _VOL_ARGS_SIZE)
_BTRFS_IOC_INO_LOOKUP = _ioc(_READ | _WRITE, 18, 4096)
_BTRFS_IOC_QGROUP_CREATE = _ioc(_WRITE, 42, 16)  # u64 create; u64 qgroupid
_BTRFS_IOC_QGROUP_LIMIT = _ioc(_READ, 43, 48)  # u64 qgroupid; struct btrfs_qgroup_limit
_QGROUP_LIMIT_MAX_RFER = 1


def _ioctl_on(path: Path, request: int, args: bytearray) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.ioctl(fd, request, args, True)
    finally:
        os.close(fd)


def sync(mountpoint: Path) -> None:
    """``btrfs filesystem sync``: flush dirty data and commit the running transaction.

    qgroup referenced/exclusive numbers are only accounted at transaction commit, so without
    this they read 0 for a new subvolume and lag behind writes until the kernel commits on its
    own (every 30 s, or earlier under memory pressure), which made usage depend on timing.
    """
    _ioctl_on(mountpoint, _BTRFS_IOC_SYNC, bytearray(8))


def quota_rescan_wait(mountpoint: Path) -> None:
    """``btrfs quota rescan -W``: wait for a running qgroup rescan (returns at once if none)."""
    _ioctl_on(mountpoint, _BTRFS_IOC_QUOTA_RESCAN_WAIT, bytearray(8))


def _vol_args(name: str) -> bytearray:
    raw = name.encode()
    if not raw or len(raw) > _NAME_MAX or b"/" in raw or b"\0" in raw:
        raise ValueError(f"invalid subvolume name {name!r}")
    args = bytearray(_VOL_ARGS_SIZE)
    args[8 : 8 + len(raw)] = raw
    return args


def is_subvolume(path: Path) -> bool:
    """Whether ``path`` is the root of a btrfs subvolume (one stat, no subprocess)."""
    try:
        st = path.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_ino == _SUBVOLUME_ROOT_INODE


def subvolume_id(path: Path) -> int:
    """The id (tree id) of the subvolume rooted at ``path`` (BTRFS_IOC_INO_LOOKUP)."""
    args = bytearray(4096)
    struct.pack_into("QQ", args, 0, 0, _SUBVOLUME_ROOT_INODE)
    _ioctl_on(path, _BTRFS_IOC_INO_LOOKUP, args)
    return int(struct.unpack_from("Q", args, 0)[0])


def child_subvolumes(mountpoint: Path) -> list[Subvolume]:
    """Subvolumes directly under the pool's top level, without running btrfs-progs."""
    found = []
    with os.scandir(mountpoint) as entries:
        for entry in entries:
            path = Path(entry.path)
            if is_subvolume(path):
                found.append(Subvolume(subvolume_id(path), entry.name))
    return sorted(found, key=lambda s: s.id)


def subvolume_create(path: Path) -> None:
    """``btrfs subvolume create PATH`` (BTRFS_IOC_SUBVOL_CREATE on the parent)."""
    _ioctl_on(path.parent, _BTRFS_IOC_SUBVOL_CREATE, _vol_args(path.name))


def subvolume_delete(path: Path) -> None:
    """``btrfs subvolume delete PATH`` (BTRFS_IOC_SNAP_DESTROY on the parent)."""
    _ioctl_on(path.parent, _BTRFS_IOC_SNAP_DESTROY, _vol_args(path.name))


@dataclass(frozen=True)
class QGroup:
    id: int
    referenced: int
    exclusive: int
    max_referenced: int
    """0 when unlimited."""


def parse_qgroup_show(text: str) -> dict[int, QGroup]:
    """Parse ``btrfs qgroup show -re --raw``; tolerant of the path column of progs >= 6.2."""
    groups: dict[int, QGroup] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 5 or not re.fullmatch(r"0/\d+", fields[0]):
            continue
        limit = fields[3]
        groups[int(fields[0][2:])] = QGroup(
            id=int(fields[0][2:]),
            referenced=int(fields[1]),
            exclusive=int(fields[2]),
            max_referenced=0 if limit == "none" else int(limit),
        )
    return groups


def qgroups(mountpoint: Path) -> dict[int, QGroup]:
    """Level-0 qgroups of a pool by subvolume id."""
    proc = run(["btrfs", "qgroup", "show", "-re", "--raw", str(mountpoint)])
    return parse_qgroup_show(proc.stdout)


def _qgroup_create_args(create: bool, subvolume_id: int) -> bytearray:
    args = bytearray(16)
    struct.pack_into("QQ", args, 0, int(create), subvolume_id)  # level 0: qgroupid = id
    return args


def qgroup_create(subvolume_id: int, mountpoint: Path) -> None:
    """``btrfs qgroup create 0/ID MNT``."""
    _ioctl_on(mountpoint, _BTRFS_IOC_QGROUP_CREATE, _qgroup_create_args(True, subvolume_id))


def qgroup_destroy(subvolume_id: int, mountpoint: Path) -> None:
    """``btrfs qgroup destroy 0/ID MNT``."""
    _ioctl_on(mountpoint, _BTRFS_IOC_QGROUP_CREATE, _qgroup_create_args(False, subvolume_id))


def qgroup_limit(size: int, path: Path) -> None:
    """``btrfs qgroup limit SIZE PATH``: max referenced bytes of the subvolume at PATH."""
    args = bytearray(48)
    # qgroupid 0 = the subvolume the fd belongs to; then flags, max_rfer, max_excl, rsv...
    struct.pack_into("QQQQQQ", args, 0, 0, _QGROUP_LIMIT_MAX_RFER, size, 0, 0, 0)
    _ioctl_on(path, _BTRFS_IOC_QGROUP_LIMIT, args)


_FS_IOC_GETFLAGS = 0x80086601
_FS_IOC_SETFLAGS = 0x40086602
_FS_NOCOW_FL = 0x00800000


def set_nocow(fd: int) -> None:
    """``chattr +C``: no copy-on-write (VM disks); only effective while the file is empty."""
    flags = bytearray(4)
    fcntl.ioctl(fd, _FS_IOC_GETFLAGS, flags, True)
    value = struct.unpack("i", flags)[0] | _FS_NOCOW_FL
    fcntl.ioctl(fd, _FS_IOC_SETFLAGS, struct.pack("i", value))


def forget(device: str) -> None:
    """Drop the kernel's registration of an unmounted device (before detaching a loop)."""
    with contextlib.suppress(CommandError):
        run(["btrfs", "device", "scan", "--forget", device])
