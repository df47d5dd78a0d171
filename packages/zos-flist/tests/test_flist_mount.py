"""The FUSE mount, for real: every test mounts under its own tmp dir and always unmounts."""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from zos_flist.blocks import BLOCK_SIZE
from zos_flist.cache import BlockCache
from zos_flist.fuse_session import FuseSession
from zos_flist.fusefs import FlistFS
from zos_flist.mounts import is_mountpoint, mount_entry
from zos_flist.pack import pack
from zos_flist.reader import FlistReader
from zos_flist.stores import open_router, router_from_routes

from .conftest import DaemonMounts

pytestmark = pytest.mark.real

Mounter = Callable[..., tuple[Path, int, Path]]


def _cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zos_flist.cli", *args], capture_output=True,
                          text=True, check=check, timeout=60)


@pytest.fixture
def mounter(tmp_path: Path, daemon_mounts: DaemonMounts) -> Mounter:
    """(target, server pid, daemon log) of a mount that is unmounted at teardown."""

    def mount(meta: Path, name: str = "mnt", cache: Path | None = None) -> tuple[Path, int, Path]:
        target, pid = daemon_mounts.mount(meta, name, cache)
        return target, pid, tmp_path / f"{name}.log"

    return mount


def test_handmade_flist_mounts_with_upstream_options(handmade: Any, mounter: Mounter) -> None:
    target, pid, _log = mounter(handmade.path)
    found = subprocess.run(["findmnt", "-J", "-o", "TARGET,SOURCE,FSTYPE,OPTIONS",
                            str(target)], capture_output=True, text=True, check=True)
    fs = json.loads(found.stdout)["filesystems"][0]
    assert fs["fstype"] == "fuse.g8ufs" and fs["source"] == str(pid)
    assert "ro" in fs["options"].split(",")
    assert "allow_other" in fs["options"] or "allow_other" in fs["options"].replace(",", " ")
    for rel, content in handmade.files.items():
        assert (target / rel).read_bytes() == content
    names = sorted(p.name for p in target.iterdir())
    assert names == ["big.bin", "empty", "etc", "fifo", "link", "null"]
    st = (target / "etc" / "hello").stat()
    assert (st.st_uid, st.st_gid, st.st_size, st.st_nlink) == (1000, 1001, 11, 1)
    assert st.st_mtime == st.st_atime == 1_700_000_001 and st.st_ctime == 1_700_000_000
    assert st.st_blocks == 1 and stat.S_IMODE(st.st_mode) == 0o664
    assert (target / "etc").stat().st_nlink == 2
    assert (target / "link").readlink() == Path("etc/hello")
    assert stat.S_ISFIFO((target / "fifo").lstat().st_mode)
    assert (target / "null").lstat().st_rdev == os.makedev(1, 3)
    with os.scandir(target) as entries:
        types = {e.name: (e.is_dir(follow_symlinks=False), e.is_symlink()) for e in entries}
    assert types["etc"] == (True, False) and types["link"] == (False, True)
    assert os.statvfs(target).f_bsize == 4096
    with pytest.raises(OSError) as info:
        (target / "new").write_bytes(b"x")
    assert info.value.errno == errno.EROFS
    with pytest.raises(FileNotFoundError):
        (target / "nope").stat()
    big = (target / "big.bin").read_bytes()
    with (target / "big.bin").open("rb") as f:  # reads spanning blocks, and past EOF
        f.seek(BLOCK_SIZE - 10)
        assert f.read(20) == big[BLOCK_SIZE - 10 : BLOCK_SIZE + 10]
        f.seek(len(big) - 3)
        assert f.read(100) == big[-3:]


def test_already_mounted_target_is_refused(handmade: Any, mounter: Mounter) -> None:
    target, _pid, _log = mounter(handmade.path)
    result = _cli("mount", "-m", str(handmade.path), "-d", str(target), check=False)
    assert result.returncode == 1
    assert f"target {target} is already a mount point" in result.stderr


def test_mount_round_trip_every_file_kind(sample_tree: Path, tmp_path: Path, mounter: Mounter,
                                          take_snapshot: Any) -> None:
    meta = tmp_path / "tree.fl"
    pack(sample_tree, meta, open_router([f"dir://{tmp_path}/store"]))
    # The block cache fsyncs every block it fills; on tmpfs that is free, which keeps the
    # 5,000 cold fills of this test fast (the benchmark measures the disk case).
    cache = Path(tempfile.mkdtemp(prefix="zos-flist-test-cache-", dir="/dev/shm"))
    try:
        target, _pid, _log = mounter(meta, cache=cache)
        assert take_snapshot(target) == take_snapshot(sample_tree)
        started = time.monotonic()
        listing = subprocess.run(["ls", "-l", str(target / "many")], capture_output=True,
                                 check=True, text=True)
        assert len(listing.stdout.splitlines()) == 5001
        assert time.monotonic() - started < 5
    finally:
        shutil.rmtree(cache)


def test_corrupt_and_missing_blocks_fail_with_eio(handmade: Any, mounter: Mounter) -> None:
    big_blocks = handmade.block_ids[1:4]
    corrupt, missing = big_blocks[0], big_blocks[2]
    blob = handmade.store / corrupt.hex()
    data = bytearray(blob.read_bytes())
    data[100] ^= 0xFF
    blob.write_bytes(bytes(data))
    (handmade.store / missing.hex()).unlink()
    target, _pid, log = mounter(handmade.path)
    with (target / "big.bin").open("rb") as f:
        with pytest.raises(OSError) as info:
            f.read(100)
        assert info.value.errno == errno.EIO
        f.seek(BLOCK_SIZE)
        assert f.read(100) == handmade.files["big.bin"][BLOCK_SIZE : BLOCK_SIZE + 100]
        f.seek(2 * BLOCK_SIZE)
        with pytest.raises(OSError) as info:
            f.read(10)
        assert info.value.errno == errno.EIO
    assert (target / "etc/hello").read_bytes() == b"hello world"
    text = log.read_text()
    assert corrupt.hex() in text and missing.hex() in text


def test_concurrent_cold_reads_are_correct(tmp_path: Path, mounter: Mounter) -> None:
    src = tmp_path / "src"
    src.mkdir()
    content = os.urandom(6 * BLOCK_SIZE + 1234)
    (src / "data").write_bytes(content)
    meta = tmp_path / "c.fl"
    pack(src, meta, open_router([f"dir://{tmp_path}/store"]))
    target, _pid, _log = mounter(meta)
    digests: list[str] = []
    errors: list[BaseException] = []

    def reader(offset: int) -> None:
        try:
            with (target / "data").open("rb", buffering=0) as f:
                f.seek(offset)
                out = f.read(len(content))
                f.seek(0)
                out = f.read(offset) + out
            digests.append(hashlib.sha256(out).hexdigest())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(i * 100_000,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert set(digests) == {hashlib.sha256(content).hexdigest()}
    cache_files = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert not [p for p in cache_files if p.name.endswith(".tmp")]


def test_sigterm_unmounts_cleanly(
    handmade: Any, mounter: Mounter, wait_gone: Callable[[int], bool]
) -> None:
    target, pid, _log = mounter(handmade.path, name="term")
    os.kill(pid, signal.SIGTERM)
    assert wait_gone(pid)
    assert not is_mountpoint(target)


def test_daemon_reports_failure_and_bad_input(tmp_path: Path, handmade: Any) -> None:
    bad = tmp_path / "bad.fl"
    bad.write_bytes(b"garbage" * 100)
    target = tmp_path / "t"
    target.mkdir()
    result = _cli("mount", "-m", str(bad), "-d", str(target), check=False)
    assert result.returncode == 1 and "no SQLite 3 header" in result.stderr
    result = _cli("mount", "-m", str(handmade.path), "-d", str(tmp_path / "absent"), check=False)
    assert result.returncode == 1 and "not a directory" in result.stderr
    assert not is_mountpoint(target)


def test_closing_after_an_external_unmount_leaves_a_new_mount_alone(
        handmade: Any, tmp_path: Path) -> None:
    """flistd may mount again on a target the moment it unmounted it: the old server must
    not detach that new mount when it exits (the kernel's POLLERR says the mount is gone)."""
    target = tmp_path / "mnt"
    target.mkdir()
    with FlistReader(handmade.path) as reader:
        ops = FlistFS(reader, BlockCache(tmp_path / "cache", router_from_routes(reader.routes())))
        session = FuseSession(ops, target, fsname=str(os.getpid()), subtype="g8ufs")
        session.mount()
        try:
            assert mount_entry(target) is not None
            # umount(8) would stat the mount, which waits for an INIT nobody answers here.
            libc = ctypes.CDLL(None, use_errno=True)
            assert libc.umount2(os.fsencode(target), 0) == 0, os.strerror(ctypes.get_errno())
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "zos-test", str(target)],
                           check=True)
            session.close()
            entry = mount_entry(target)
            assert entry is not None and entry.fstype == "tmpfs"
        finally:
            session.close()
            ops.close()
            while is_mountpoint(target):
                subprocess.run(["umount", str(target)], check=True)
