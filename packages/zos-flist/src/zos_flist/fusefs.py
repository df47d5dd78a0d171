"""The read-only file system of one `.fl` file (spec §3.2), served by `fuse_session`.

Inode numbers are the flist's ``ino`` values (root = 1 = FUSE_ROOT_ID). Content is read
through the shared block cache; a block that cannot be fetched or verified fails the read with
EIO and a log line naming the block, never with wrong bytes. A file whose content is already
in one cache file (a one-block file, or a multi-block file with a whole-file copy) is opened in
passthrough: the kernel reads that file itself. Opening a multi-block file whose blocks are all
cached builds its whole-file copy in the background once it is closed, for the opens after.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import errno
import logging
import os
from collections import OrderedDict
from collections.abc import Awaitable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .blocks import BLOCK_SIZE
from .cache import BlockCache
from .errors import FlistError
from .fuse_protocol import Attributes
from .fuse_session import Buffer, FuseError, Opened
from .reader import Block, FlistReader, Inode
from .unpack import block_sizes
from .wholefiles import WholeFiles, whole_file_key

log = logging.getLogger(__name__)

OPEN_BLOCK_FILES = 16
"""How many cache files stay open between reads (upstream keeps 5; 16 covers the blocks of a
4 MiB read-ahead, which are opened ahead of use to hint the kernel)."""
PREFETCH_BLOCKS = 2
"""How many blocks ahead of a read are fetched in the background."""
HINT_BLOCKS = 8
"""How many blocks ahead of a read that are already cached get a WILLNEED hint: reading their
cache files from disk then overlaps with serving the current request (4 MiB, the read-ahead)."""
KNOWN_BLOCKS = 65536
"""How many cached block paths are remembered (about 6 MB of memory)."""
FILL_THREADS = 8
"""Concurrent cache fills (fetch + decrypt + verify + fsync) for reads."""
LISTING_BATCH = 256
LISTING_BATCHES = 16
"""Directories whose current batch of children is kept between listing requests."""


@dataclass
class OpenFile:
    inode: Inode
    blocks: list[Block]
    sizes: list[int]
    all_cached: asyncio.Future[bool] | None = None
    """Whether every block was cached when it was opened (multi-block files without a
    whole-file copy only)."""


def attributes(inode: Inode) -> Attributes:
    return Attributes(ino=inode.ino, mode=inode.mode, nlink=2 if inode.is_dir else 1,
                      uid=inode.uid, gid=inode.gid, rdev=inode.rdev, size=inode.size,
                      mtime=inode.mtime, ctime=inode.ctime)


class FlistFS:
    def __init__(self, reader: FlistReader, cache: BlockCache, *,
                 passthrough: bool = True) -> None:
        self.reader = reader
        self.cache = cache
        self.whole = WholeFiles(cache) if passthrough else None
        """None: no backing files offered, no whole-file copies made."""
        self._files: dict[int, OpenFile] = {}
        self._next_fh = 1
        self._fds: OrderedDict[bytes, int] = OrderedDict()
        self._prefetching: set[bytes] = set()
        self._building: set[str] = set()
        self._batches: OrderedDict[int, list[Inode]] = OrderedDict()
        self._known: OrderedDict[bytes, str] = OrderedDict()
        """Blocks seen complete in the cache: their path (saves a stat per read)."""
        self._fills = ThreadPoolExecutor(FILL_THREADS, thread_name_prefix="fill")
        self._builder = ThreadPoolExecutor(1, thread_name_prefix="whole-file")
        self._prefetch_limit: asyncio.Semaphore | None = None
        self._background: set[asyncio.Future[Any]] = set()
        self._buffer = bytearray(0)
        """Reused for every read reply: with fresh 512 KiB-1 MiB bytes objects per request,
        1 MiB requests were slower than 128 KiB ones (docs/performance.md)."""

    # -- attributes ------------------------------------------------------------------------

    def _inode(self, ino: int) -> Inode:
        try:
            inode = self.reader.inode(ino)
        except FlistError as exc:
            log.error("inode %d: %s", ino, exc)
            raise FuseError(errno.EIO) from None
        if inode is None:
            raise FuseError(errno.ENOENT)
        return inode

    def lookup(self, parent: int, name: bytes) -> Attributes | None:
        if name == b".":
            return attributes(self._inode(parent))
        if name == b"..":
            return attributes(self._inode(self._inode(parent).parent or 1))
        text = os.fsdecode(name)
        try:
            inode = self.reader.lookup(parent, text)
        except FlistError as exc:
            log.error("lookup %r in %d: %s", text, parent, exc)
            raise FuseError(errno.EIO) from None
        return None if inode is None else attributes(inode)

    def getattr(self, ino: int) -> Attributes:
        return attributes(self._inode(ino))

    def readlink(self, ino: int) -> bytes:
        if not self._inode(ino).is_link:
            raise FuseError(errno.ENOLINK)
        target = self.reader.link_target(ino)
        if target is None:
            log.error("symlink %d has no target", ino)
            raise FuseError(errno.EIO)
        return target

    # -- directories -----------------------------------------------------------------------

    def opendir(self, ino: int) -> None:
        if not self._inode(ino).is_dir:
            raise FuseError(errno.ENOTDIR)

    def readdir(self, ino: int, offset: int) -> Iterator[tuple[bytes, Attributes, int]]:
        # Offsets: 1 = ".", 2 = "..", then child ino + 2 (children ordered by ino).
        node = self._inode(ino)
        if offset < 1:
            yield b".", attributes(node), 1
        if offset < 2:
            yield b"..", attributes(self._inode(node.parent or 1)), 2
        after = max(offset - 2, 0)
        while True:
            batch = self._children_after(node.ino, after)
            if not batch:
                return
            for child in batch:
                yield os.fsencode(child.name), attributes(child), child.ino + 2
            after = batch[-1].ino

    def _children_after(self, ino: int, after: int) -> list[Inode]:
        """Children of ``ino`` after inode ``after``. A listing arrives as many requests of a
        few dozen entries each, so the last batch read per directory is kept and continued."""
        batch = self._batches.get(ino)
        if batch and batch[0].ino <= after + 1 and after < batch[-1].ino:
            self._batches.move_to_end(ino)
            return batch[bisect.bisect_right(batch, after, key=lambda child: child.ino):]
        try:
            batch = self.reader.children(ino, after=after, limit=LISTING_BATCH)
        except FlistError as exc:
            log.error("readdir %d: %s", ino, exc)
            raise FuseError(errno.EIO) from None
        self._batches[ino] = batch
        while len(self._batches) > LISTING_BATCHES:
            self._batches.popitem(last=False)
        return batch

    # -- files -----------------------------------------------------------------------------

    def open(self, ino: int, flags: int) -> Opened:
        node = self._inode(ino)
        if node.is_dir:
            raise FuseError(errno.EISDIR)
        if flags & (os.O_WRONLY | os.O_RDWR):
            raise FuseError(errno.EROFS)
        if not node.is_file:
            raise FuseError(errno.ENOSYS)
        try:
            blocks = self.reader.blocks(node.ino)
        except FlistError as exc:
            log.error("open %d: %s", node.ino, exc)
            raise FuseError(errno.EIO) from None
        if len(blocks) != -(-node.size // BLOCK_SIZE):
            log.error("inode %d: %d blocks for %d bytes", node.ino, len(blocks), node.size)
            raise FuseError(errno.EIO)
        fh = self._next_fh
        self._next_fh += 1
        opened = OpenFile(node, blocks, block_sizes(node.size, len(blocks)))
        self._files[fh] = opened
        return Opened(fh, self._backing(opened))

    def _backing(self, f: OpenFile) -> str | None:
        """The one file holding all of ``f``'s content, if there is one already."""
        if self.whole is None or not f.blocks:
            return None
        if len(f.blocks) == 1:
            path = self.cache.cached(f.blocks[0], f.sizes[0])
            return None if path is None else str(path)
        found = self.whole.present(whole_file_key(f.blocks, f.inode.size), f.inode.size)
        if found is None:
            # A re-read (every block already cached at open) earns a whole-file copy, made once
            # this handle is released: a file read once (a VM image copied to its disk) costs
            # no second copy, and the copy does not compete with the read that earned it.
            f.all_cached = asyncio.get_running_loop().run_in_executor(
                self._builder, self.whole.all_cached, f.blocks, f.sizes)
        return found

    def release(self, fh: int) -> None:
        f = self._files.pop(fh, None)
        if f is not None and f.all_cached is not None:
            # The check may still be running (a short read): build once it says yes.
            f.all_cached.add_done_callback(lambda check: self._build_after(f, check))

    def _build_after(self, f: OpenFile, check: asyncio.Future[bool]) -> None:
        if self.whole is None or check.cancelled() or check.exception() or not check.result():
            return
        key = whole_file_key(f.blocks, f.inode.size)
        if key in self._building:
            return
        self._building.add(key)
        future = asyncio.get_running_loop().run_in_executor(
            self._builder, self.whole.build, f.blocks, f.sizes)
        future.add_done_callback(lambda _f: self._building.discard(key))
        self._keep(future)

    def _keep(self, future: asyncio.Future[Any]) -> None:
        self._background.add(future)
        future.add_done_callback(self._background_done)

    def _background_done(self, future: asyncio.Future[Any]) -> None:
        self._background.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.error("background work failed", exc_info=future.exception())

    def _fd(self, block_id: bytes, path: str) -> int:
        fd = self._fds.get(block_id)
        if fd is not None:
            self._fds.move_to_end(block_id)
            return fd
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self._fds[block_id] = fd
        while len(self._fds) > OPEN_BLOCK_FILES:
            _, old = self._fds.popitem(last=False)
            os.close(old)
        return fd

    def _remember(self, block_id: bytes, path: str) -> None:
        self._known[block_id] = path
        if len(self._known) > KNOWN_BLOCKS:
            self._known.popitem(last=False)

    def _cached_path(self, block: Block, size: int) -> str | None:
        known = self._known.get(block.id)
        if known is not None:
            return known
        path = self.cache.cached(block, size)
        if path is None:
            return None
        self._remember(block.id, str(path))
        return str(path)

    async def _fill(self, block: Block, size: int) -> str:
        try:
            path = await asyncio.get_running_loop().run_in_executor(
                self._fills, self.cache.ensure, block, size)
        except Exception:  # the cache logged the block id and the reason
            raise FuseError(errno.EIO) from None
        self._remember(block.id, str(path))
        return str(path)

    def _prefetch(self, f: OpenFile, index: int) -> None:
        for i in range(index + 1, min(index + 1 + HINT_BLOCKS, len(f.blocks))):
            block, size = f.blocks[i], f.sizes[i]
            if block.id in self._known or block.id in self._prefetching:
                continue
            cached = self.cache.cached(block, size)
            if cached is not None:
                path = str(cached)
                self._remember(block.id, path)
                self._hint(block.id, path)
            elif i <= index + PREFETCH_BLOCKS:
                self._prefetching.add(block.id)
                self._keep(asyncio.ensure_future(self._prefetch_one(block, size)))

    def _hint(self, block_id: bytes, path: str) -> None:
        """Ask the kernel to read a cache file in the background (no-op if in the page cache):
        reads are answered in the event loop, so a cache file read from disk would stall
        every request; the hint makes it a page-cache hit by the time it is needed."""
        with contextlib.suppress(OSError):  # only a hint; the read reports real errors
            os.posix_fadvise(self._fd(block_id, path), 0, 0, os.POSIX_FADV_WILLNEED)

    async def _prefetch_one(self, block: Block, size: int) -> None:
        if self._prefetch_limit is None:
            self._prefetch_limit = asyncio.Semaphore(2)
        try:
            async with self._prefetch_limit:
                await self._fill(block, size)
        except FuseError:
            pass  # logged by the cache; the real read reports the error
        finally:
            self._prefetching.discard(block.id)

    def _reply_buffer(self, size: int) -> memoryview:
        if len(self._buffer) < size:
            # A new one, not a resize: a resize would fail while a reply still exports it.
            self._buffer = bytearray(size)
        return memoryview(self._buffer)[:size]

    def _copy(self, f: OpenFile, off: int, end: int, paths: list[str]) -> memoryview | None:
        """Read [off, end) of ``f`` into the reply buffer; None if a cache file vanished.

        Synchronous on purpose: the session sends the reply before any other request runs."""
        out = self._reply_buffer(end - off)
        pos = off
        for path in paths:
            index, within = divmod(pos, BLOCK_SIZE)
            block = f.blocks[index]
            want = min(end - pos, BLOCK_SIZE - within)
            try:
                fd = self._fd(block.id, path)
            except FileNotFoundError:  # removed by the cache cleaner: fetch it again
                self._known.pop(block.id, None)
                return None
            try:
                got = os.preadv(fd, [out[pos - off : pos - off + want]], within)
            except OSError as exc:
                log.error("block %s: reading cache file %s: %s", block.id.hex(), path, exc)
                self._drop(block.id)
                raise FuseError(errno.EIO) from None
            if got != want:
                log.error("block %s: cache file %s is short", block.id.hex(), path)
                self._drop(block.id)
                raise FuseError(errno.EIO)
            pos += want
        return out

    def _drop(self, block_id: bytes) -> None:
        fd = self._fds.pop(block_id, None)
        if fd is not None:
            os.close(fd)
        self._known.pop(block_id, None)

    def read(self, fh: int, offset: int, size: int) -> Buffer | Awaitable[Buffer]:
        f = self._files.get(fh)
        if f is None:
            raise FuseError(errno.EBADF)
        end = min(offset + size, f.inode.size)
        if offset >= end:
            return b""
        first, last = offset // BLOCK_SIZE, (end - 1) // BLOCK_SIZE
        paths: list[str] = []
        for i in range(first, last + 1):
            path = self._cached_path(f.blocks[i], f.sizes[i])
            if path is None:
                return self._read_filling(f, offset, end, first, last)
            paths.append(path)
        out = self._copy(f, offset, end, paths)
        if out is None:
            return self._read_filling(f, offset, end, first, last)
        self._prefetch(f, last)
        return out

    async def _read_filling(self, f: OpenFile, offset: int, end: int, first: int,
                            last: int) -> Buffer:
        for _attempt in range(2):
            # Every await (cache fills) happens here, before the shared buffer is touched.
            paths = [self._cached_path(f.blocks[i], f.sizes[i])
                     or await self._fill(f.blocks[i], f.sizes[i])
                     for i in range(first, last + 1)]
            out = self._copy(f, offset, end, paths)
            if out is not None:
                self._prefetch(f, last)
                return out
        log.error("inode %d: cache files keep disappearing under reads", f.inode.ino)
        raise FuseError(errno.EIO)

    def close(self) -> None:
        if self.whole is not None:
            self.whole.stop()
        self._builder.shutdown(wait=True, cancel_futures=True)
        self._fills.shutdown(wait=False, cancel_futures=True)
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
