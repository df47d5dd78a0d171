"""Mounting as an unprivileged user, through the setuid ``fusermount3`` (the node mounts as
root; a developer may not). A forked child drops to ``nobody`` and serves the mount, and one
of its threads reads through it: without ``user_allow_other`` in /etc/fuse.conf the mount is
its owner's alone, so nobody else (not even root) may read it.

Without udev, /dev/fuse is root's only (0600) here, and fusermount3 opens it as the user. The
child therefore gets a mount namespace of its own in which a device node of the test's (the
same 10:229, mode 0666) is bound over /dev/fuse; the machine's /dev/fuse is not touched, and
every mount of the child goes away with its namespace."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from zos_flist.blocks import BLOCK_SIZE
from zos_flist.mount import serve
from zos_flist.mounts import is_mountpoint, mount_entry
from zos_flist.pack import pack
from zos_flist.stores import open_router

pytestmark = [pytest.mark.real, pytest.mark.root]

NOBODY = 65534


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory nobody may use (pytest's tmp dirs are root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="zos-flist-nobody-"))
    path.chmod(0o755)
    yield path
    if is_mountpoint(path / "mnt"):
        subprocess.run(["umount", "-l", str(path / "mnt")], check=False)
    shutil.rmtree(path)


MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
CLONE_NEWNS = 0x00020000


def _private_fuse_device(node: Path) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for result in (libc.unshare(CLONE_NEWNS),
                   libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None)):
        if result != 0:
            raise OSError(ctypes.get_errno(), "private mount namespace")
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(10, 229))
    node.chmod(0o666)
    if libc.mount(os.fsencode(node), b"/dev/fuse", None, MS_BIND, None) != 0:
        raise OSError(ctypes.get_errno(), "bind mount over /dev/fuse")


def _serve_as_nobody(meta: Path, target: Path, cache: Path, want: bytes, report: int) -> None:
    """In the forked child: drop to nobody, serve, and read through the mount meanwhile."""
    _private_fuse_device(target.parent / "fuse-device")
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)

    def reader() -> None:
        message = b"timeout"
        try:
            deadline = time.monotonic() + 20
            while not is_mountpoint(target) and time.monotonic() < deadline:
                time.sleep(0.05)
            entry = mount_entry(target)
            if entry is None:
                message = b"not mounted"
            elif entry.source != str(os.getpid()) or entry.fstype != "fuse.g8ufs":
                message = f"mounted as {entry.fstype} from {entry.source}".encode()
            elif (target / "data").read_bytes() != want or (target / "data").read_bytes() != want:
                message = b"wrong bytes"
            else:
                message = b"ok"
        except Exception as exc:
            message = repr(exc).encode()
        finally:
            os.write(report, message)
            os.kill(os.getpid(), signal.SIGTERM)  # serve() unmounts and returns

    threading.Thread(target=reader, daemon=True).start()
    serve(meta, target, cache)


def test_an_unprivileged_user_mounts_through_fusermount3(shared_dir: Path) -> None:
    content = os.urandom(3 * BLOCK_SIZE + 99)
    src = shared_dir / "src"
    src.mkdir()
    (src / "data").write_bytes(content)
    meta = shared_dir / "data.fl"
    pack(src, meta, open_router([f"dir://{shared_dir}/store"]), workers=1)
    for name in ("mnt", "cache"):
        (shared_dir / name).mkdir()
        os.chown(shared_dir / name, NOBODY, NOBODY)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(read_end)
            _serve_as_nobody(meta, shared_dir / "mnt", shared_dir / "cache", content, write_end)
            code = 0
        except BaseException:
            traceback.print_exc()  # shown with the failure: the report pipe stays empty
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the unprivileged server did not finish")
        assert os.read(read_end, 200) == b"ok"
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        os.close(read_end)
    assert not is_mountpoint(shared_dir / "mnt")
    cached = [p for p in (shared_dir / "cache").rglob("*") if p.is_file()]
    assert cached and all(p.stat().st_uid == NOBODY for p in cached)
