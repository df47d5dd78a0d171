"""The mount's read path with large requests: read-ahead tuning, the shared reply buffer under
concurrent requests, and cache files that go bad under an open mount. Every test mounts under
its own tmp dir and always unmounts."""

from __future__ import annotations

import errno
import hashlib
import itertools
import mmap
import os
import random
import threading
from pathlib import Path
from typing import Protocol

import pytest

from zos_flist.blocks import BLOCK_SIZE
from zos_flist.mount import READ_AHEAD_KB
from zos_flist.mounts import mount_entry
from zos_flist.pack import pack
from zos_flist.stores import open_router

from .conftest import DaemonMounts

pytestmark = pytest.mark.real

class Mount(Protocol):
    def __call__(self, passthrough: bool = True) -> Path: ...


@pytest.fixture
def content() -> bytes:
    # Not a whole number of blocks, so the last block is short.
    return os.urandom(9 * BLOCK_SIZE + 4321)


@pytest.fixture
def mount(tmp_path: Path, content: bytes, daemon_mounts: DaemonMounts) -> Mount:
    """Mounts a fresh FUSE server on the packed ``content`` (one shared block cache)."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "data").write_bytes(content)
    (src / "other").write_bytes(content[::-1])
    meta = tmp_path / "data.fl"
    pack(src, meta, open_router([f"dir://{tmp_path}/store"]), workers=1)
    count = itertools.count()

    def do_mount(passthrough: bool = True) -> Path:
        target, _pid = daemon_mounts.mount(meta, f"mnt{next(count)}", passthrough=passthrough)
        return target

    return do_mount


def _direct_read(path: Path, offset: int, size: int) -> bytes:
    """One read with O_DIRECT: it bypasses the mount's page cache, so the server gets the
    request as asked (split into at most 1 MiB requests) at an arbitrary offset."""
    buf = mmap.mmap(-1, max(size, 1))  # page aligned
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    try:
        got = os.preadv(fd, [buf], offset)
        return bytes(buf[:got])
    finally:
        os.close(fd)
        buf.close()


def test_read_ahead_is_raised_and_big_reads_are_exact(mount: Mount, content: bytes) -> None:
    target = mount()
    entry = mount_entry(target)
    assert entry is not None
    ra = Path("/sys/class/bdi") / entry.device / "read_ahead_kb"
    assert int(ra.read_text()) == READ_AHEAD_KB
    # Sequential 1 MiB reads through the page cache (1 MiB requests straddling blocks).
    with (target / "data").open("rb", buffering=0) as f:
        out = b"".join(iter(lambda: f.read(1 << 20), b""))
    assert out == content
    # Direct reads: unaligned, straddling up to 5 blocks, ending at and beyond EOF.
    size = len(content)
    cases = [(0, 1 << 20), (BLOCK_SIZE - 1, (1 << 20) + 7), (3 * BLOCK_SIZE + 17, 2 * BLOCK_SIZE),
             (7, 5 * BLOCK_SIZE - 3), (size - 10, 1 << 20), (size, 4096), (size + 5, 4096)]
    rng = random.Random(6)
    cases += [(rng.randrange(size), rng.randrange(1, 3 << 20)) for _ in range(20)]
    for offset, length in cases:
        assert _direct_read(target / "data", offset, length) == content[offset : offset + length]


def test_concurrent_big_readers_get_their_own_bytes(mount: Mount, content: bytes) -> None:
    # Every read through the server (the shared reply buffer under concurrent requests);
    # cold: the first requests also fill the cache concurrently.
    target = mount(passthrough=False)
    files = {"data": content, "other": content[::-1]}
    errors: list[BaseException] = []

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        name = "data" if seed % 2 else "other"
        want = files[name]
        try:
            for _ in range(25):
                offset = rng.randrange(len(want))
                length = rng.randrange(1, 2 << 20)
                got = _direct_read(target / name, offset, length)
                if got != want[offset : offset + length]:
                    raise AssertionError(f"{name} at {offset}+{length}: wrong bytes")
            with (target / name).open("rb") as f:
                if hashlib.sha256(f.read()).digest() != hashlib.sha256(want).digest():
                    raise AssertionError(f"{name}: wrong sequential read")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors


def test_a_cache_file_cut_under_the_mount_gives_eio_then_is_refetched(
        mount: Mount, content: bytes, tmp_path: Path) -> None:
    target = mount()
    assert _direct_read(target / "data", BLOCK_SIZE, 100) == content[BLOCK_SIZE : BLOCK_SIZE + 100]
    second = [p for p in (tmp_path / "cache").rglob("*")
              if p.is_file() and not p.name.endswith(".lock")
              and p.read_bytes() == content[BLOCK_SIZE : 2 * BLOCK_SIZE]]
    assert len(second) == 1
    os.truncate(second[0], 1000)  # the server holds it open: it now reads short
    with pytest.raises(OSError) as info:
        _direct_read(target / "data", BLOCK_SIZE + 2000, 100)
    assert info.value.errno == errno.EIO
    # The bad file is dropped: the next read fetches and verifies the block again.
    assert _direct_read(target / "data", BLOCK_SIZE + 2000, 100) == (
        content[BLOCK_SIZE + 2000 : BLOCK_SIZE + 2100])
    assert second[0].stat().st_size == BLOCK_SIZE
