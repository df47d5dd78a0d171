"""Fixtures for zos-flist tests: a `.fl` built by hand from the spec, and trees to pack."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cramjam
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from zos_flist.mounts import is_mountpoint, mount_entry

# The schema exactly as spec §1.2 lists it (upstream rfs), with none of our additions.
SPEC_SCHEMA = """
CREATE TABLE inode (ino INTEGER PRIMARY KEY AUTOINCREMENT, parent INTEGER, name VARCHAR(255),
  size INTEGER, uid INTEGER, gid INTEGER, mode INTEGER, rdev INTEGER, ctime INTEGER,
  mtime INTEGER);
CREATE INDEX parents ON inode (parent);
CREATE INDEX names ON inode (name);
CREATE TABLE extra (ino INTEGER PRIMARY KEY, data VARCHAR(4096));
CREATE TABLE block (ino INTEGER, id VARCHAR(32), key VARCHAR(32));
CREATE INDEX block_ino ON block (ino);
CREATE TABLE tag (key VARCHAR(10) PRIMARY KEY, value VARCHAR(255));
CREATE TABLE route (start integer, end integer, url VARCHAR(2048));
"""


def spec_encode(plain: bytes) -> tuple[bytes, bytes, bytes]:
    """(id, key, blob) by the steps of spec §1.4, written independently of zos_flist."""
    key = hashlib.blake2b(plain, digest_size=32).digest()
    comp = bytes(cramjam.snappy.compress_raw(plain))
    blob = AESGCM(key).encrypt(key[:12], comp, None)
    return hashlib.blake2b(blob, digest_size=32).digest(), key, blob


@dataclass
class HandmadeFlist:
    path: Path
    store: Path
    files: dict[str, bytes] = field(default_factory=dict)
    block_ids: list[bytes] = field(default_factory=list)


def build_handmade_flist(tmp: Path, *, flat_store: bool = True) -> HandmadeFlist:
    """An upstream-shaped `.fl`: rfs 2.0.6 writes the flat ``<store>/<hex>`` layout."""
    store = tmp / "store"
    store.mkdir()
    path = tmp / "handmade.fl"
    db = sqlite3.connect(path)
    db.executescript(SPEC_SCHEMA)
    t = 1_700_000_000
    result = HandmadeFlist(path, store)

    def inode(parent: int, name: str, size: int, mode: int, rdev: int = 0) -> int:
        cur = db.execute(
            "INSERT INTO inode (parent, name, size, uid, gid, mode, rdev, ctime, mtime)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (parent, name, size, 1000, 1001, mode, rdev, t, t + 1),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def file(parent: int, name: str, content: bytes, rel: str) -> None:
        ino = inode(parent, name, len(content), 33204)
        for i in range(0, len(content), 524288):
            block_id, key, blob = spec_encode(content[i : i + 524288])
            target = store / block_id.hex() if flat_store else store / block_id.hex()[:2]
            if not flat_store:
                target.mkdir(exist_ok=True)
                target = target / block_id.hex()
            target.write_bytes(blob)
            db.execute("INSERT INTO block (ino, id, key) VALUES (?, ?, ?)", (ino, block_id, key))
            result.block_ids.append(block_id)
        result.files[rel] = content

    root = inode(0, "/", 4096, 16893)
    etc = inode(root, "etc", 4096, 16893)
    file(etc, "hello", b"hello world", "etc/hello")
    # 2 full blocks of distinct pseudo-random bytes + a tail
    big = b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(32768))
    big += b"tail" * 1000
    file(root, "big.bin", big, "big.bin")
    file(root, "empty", b"", "empty")
    link = inode(root, "link", len(b"etc/hello"), 41471)
    db.execute("INSERT INTO extra (ino, data) VALUES (?, ?)", (link, b"etc/hello"))
    inode(root, "fifo", 0, stat.S_IFIFO | 0o644)
    inode(root, "null", 0, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    db.execute("INSERT INTO tag (key, value) VALUES ('version', '1.0')")
    db.execute("INSERT INTO route (start, end, url) VALUES (0, 255, ?)", (f"dir://{store}",))
    db.commit()
    db.close()
    return result


@pytest.fixture
def handmade(tmp_path: Path) -> HandmadeFlist:
    return build_handmade_flist(tmp_path)


def make_tree(root: Path, *, big_entries: int = 5000) -> None:
    """A tree with every file kind the format represents."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "regular.txt").write_bytes(b"some text\n" * 100)
    (root / "empty").write_bytes(b"")
    sparse = root / "sparse.img"
    with sparse.open("wb") as f:  # sparse-ish: zero runs around real data, 3 MiB
        f.seek(1024 * 1024)
        f.write(os.urandom(700_000))
        f.truncate(3 * 1024 * 1024 + 17)
    (root / "link-rel").symlink_to("regular.txt")
    (root / "link-abs").symlink_to("/etc/passwd")
    (root / "link-dangling").symlink_to("no/such/file")
    os.mkfifo(root / "fifo", 0o640)
    os.mknod(root / "null-dev", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.mknod(root / "loop-dev", stat.S_IFBLK | 0o660, os.makedev(7, 200))
    (root / "ünïcødé – файл 文件.txt").write_text("unicode ✓\n", encoding="utf-8")
    deep = root
    for i in range(40):
        deep = deep / f"level-{i:02d}"
    deep.mkdir(parents=True)
    (deep / "bottom.txt").write_bytes(b"deep\n")
    (root / "setuid").write_bytes(b"#!/bin/sh\n")
    (root / "setuid").chmod(0o4755)
    sticky = root / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    owned = root / "owned"
    owned.write_bytes(b"owned by 1234:5678\n")
    os.chown(owned, 1234, 5678)
    many = root / "many"
    many.mkdir()
    for i in range(big_entries):
        (many / f"f{i:05d}").write_bytes(f"{i}\n".encode())


@pytest.fixture(scope="session")
def sample_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tree") / "src"
    make_tree(root)
    return root


def snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """Path -> (type+mode, uid, gid, size, mtime, content or target or rdev)."""
    out: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            p = Path(dirpath) / name
            st = p.lstat()
            rel = str(p.relative_to(root))
            extra: object
            if stat.S_ISREG(st.st_mode):
                extra = hashlib.sha256(p.read_bytes()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                extra = str(p.readlink())
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                extra = st.st_rdev
            else:
                extra = None
            mtime = None if stat.S_ISDIR(st.st_mode) else int(st.st_mtime)
            out[rel] = (st.st_mode, st.st_uid, st.st_gid, st.st_size if not stat.S_ISDIR(
                st.st_mode) else None, mtime, extra)
    return out


Snapshot = Callable[[Path], dict[str, tuple[object, ...]]]


@pytest.fixture
def take_snapshot() -> Iterator[Snapshot]:
    yield snapshot


WaitGone = Callable[[int], bool]


def _wait_gone(pid: int, timeout: float = 10.0) -> bool:
    """Whether process ``pid`` (a mount daemon the test started) exited within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def wait_gone() -> WaitGone:
    return _wait_gone


class DaemonMounts:
    """Mount daemons started through the CLI (``zos-flist mount -d``) under one tmp dir; every
    one is unmounted (and its process gone) at teardown."""

    def __init__(self, tmp: Path, wait_gone: WaitGone) -> None:
        self.tmp = tmp
        self.wait_gone = wait_gone
        self.mounted: dict[Path, int] = {}

    def mount(self, meta: Path, name: str = "mnt", cache: Path | None = None, *,
              passthrough: bool = True) -> tuple[Path, int]:
        """(target, pid of the serving process)."""
        target = self.tmp / name
        target.mkdir(exist_ok=True)
        log = self.tmp / f"{name}.log"
        result = subprocess.run(
            [sys.executable, "-m", "zos_flist.cli", "mount", "-m", str(meta), "-c",
             str(cache or self.tmp / "cache"), "-d", "-l", str(log),
             *([] if passthrough else ["--no-passthrough"]), str(target)],
            capture_output=True, text=True, check=False, timeout=60)
        assert result.returncode == 0, result.stderr + (log.read_text() if log.exists() else "")
        entry = mount_entry(target)
        assert entry is not None
        self.mounted[target] = int(entry.source)
        return target, int(entry.source)

    def unmount(self, target: Path) -> None:
        pid = self.mounted.pop(target)
        if is_mountpoint(target):
            subprocess.run(["umount", str(target)], check=False)
        if is_mountpoint(target):  # busy (a failed test left a file open): detach it
            subprocess.run(["umount", "-l", str(target)], check=False)
        if not self.wait_gone(pid):
            os.kill(pid, signal.SIGKILL)
        assert not is_mountpoint(target)

    def unmount_all(self) -> None:
        for target in list(self.mounted):
            self.unmount(target)


@pytest.fixture
def daemon_mounts(tmp_path: Path, wait_gone: WaitGone) -> Iterator[DaemonMounts]:
    mounts = DaemonMounts(tmp_path, wait_gone)
    yield mounts
    mounts.unmount_all()
