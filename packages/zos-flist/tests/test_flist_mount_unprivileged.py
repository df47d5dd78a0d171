"""Mounting as an unprivileged user, through the setuid ``fusermount3`` (the node mounts as
root; a developer may not). A forked child drops to ``nobody`` and serves the mount, and one
of its threads reads through it: without ``user_allow_other`` in /etc/fuse.conf the mount is
its owner's alone, so nobody else (not even root) may read it.

Without udev, /dev/fuse is root's only (0600) here, and fusermount3 opens it as the user. The
child therefore gets a mount namespace of its own in which a device node of the test's (the
same 10:229, mode 0666) is bound over /dev/fuse; the machine's /dev/fuse is not touched, and
every mount of the child goes away with its namespace."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from zos_flist.blocks import BLOCK_SIZE
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
    shutil.rmtree(path)  # the child's mounts went away with its mount namespace


CHILD = Path(__file__).with_name("unprivileged_child.py")


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
    (shared_dir / "want").write_bytes(content)
    # A fresh interpreter (not a fork of pytest and its threads) that drops privileges itself.
    result = subprocess.run(
        [sys.executable, str(CHILD), str(meta), str(shared_dir / "mnt"),
         str(shared_dir / "cache"), str(shared_dir / "want")],
        capture_output=True, text=True, timeout=60, check=False)
    assert result.stdout.split() == ["ok", "unmounted"], result.stdout + result.stderr
    assert result.returncode == 0, result.stderr
    cached = [p for p in (shared_dir / "cache").rglob("*") if p.is_file()]
    assert cached and all(p.stat().st_uid == NOBODY for p in cached)
