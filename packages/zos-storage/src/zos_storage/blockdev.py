"""What a block device holds, read from the device itself (``blkid -p``), never from lsblk.

Without a running udev, lsblk reports empty FSTYPE/LABEL even for formatted disks, so it
cannot tell a blank disk from the root disk. ``blkid -p`` probes the device's own sectors.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

from zos_storage.commands import run

_BLKGETSIZE64 = 0x80081272
_BLKID_NOTHING_FOUND = 2


@dataclass(frozen=True)
class Probe:
    """The signatures blkid found on a device."""

    fstype: str = ""
    label: str = ""
    uuid: str = ""
    pttype: str = ""

    @property
    def blank(self) -> bool:
        return not (self.fstype or self.label or self.pttype)


def probe(device: str) -> Probe:
    """``blkid -p -o export DEVICE``: any TYPE/LABEL/PTTYPE means the device is used."""
    proc = run(["blkid", "-p", "-o", "export", device], check=False)
    if proc.returncode == _BLKID_NOTHING_FOUND:
        return Probe()
    if proc.returncode != 0:
        raise OSError(f"blkid -p {device} failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return parse_blkid_export(proc.stdout)


def parse_blkid_export(text: str) -> Probe:
    """The ``KEY=value`` lines of ``blkid -o export``; other keys are ignored."""
    values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    return Probe(
        fstype=values.get("TYPE", ""),
        label=values.get("LABEL", ""),
        uuid=values.get("UUID", ""),
        pttype=values.get("PTTYPE", ""),
    )


def is_block_device(device: str) -> bool:
    try:
        return stat.S_ISBLK(Path(device).stat().st_mode)
    except OSError:
        return False


def size_bytes(device: str) -> int:
    """The device size in bytes (BLKGETSIZE64)."""
    fd = os.open(device, os.O_RDONLY)
    try:
        buf = fcntl.ioctl(fd, _BLKGETSIZE64, b"\0" * 8)
    finally:
        os.close(fd)
    return int(struct.unpack("Q", buf)[0])


def sysfs_dir(device: str) -> Path:
    st = Path(device).stat()
    return Path(f"/sys/dev/block/{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}")


def rotational(device: str) -> bool | None:
    """The kernel's rotational flag (loop devices say 1); None when unknown."""
    try:
        text = (sysfs_dir(device) / "queue" / "rotational").read_text().strip()
    except OSError:
        return None
    return text == "1"


def has_partitions(device: str) -> bool:
    """Whether the kernel knows partitions of the device (children with a ``partition`` file)."""
    try:
        base = sysfs_dir(device).resolve()
    except OSError:
        return False
    return any((child / "partition").exists() for child in base.iterdir() if child.is_dir())


@dataclass(frozen=True)
class Mount:
    target: str
    source: str
    fstype: str
    options: str


def mounts_of(device: str) -> list[Mount]:
    """Every mount of ``device`` (``findmnt -J -S``), including bind mounts of subvolumes."""
    proc = run(["findmnt", "-J", "-S", device, "-o", "TARGET,SOURCE,FSTYPE,OPTIONS"], check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        return []
    found: list[Mount] = []

    def walk(nodes: list[dict[str, object]]) -> None:
        for node in nodes:
            found.append(
                Mount(
                    target=str(node.get("target", "")),
                    source=str(node.get("source", "")),
                    fstype=str(node.get("fstype", "")),
                    options=str(node.get("options", "")),
                )
            )
            children = node.get("children")
            if isinstance(children, list):
                walk(children)

    walk(json.loads(proc.stdout).get("filesystems", []))
    return found


def root_devices() -> set[str]:
    """The device(s) ``/`` lives on, by path and by device number."""
    found: set[str] = set()
    proc = run(["findmnt", "-n", "-o", "SOURCE", "/"], check=False)
    for line in proc.stdout.splitlines():
        source = line.strip().split("[", 1)[0]
        if source.startswith("/dev/"):
            found.add(os.path.realpath(source))
    return found


def device_number(device: str) -> int:
    return Path(device).stat().st_rdev


def is_mountpoint(path: Path) -> bool:
    return os.path.ismount(path)
