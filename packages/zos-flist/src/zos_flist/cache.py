"""The block cache shared by all mounts and processes of a node (spec §3.3).

``<root>/<hex[0:2]>/<hex[2:4]>/<hex>`` holds the decrypted plaintext of block ``<hex>`` (its
id). A final file always holds a complete, verified block: fills take a per-id thread lock and
an ``flock`` on ``<path>.lock``, re-check, fetch + decode + verify, then write a unique temp
file, fsync it and rename it into place. A crash mid-fill leaves at most a stray temp file.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .blocks import BlockError, decode_block
from .reader import Block
from .stores import Store

log = logging.getLogger(__name__)


class BlockCache:
    def __init__(self, root: str | os.PathLike[str], store: Store) -> None:
        self.root = Path(root)
        self.store = store
        self._locks: dict[bytes, tuple[threading.Lock, int]] = {}
        self._locks_guard = threading.Lock()

    def path_of(self, block_id: bytes) -> Path:
        hexid = block_id.hex()
        return self.root / hexid[:2] / hexid[2:4] / hexid

    @contextmanager
    def _thread_lock(self, block_id: bytes) -> Iterator[None]:
        with self._locks_guard:
            lock, users = self._locks.get(block_id, (threading.Lock(), 0))
            self._locks[block_id] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._locks_guard:
                lock, users = self._locks[block_id]
                if users == 1:
                    del self._locks[block_id]
                else:
                    self._locks[block_id] = (lock, users - 1)

    def cached(self, block: Block, expected_size: int | None = None) -> Path | None:
        """The cache file of ``block`` if it is present (and of the expected size)."""
        path = self.path_of(block.id)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return None
        if expected_size is not None and size != expected_size:
            log.error("cache file %s has %d bytes, expected %d: refetching", path, size,
                      expected_size)
            return None
        return path

    def ensure(self, block: Block, expected_size: int | None = None) -> Path:
        """The path of the block's plaintext, fetching it first if needed.

        Raises StoreError or BlockError (logged with the block id) when it cannot be had.
        """
        path = self.cached(block, expected_size)
        if path is not None:
            return path
        final = self.path_of(block.id)
        with self._thread_lock(block.id):
            final.parent.mkdir(parents=True, exist_ok=True)
            lock_path = final.with_name(final.name + ".lock")
            with lock_path.open("a") as lock_file:
                fcntl.flock(lock_file, fcntl.LOCK_EX)
                try:
                    path = self.cached(block, expected_size)
                    if path is not None:
                        return path
                    return self._fill(block, final, expected_size)
                finally:
                    fcntl.flock(lock_file, fcntl.LOCK_UN)

    def _fill(self, block: Block, final: Path, expected_size: int | None) -> Path:
        hexid = block.id.hex()
        try:
            blob = self.store.get(block.id)
            plain = decode_block(blob, block.key, block.id)
        except Exception as exc:
            log.error("block %s: %s", hexid, exc)
            raise
        if expected_size is not None and len(plain) != expected_size:
            message = f"block {hexid}: {len(plain)} bytes, expected {expected_size}"
            log.error("%s", message)
            raise BlockError(message)
        tmp = final.with_name(f".{hexid}.{os.getpid()}.{threading.get_ident()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(plain)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        tmp.replace(final)
        return final

    def read_block(self, block: Block, expected_size: int | None = None) -> bytes:
        return self.ensure(block, expected_size).read_bytes()


def clean_cache(root: str | os.PathLike[str], max_age_days: float = 90.0) -> int:
    """Delete cache files whose atime is older than ``max_age_days`` (spec §4.3); count them."""
    limit = time.time() - max_age_days * 86400
    removed = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            try:
                if path.stat().st_atime < limit:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
    return removed
