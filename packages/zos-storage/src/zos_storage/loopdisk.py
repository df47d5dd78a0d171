"""Loop devices over sparse files: the fake disks of tests and of the development node.

Each disk is tracked by (backing file, device); detaching checks the kernel still maps that
device to that file, so only devices this code attached are ever detached.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from zos_storage import btrfs
from zos_storage.commands import CommandError, run


@dataclass(frozen=True)
class LoopDisk:
    file: Path
    device: str


def attach(file: Path, size: int) -> LoopDisk:
    """Create a sparse ``file`` of ``size`` bytes (if missing) and attach a loop device."""
    file.parent.mkdir(parents=True, exist_ok=True)
    if not file.exists():
        with file.open("wb") as handle:
            handle.truncate(size)
    proc = run(["losetup", "--find", "--show", str(file)])
    return LoopDisk(file=file, device=proc.stdout.strip())


def backing_file(device: str) -> Path | None:
    name = Path(device).name
    try:
        text = Path(f"/sys/block/{name}/loop/backing_file").read_text().strip()
    except OSError:
        return None
    return Path(text.removesuffix(" (deleted)"))


def devices_of(file: Path) -> list[str]:
    """Loop devices currently backed by ``file``."""
    proc = run(["losetup", "-j", str(file), "-O", "NAME", "-n"], check=False)
    return [line.strip() for line in proc.stdout.splitlines() if line.strip()]


def detach(disk: LoopDisk) -> None:
    """Detach the loop device if (and only if) it still maps ``disk.file``."""
    backing = backing_file(disk.device)
    if backing is None or backing.resolve() != disk.file.resolve():
        return
    btrfs.forget(disk.device)
    with contextlib.suppress(CommandError):
        run(["losetup", "-d", disk.device])


def mounts_under(root: Path) -> list[Path]:
    """Mount targets at or below ``root``, in mount order (unmount in reverse)."""
    root = root.resolve()
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        target = Path(line.split()[4].replace("\\040", " ").replace("\\011", "\t"))
        if target == root or root in target.parents:
            found.append(target)
    return found


def unmount_under(root: Path) -> None:
    """Unmount everything mounted at or below ``root`` (deepest/latest first)."""
    for target in reversed(mounts_under(root)):
        proc = run(["umount", str(target)], check=False)
        if proc.returncode != 0:
            run(["umount", "-l", str(target)], check=False)
