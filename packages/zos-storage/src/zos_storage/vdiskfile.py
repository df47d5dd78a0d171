"""The raw disk files behind vdisks: NOCOW, fully preallocated, never silently overwritten."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from zos_storage import blockdev, btrfs
from zos_storage.api import AlreadyExistsError, DeviceType, NotEnoughSpaceError, StorageError
from zos_storage.commands import run

_FULL = (errno.ENOSPC, errno.EDQUOT)


def _allocate(fd: int, size: int) -> None:
    try:
        os.posix_fallocate(fd, 0, size)
        os.fsync(fd)
    except OSError as exc:
        if exc.errno in _FULL:
            raise NotEnoughSpaceError(DeviceType.SSD) from exc
        raise


def create(path: Path, size: int) -> None:
    """A new file of ``size`` bytes, all allocated (not sparse); removed again on any error."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        raise AlreadyExistsError(f"disk with id '{path.name}' already exists") from None
    try:
        try:
            btrfs.set_nocow(fd)  # only effective while the file is empty
            _allocate(fd, size)
        finally:
            os.close(fd)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def grow(path: Path, size: int) -> None:
    """Allocate the file up to ``size`` bytes (never shrinks: the caller checked)."""
    fd = os.open(path, os.O_WRONLY)
    try:
        _allocate(fd, size)
    finally:
        os.close(fd)


def write_image(path: Path, image: Path) -> bool:
    """Copy a raw image into a blank disk file; False (nothing written) if the disk holds
    anything ``blkid`` recognises, so a redeploy never wipes user data (zos#1672, #1676)."""
    if not image.is_file():
        raise StorageError(f"image '{image}' is not a file")
    if not blockdev.probe(str(path)).blank:
        return False
    if image.stat().st_size > path.stat().st_size:
        raise StorageError("image size is bigger than disk")
    with image.open("rb") as src, path.open("r+b") as dst:
        shutil.copyfileobj(src, dst, 4 * 1024 * 1024)
        dst.flush()
        os.fsync(dst.fileno())
    return True


def format_btrfs(path: Path) -> None:
    """``mkfs.btrfs`` unless the file already holds a filesystem (then: success)."""
    proc = run(["mkfs.btrfs", str(path)], check=False)
    if proc.returncode == 0:
        return
    output = proc.stdout + proc.stderr
    if proc.returncode == 1 and "use the -f option to force overwrite" in output:
        return
    errors = [line for line in output.splitlines() if line.startswith("ERROR")]
    detail = "; ".join(errors) or output.strip()
    raise StorageError(f"failed to format vdisk '{path.name}': {detail}")
