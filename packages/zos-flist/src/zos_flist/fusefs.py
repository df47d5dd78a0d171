"""The read-only FUSE file system of one `.fl` file (spec §3.2), on pyfuse3's low-level API.

Inode numbers are the flist's ``ino`` values (root = 1 = FUSE_ROOT_ID). Content is read
through the shared block cache; a block that cannot be fetched or verified fails the read with
EIO and a log line naming the block, never with wrong bytes.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from collections import OrderedDict
from dataclasses import dataclass

import pyfuse3
import trio

from .blocks import BLOCK_SIZE
from .cache import BlockCache
from .errors import FlistError
from .reader import Block, FlistReader, Inode
from .unpack import block_sizes

log = logging.getLogger(__name__)

TTL = 31_536_000.0
"""Entry and attribute timeout: one year, the content is immutable."""
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


@dataclass
class OpenFile:
    inode: Inode
    blocks: list[Block]
    sizes: list[int]


class FlistFS(pyfuse3.Operations):
    def __init__(self, reader: FlistReader, cache: BlockCache) -> None:
        super().__init__()
        self.reader = reader
        self.cache = cache
        self._files: dict[int, OpenFile] = {}
        self._next_fh = 1
        self._fds: OrderedDict[bytes, int] = OrderedDict()
        self._prefetching: set[bytes] = set()
        self._known: OrderedDict[bytes, str] = OrderedDict()
        """Blocks seen complete in the cache: their path (saves a stat per read)."""
        self.nursery: trio.Nursery | None = None
        self._prefetch_limit = trio.CapacityLimiter(2)
        self._buffer = bytearray(0)
        """Reused for every read reply: with fresh 512 KiB-1 MiB bytes objects per request,
        1 MiB requests were slower than 128 KiB ones (docs/performance.md)."""

    # -- attributes ------------------------------------------------------------------------

    def _attrs(self, inode: Inode) -> pyfuse3.EntryAttributes:
        attr = pyfuse3.EntryAttributes()
        attr.st_ino = inode.ino
        attr.generation = 0
        attr.entry_timeout = TTL
        attr.attr_timeout = TTL
        attr.st_mode = inode.mode
        attr.st_nlink = 2 if inode.is_dir else 1
        attr.st_uid = inode.uid
        attr.st_gid = inode.gid
        attr.st_rdev = inode.rdev
        attr.st_size = inode.size
        attr.st_blksize = 4096
        attr.st_blocks = -(-inode.size // 512)
        attr.st_mtime_ns = inode.mtime * 10**9
        attr.st_atime_ns = inode.mtime * 10**9
        attr.st_ctime_ns = inode.ctime * 10**9
        return attr

    def _inode(self, ino: int) -> Inode:
        try:
            inode = self.reader.inode(ino)
        except FlistError as exc:
            log.error("inode %d: %s", ino, exc)
            raise pyfuse3.FUSEError(errno.EIO) from None
        if inode is None:
            raise pyfuse3.FUSEError(errno.ENOENT)
        return inode

    async def lookup(self, parent_inode: pyfuse3.InodeT, name: pyfuse3.FileNameT,
                     ctx: pyfuse3.RequestContext) -> pyfuse3.EntryAttributes:
        text = os.fsdecode(name)
        if text == ".":
            return self._attrs(self._inode(parent_inode))
        if text == "..":
            parent = self._inode(parent_inode)
            return self._attrs(self._inode(parent.parent or 1))
        try:
            inode = self.reader.lookup(parent_inode, text)
        except FlistError as exc:
            log.error("lookup %r in %d: %s", text, parent_inode, exc)
            raise pyfuse3.FUSEError(errno.EIO) from None
        if inode is None:
            raise pyfuse3.FUSEError(errno.ENOENT)
        return self._attrs(inode)

    async def getattr(self, inode: pyfuse3.InodeT,
                      ctx: pyfuse3.RequestContext) -> pyfuse3.EntryAttributes:
        return self._attrs(self._inode(inode))

    async def readlink(self, inode: pyfuse3.InodeT,
                       ctx: pyfuse3.RequestContext) -> pyfuse3.FileNameT:
        node = self._inode(inode)
        if not node.is_link:
            raise pyfuse3.FUSEError(errno.ENOLINK)
        target = self.reader.link_target(inode)
        if target is None:
            log.error("symlink %d has no target", inode)
            raise pyfuse3.FUSEError(errno.EIO)
        return target

    async def statfs(self, ctx: pyfuse3.RequestContext) -> pyfuse3.StatvfsData:
        data = pyfuse3.StatvfsData()
        data.f_bsize = 4096
        data.f_frsize = 4096
        data.f_namemax = 255
        return data

    # -- directories -----------------------------------------------------------------------

    async def opendir(self, inode: pyfuse3.InodeT,
                      ctx: pyfuse3.RequestContext) -> pyfuse3.FileHandleT:
        if not self._inode(inode).is_dir:
            raise pyfuse3.FUSEError(errno.ENOTDIR)
        return inode

    async def readdir(self, fh: pyfuse3.FileHandleT, start_id: int,
                      token: pyfuse3.ReaddirToken) -> None:
        # Offsets: 1 = ".", 2 = "..", then child ino + 2 (children ordered by ino).
        node = self._inode(fh)
        if start_id < 1 and not pyfuse3.readdir_reply(token, b".", self._attrs(node), 1):
            return
        if start_id < 2:
            parent = self._inode(node.parent or 1)
            if not pyfuse3.readdir_reply(token, b"..", self._attrs(parent), 2):
                return
        after = max(start_id - 2, 0)
        while True:
            try:
                batch = self.reader.children(node.ino, after=after, limit=256)
            except FlistError as exc:
                log.error("readdir %d: %s", node.ino, exc)
                raise pyfuse3.FUSEError(errno.EIO) from None
            if not batch:
                return
            for child in batch:
                name = os.fsencode(child.name)
                if not pyfuse3.readdir_reply(token, name, self._attrs(child), child.ino + 2):
                    return
                after = child.ino

    async def releasedir(self, fh: pyfuse3.FileHandleT) -> None:
        return None

    # -- files -----------------------------------------------------------------------------

    async def open(self, inode: pyfuse3.InodeT, flags: int,
                   ctx: pyfuse3.RequestContext) -> pyfuse3.FileInfo:
        node = self._inode(inode)
        if node.is_dir:
            raise pyfuse3.FUSEError(errno.EISDIR)
        if flags & (os.O_WRONLY | os.O_RDWR):
            raise pyfuse3.FUSEError(errno.EROFS)
        if not node.is_file:
            raise pyfuse3.FUSEError(errno.ENOSYS)
        try:
            blocks = self.reader.blocks(node.ino)
        except FlistError as exc:
            log.error("open %d: %s", node.ino, exc)
            raise pyfuse3.FUSEError(errno.EIO) from None
        if len(blocks) != -(-node.size // BLOCK_SIZE):
            log.error("inode %d: %d blocks for %d bytes", node.ino, len(blocks), node.size)
            raise pyfuse3.FUSEError(errno.EIO)
        fh = self._next_fh
        self._next_fh += 1
        self._files[fh] = OpenFile(node, blocks, block_sizes(node.size, len(blocks)))
        return pyfuse3.FileInfo(fh=fh, keep_cache=True)

    async def release(self, fh: pyfuse3.FileHandleT) -> None:
        self._files.pop(fh, None)

    def _fd(self, block_id: bytes, path: str) -> int:
        fd = self._fds.get(block_id)
        if fd is not None:
            self._fds.move_to_end(block_id)
            return fd
        fd = os.open(path, os.O_RDONLY)
        self._fds[block_id] = fd
        while len(self._fds) > OPEN_BLOCK_FILES:
            _, old = self._fds.popitem(last=False)
            os.close(old)
        return fd

    def _remember(self, block_id: bytes, path: str) -> None:
        self._known[block_id] = path
        if len(self._known) > KNOWN_BLOCKS:
            self._known.popitem(last=False)

    async def _block_path(self, block: Block, size: int) -> str:
        known = self._known.get(block.id)
        if known is not None:
            return known
        path = self.cache.cached(block, size)
        if path is None:
            try:
                path = await trio.to_thread.run_sync(self.cache.ensure, block, size)
            except Exception:  # the cache logged the block id and the reason
                raise pyfuse3.FUSEError(errno.EIO) from None
        self._remember(block.id, str(path))
        return str(path)

    def _prefetch(self, f: OpenFile, index: int) -> None:
        if self.nursery is None:
            return
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
                self.nursery.start_soon(self._prefetch_one, block, size)

    def _hint(self, block_id: bytes, path: str) -> None:
        """Ask the kernel to read a cache file in the background (no-op if in the page cache):
        the read handler runs in the event loop, so a cache file read from disk would stall
        every request; the hint makes it a page-cache hit by the time it is needed."""
        with contextlib.suppress(OSError):  # only a hint; the read reports real errors
            os.posix_fadvise(self._fd(block_id, path), 0, 0, os.POSIX_FADV_WILLNEED)

    async def _prefetch_one(self, block: Block, size: int) -> None:
        try:
            await trio.to_thread.run_sync(self.cache.ensure, block, size,
                                          limiter=self._prefetch_limit)
        except Exception:
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

        Synchronous on purpose: no other request runs between filling the shared buffer and
        pyfuse3 sending it (it replies as soon as ``read`` returns, without yielding)."""
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
                raise pyfuse3.FUSEError(errno.EIO) from None
            if got != want:
                log.error("block %s: cache file %s is short", block.id.hex(), path)
                self._drop(block.id)
                raise pyfuse3.FUSEError(errno.EIO)
            pos += want
        return out

    def _drop(self, block_id: bytes) -> None:
        fd = self._fds.pop(block_id, None)
        if fd is not None:
            os.close(fd)
        self._known.pop(block_id, None)

    # pyfuse3 declares bytes but replies from any contiguous buffer (PyObject_GetBuffer), so a
    # view of the reused reply buffer saves a copy per request.
    async def read(  # type: ignore[override]
            self, fh: pyfuse3.FileHandleT, off: int, size: int) -> memoryview | bytes:
        f = self._files.get(fh)
        if f is None:
            raise pyfuse3.FUSEError(errno.EBADF)
        end = min(off + size, f.inode.size)
        if off >= end:
            return b""
        first, last = off // BLOCK_SIZE, (end - 1) // BLOCK_SIZE
        for _attempt in range(2):
            # Every await (cache fills) happens here, before the shared buffer is touched.
            paths = [await self._block_path(f.blocks[i], f.sizes[i])
                     for i in range(first, last + 1)]
            out = self._copy(f, off, end, paths)
            if out is not None:
                self._prefetch(f, last)
                return out
        log.error("inode %d: cache files keep disappearing under reads", f.inode.ino)
        raise pyfuse3.FUSEError(errno.EIO)

    def close_files(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()


def mount_options() -> set[str]:
    """Upstream's options: findmnt shows FSTYPE fuse.g8ufs and SOURCE = the serving PID."""
    return {"ro", "allow_other", "default_permissions", f"fsname={os.getpid()}",
            "subtype=g8ufs"}


