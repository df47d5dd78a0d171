"""Packing with worker processes gives exactly what one encoder thread gives."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from zos_flist.blocks import BLOCK_SIZE
from zos_flist.errors import StoreUnavailableError
from zos_flist.pack import pack
from zos_flist.pack_workers import SEGMENT_BLOCKS, fill
from zos_flist.stores import RoutedStore, Router, Store, open_router


def _rows(meta: Path) -> dict[str, list[tuple[object, ...]]]:
    db = sqlite3.connect(meta)
    try:
        return {
            "inode": db.execute("SELECT * FROM inode ORDER BY ino").fetchall(),
            "extra": db.execute("SELECT * FROM extra ORDER BY ino").fetchall(),
            # rowid order is the order readers get a file's blocks in
            "block": db.execute("SELECT rowid, ino, id, key FROM block ORDER BY rowid").fetchall(),
            "tag": db.execute("SELECT * FROM tag ORDER BY key").fetchall(),
            "route": db.execute("SELECT start, end FROM route ORDER BY rowid").fetchall(),
        }
    finally:
        db.close()


def _store_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_pack_with_worker_processes_matches_one_thread(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub" / "deeper").mkdir(parents=True)
    # Spans several task segments, ends in a short block.
    (src / "big.bin").write_bytes(os.urandom(BLOCK_SIZE * (SEGMENT_BLOCKS + 5) + 123))
    # Exactly on a segment boundary, compressible and repeating (deduplicated blocks).
    (src / "sub" / "text").write_bytes(b"flist " * (BLOCK_SIZE * SEGMENT_BLOCKS // 6)
                                       + b"x" * (BLOCK_SIZE * SEGMENT_BLOCKS % 6))
    for i in range(300):  # many small files share one task
        (src / "sub" / "deeper" / f"f{i:03}").write_bytes(f"small {i}\n".encode() * (i + 1))
    (src / "empty").write_bytes(b"")
    (src / "link").symlink_to("sub/text")
    results = {}
    # 2 workers start by fork; 3 with another thread running start by forkserver.
    for workers in (1, 2, 3):
        store = tmp_path / f"store{workers}"
        router = open_router([f"00-7f=dir://{store}/low", f"80-ff=dir://{store}/high"])
        meta = tmp_path / f"out{workers}.fl"
        done = threading.Event()
        other = threading.Thread(target=done.wait)
        if workers == 3:
            other.start()
        try:
            stats = pack(src, meta, router, workers=workers, tags={"k": "v"})
        finally:
            done.set()
            if other.is_alive():
                other.join()
        router.close()
        results[workers] = (stats, _rows(meta), _store_files(store))
    one = results[1]
    assert one == results[2]
    many = results[3]
    assert one[0] == many[0]
    assert one[0].bytes == sum(p.stat().st_size for p in src.rglob("*")
                               if p.is_file() and not p.is_symlink())
    assert one[1] == many[1]
    assert len(one[1]["block"]) == one[0].blocks == SEGMENT_BLOCKS * 2 + 6 + 300
    assert one[2] == many[2] and one[2]


class _Recording(Store):
    """A store double (not reopenable by URL) that records which thread stored each blob."""

    def __init__(self) -> None:
        super().__init__("test://recording")
        self.blobs: dict[bytes, bytes] = {}
        self.threads: set[str] = set()

    def get(self, block_id: bytes) -> bytes:
        return self.blobs[block_id]

    def set(self, block_id: bytes, blob: bytes | memoryview) -> None:
        self.threads.add(threading.current_thread().name)
        self.blobs[block_id] = bytes(blob)  # a view of a reused buffer: copy it


def test_one_worker_encodes_inline_like_threads(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a").write_bytes(os.urandom(3 * BLOCK_SIZE + 5))
    (src / "b").write_bytes(b"b" * BLOCK_SIZE)
    results = {}
    for workers in (1, 2):  # 2 with a foreign store: the thread pool
        store = _Recording()
        stats = pack(src, tmp_path / f"{workers}.fl", Router([RoutedStore(0, 255, store)]),
                     workers=workers)
        results[workers] = (stats, _rows(tmp_path / f"{workers}.fl")["block"], store.blobs)
        if workers == 1:  # encoded inline; one thread only writes to the store
            assert store.threads == {"pack-store_0"}
        else:
            assert store.threads and all(t.startswith("pack_") for t in store.threads)
    assert results[1] == results[2]
    assert results[1][0].blocks == 5


def test_fill_never_cuts_a_block_on_short_reads() -> None:
    # A pipe returns what was written so far: reads come back short, fill must keep going.
    data = os.urandom(BLOCK_SIZE + 1000)
    r, w = os.pipe()

    def writer() -> None:
        for i in range(0, len(data), 10_000):
            os.write(w, data[i : i + 10_000])
        os.close(w)

    t = threading.Thread(target=writer)
    t.start()
    buffer = bytearray(BLOCK_SIZE)
    with open(r, "rb", buffering=0) as f:
        assert fill(f, buffer) == BLOCK_SIZE and bytes(buffer) == data[:BLOCK_SIZE]
        assert fill(f, buffer) == 1000 and bytes(buffer[:1000]) == data[BLOCK_SIZE:]
        assert fill(f, buffer) == 0
    t.join()


class _Failing(_Recording):
    def set(self, block_id: bytes, blob: bytes | memoryview) -> None:
        if len(self.blobs) == 2:
            raise StoreUnavailableError(self.name, "disk full")
        super().set(block_id, blob)


def test_one_worker_store_error_fails_the_pack(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a").write_bytes(os.urandom(8 * BLOCK_SIZE))
    out = tmp_path / "out.fl"
    with pytest.raises(StoreUnavailableError, match="disk full"):
        pack(src, out, Router([RoutedStore(0, 255, _Failing())]), workers=1)
    assert not out.exists() and not list(tmp_path.glob("*.fl*"))
