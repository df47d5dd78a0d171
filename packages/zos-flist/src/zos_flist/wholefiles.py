"""Whole-file copies beside the block cache, so that a FUSE open can be passed through to one
backing file (the kernel then serves every read of it without this process).

``<cache>/files/<h[0:2]>/<h[2:4]>/<h>`` holds the content of a file whose blocks are all
cached, where ``h`` = BLAKE2b-256 of its size and its block ids in order (the ids are
content hashes, so ``h`` names the content). Built from the verified cache files by reflink
(``FICLONERANGE``: no data copied, no extra space, on btrfs or xfs; a node's cache disk is
btrfs) or else ``copy_file_range``, then fsync and rename: like a cache file, a final file is
always complete. The 2-hex block directories and ``files/`` never collide, and the cache
cleaner ages both alike. A file of one block needs no copy: its cache file is the backing file.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
import struct
import threading
from collections.abc import Sequence
from pathlib import Path

from .cache import BlockCache
from .reader import Block

log = logging.getLogger(__name__)

FICLONERANGE = 0x4020940D  # _IOW(0x94, 13, struct file_clone_range)
_CLONE_RANGE = struct.Struct("<qQQQ")  # src_fd src_offset src_length dest_offset
DIRECTORY = "files"


def whole_file_key(blocks: Sequence[Block], size: int) -> str:
    digest = hashlib.blake2b(size.to_bytes(8, "little"), digest_size=32)
    for block in blocks:
        digest.update(block.id)
    return digest.hexdigest()


class WholeFiles:
    def __init__(self, cache: BlockCache) -> None:
        self.cache = cache
        self.root = cache.root / DIRECTORY
        self._reflink: bool | None = None
        """Whether the cache's file system clones ranges; None until first tried."""
        self._stopping = threading.Event()

    def path_of(self, key: str) -> Path:
        return self.root / key[:2] / key[2:4] / key

    def present(self, key: str, size: int) -> str | None:
        """The whole file named ``key`` if it is complete (a wrong size is removed)."""
        path = self.path_of(key)
        try:
            found = path.stat().st_size
        except FileNotFoundError:
            return None
        except OSError as exc:  # a damaged cache must not fail the open: serve the blocks
            log.warning("whole file %s: %s", path, exc)
            return None
        if found != size:
            log.error("whole file %s has %d bytes, expected %d: removing it", path, found, size)
            path.unlink(missing_ok=True)
            return None
        return str(path)

    def stop(self) -> None:
        """Abandon builds in progress (their temp files are removed)."""
        self._stopping.set()

    def all_cached(self, blocks: Sequence[Block], sizes: Sequence[int]) -> bool:
        return all(self.cache.cached(block, size) is not None
                   for block, size in zip(blocks, sizes, strict=True))

    def build(self, blocks: Sequence[Block], sizes: Sequence[int]) -> str | None:
        """Make the whole file of ``blocks`` if every block is cached; its path, or None.

        Runs in a worker thread: it reads and writes files only."""
        size = sum(sizes)
        key = whole_file_key(blocks, size)
        done = self.present(key, size)
        if done is not None:
            return done
        sources = []
        for block, block_size in zip(blocks, sizes, strict=True):
            path = self.cache.cached(block, block_size)
            if path is None:
                return None  # not all cached yet: a later open tries again
            sources.append(path)
        final = self.path_of(key)
        tmp = final.with_name(f".{key}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        except OSError as exc:  # e.g. a full or read-only cache: reads stay served by blocks
            log.warning("whole file %s: %s", final, exc)
            return None
        try:
            offset = 0
            for source, block_size in zip(sources, sizes, strict=True):
                if self._stopping.is_set():
                    raise InterruptedError("stopping")
                self._append(fd, source, offset, block_size)
                offset += block_size
            os.fsync(fd)
        except BaseException as exc:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            if isinstance(exc, InterruptedError | FileNotFoundError):
                return None  # stopping, or the cleaner removed a block: not an error
            if isinstance(exc, OSError):
                log.warning("whole file %s: %s", final, exc)
                return None
            raise
        os.close(fd)
        tmp.replace(final)
        return str(final)

    def _append(self, fd: int, source: Path, offset: int, size: int) -> None:
        src = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if os.fstat(src).st_size != size:
                raise OSError(errno.EIO, f"cache file {source} changed size")
            if self._reflink is not False:
                try:
                    fcntl.ioctl(fd, FICLONERANGE, _CLONE_RANGE.pack(src, 0, size, offset))
                    self._reflink = True
                    return
                except OSError as exc:
                    if self._reflink or exc.errno not in (
                            errno.EOPNOTSUPP, errno.EXDEV, errno.EINVAL, errno.ENOTTY):
                        raise
                    self._reflink = False  # ext4 and friends: copy in the kernel instead
            done = 0
            while done < size:
                copied = os.copy_file_range(src, fd, size - done, done, offset + done)
                if copied == 0:
                    raise OSError(errno.EIO, f"cache file {source} is short")
                done += copied
        finally:
            os.close(src)

    @property
    def reflinks(self) -> bool:
        return bool(self._reflink)
