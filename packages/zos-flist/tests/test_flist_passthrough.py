"""Kernel passthrough for real: which opens are passed through to a cache file, the
whole-file copies that make multi-block files eligible, and the kernel's rule that all opens
of an inode share one mode. Whether a read reached the server is read off the server's own
``rchar`` (/proc/PID/io): answering a read means reading the cache files."""

from __future__ import annotations

import mmap
import os
import subprocess
import time
from pathlib import Path

import pytest

from zos_flist.blocks import BLOCK_SIZE
from zos_flist.mounts import is_mountpoint
from zos_flist.pack import pack
from zos_flist.reader import FlistReader
from zos_flist.stores import open_router
from zos_flist.wholefiles import whole_file_key

from .conftest import DaemonMounts

pytestmark = pytest.mark.real

BIG = 5 * BLOCK_SIZE + 12345
SMALL = 100_000


@pytest.fixture
def flist(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    src = tmp_path / "src"
    src.mkdir()
    files = {"big": os.urandom(BIG), "small": os.urandom(SMALL)}
    for name, data in files.items():
        (src / name).write_bytes(data)
    meta = tmp_path / "data.fl"
    pack(src, meta, open_router([f"dir://{tmp_path}/store"]), workers=1)
    return meta, files


def rchar(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar")


def served(pid: int, path: Path, want: bytes) -> int:
    """Read ``path`` whole, check it, and return how many bytes the server read meanwhile.

    The mount's own page cache of the file is dropped first, so that a read in the normal
    (cached) mode reaches the server again."""
    with path.open("rb") as f:
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    before = rchar(pid)
    assert path.read_bytes() == want
    return rchar(pid) - before


def whole_copy(cache: Path, meta: Path, name: str, timeout: float = 30.0) -> Path:
    with FlistReader(meta) as reader:
        inode = reader.resolve(name)
        assert inode is not None
        blocks = reader.blocks(inode.ino)
    key = whole_file_key(blocks, inode.size)
    path = cache / "files" / key[:2] / key[2:4] / key
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"no whole-file copy {path}"
        time.sleep(0.05)
    return path


def test_multi_block_file_is_passed_through_once_its_whole_copy_exists(
        flist: tuple[Path, dict[str, bytes]], daemon_mounts: DaemonMounts,
        tmp_path: Path) -> None:
    meta, files = flist
    target, pid = daemon_mounts.mount(meta)
    assert served(pid, target / "big", files["big"]) >= BIG  # cold: fetched and served
    cache = tmp_path / "cache"
    assert not (cache / "files").exists()  # a file read once gets no second copy
    assert served(pid, target / "big", files["big"]) >= BIG  # re-read: still served...
    copy = whole_copy(cache, meta, "big")  # ...and it earns a whole-file copy
    assert copy.read_bytes() == files["big"]
    assert served(pid, target / "big", files["big"]) < BIG // 4  # the kernel reads the copy
    # A fresh mount of the same content uses it at once.
    daemon_mounts.unmount(target)
    target, pid = daemon_mounts.mount(meta, "again")
    assert served(pid, target / "big", files["big"]) < BIG // 4


def test_single_block_file_is_passed_through_to_its_cache_file(
        flist: tuple[Path, dict[str, bytes]], daemon_mounts: DaemonMounts) -> None:
    meta, files = flist
    target, pid = daemon_mounts.mount(meta)
    assert served(pid, target / "small", files["small"]) >= SMALL
    assert served(pid, target / "small", files["small"]) < SMALL // 4


def test_no_passthrough_serves_every_read(
        flist: tuple[Path, dict[str, bytes]], daemon_mounts: DaemonMounts,
        tmp_path: Path) -> None:
    meta, files = flist
    target, pid = daemon_mounts.mount(meta, passthrough=False)
    for _ in range(3):
        assert served(pid, target / "small", files["small"]) >= SMALL
        assert served(pid, target / "big", files["big"]) >= BIG
    assert not (tmp_path / "cache" / "files").exists()


def _direct(path: Path, offset: int, size: int) -> bytes:
    buf = mmap.mmap(-1, size)  # page aligned
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    try:
        return bytes(buf[: os.preadv(fd, [buf], offset)])
    finally:
        os.close(fd)
        buf.close()


def test_opens_of_one_inode_share_its_mode(
        flist: tuple[Path, dict[str, bytes]], daemon_mounts: DaemonMounts,
        tmp_path: Path) -> None:
    """The kernel fails (EIO) an open whose mode differs from the inode's other open files:
    opens follow the first one until all are closed."""
    meta, files = flist
    big = files["big"]
    target, pid = daemon_mounts.mount(meta)
    path = target / "big"
    assert path.read_bytes() == big  # cold
    with path.open("rb") as held:  # cached mode (no whole copy yet), kept open
        path.read_bytes()  # a re-read: its release makes the whole copy
        whole_copy(tmp_path / "cache", meta, "big")
        before = rchar(pid)
        with path.open("rb") as f:  # the inode is still open in cached mode: so is this one
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            assert f.read() == big
        assert held.read() == big
        assert rchar(pid) - before >= BIG  # served
    time.sleep(0.2)  # RELEASE is sent asynchronously
    # Unaligned O_DIRECT with no passthrough open: answered by the server, any alignment.
    assert _direct(path, 1234, 100_000) == big[1234:101_234]
    with path.open("rb") as passed:  # now the first open: passthrough
        before = rchar(pid)
        assert passed.read() == big
        # O_DIRECT while the inode is passed through: passed through too (aligned reads).
        assert _direct(path, 2 * 4096, 3 * BLOCK_SIZE) == big[8192 : 8192 + 3 * BLOCK_SIZE]
        with path.open("rb") as second:
            assert second.read() == big
        assert rchar(pid) - before < BIG // 4


def test_a_short_whole_copy_is_dropped_and_rebuilt(
        flist: tuple[Path, dict[str, bytes]], daemon_mounts: DaemonMounts,
        tmp_path: Path) -> None:
    meta, files = flist
    target, pid = daemon_mounts.mount(meta)
    path = target / "big"
    served(pid, path, files["big"])
    served(pid, path, files["big"])
    copy = whole_copy(tmp_path / "cache", meta, "big")
    os.truncate(copy, 1000)  # damaged while not open
    assert served(pid, path, files["big"]) >= BIG  # not used: served from the blocks
    copy = whole_copy(tmp_path / "cache", meta, "big")  # and made again on release
    assert copy.stat().st_size == BIG
    assert served(pid, path, files["big"]) < BIG // 4


def test_an_overlay_stacks_on_a_passthrough_mount(
        flist: tuple[Path, dict[str, bytes]], daemon_mounts: DaemonMounts,
        tmp_path: Path) -> None:
    """flistd's RW layers are overlays on the FUSE mount: passthrough must leave room for
    them in the kernel's stacking depth."""
    meta, files = flist
    target, pid = daemon_mounts.mount(meta)
    served(pid, target / "big", files["big"])
    served(pid, target / "big", files["big"])
    whole_copy(tmp_path / "cache", meta, "big")
    upper, work, merged = tmp_path / "upper", tmp_path / "work", tmp_path / "merged"
    for d in (upper, work, merged):
        d.mkdir()
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={target},upperdir={upper},workdir={work}", str(merged)],
                   check=True)
    try:
        assert served(pid, merged / "big", files["big"]) < BIG // 4
        (merged / "new").write_bytes(b"written")
        assert (upper / "new").read_bytes() == b"written"
    finally:
        subprocess.run(["umount", str(merged)], check=True)
    assert not is_mountpoint(merged)
