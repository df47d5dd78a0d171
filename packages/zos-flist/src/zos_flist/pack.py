"""Pack a directory tree into a `.fl` file and upload its blocks (``rfs pack``)."""

from __future__ import annotations

import collections
import contextlib
import multiprocessing
import os
import stat
import threading
from collections.abc import Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .blocks import BLOCK_SIZE, BlockEncoder, encode_block
from .errors import FlistError
from .pack_workers import (
    SEGMENT_BLOCKS,
    BlockRef,
    Segment,
    encode_segments,
    fill,
    init_worker,
    router_specs,
)
from .progress import Progress
from .stores import Router, strip_password
from .writer import FlistWriter

STORE_WINDOW = 4
"""Blocks encoded inline that may wait for their store write (memory: 4 blobs)."""


@dataclass
class PackStats:
    inodes: int = 0
    files: int = 0
    bytes: int = 0
    blocks: int = 0


def _name(entry: str, where: Path) -> str:
    try:
        entry.encode("utf-8")
    except UnicodeEncodeError:
        raise FlistError(f"{where}: file name is not UTF-8 (rfs stores names as text)") from None
    return entry


def pack(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    router: Router,
    *,
    tags: Mapping[str, str] | None = None,
    keep_password: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
) -> PackStats:
    """Pack ``source`` into ``output``; blobs go to ``router``; routes are recorded in the file."""
    src = Path(source)
    if not src.is_dir():
        raise FlistError(f"{src}: not a directory")
    workers = workers or min(4, os.cpu_count() or 1)
    # One worker encodes inline, in the calling thread: an encoder thread cost more in GIL
    # handoffs than it overlapped (docs/performance.md). Only the store writes go to a thread:
    # a file creation costs up to 0.65 ms of kernel time on ext4 here, which then overlaps with
    # the hashing. More workers are processes, which avoid per-block GIL handoffs (see
    # pack_workers); stores they cannot reopen by URL use threads.
    inline = workers == 1
    writes: collections.deque[Future[None]] = collections.deque()
    specs = router_specs(router) if workers > 1 else None
    buffer = bytearray(BLOCK_SIZE)
    writer = FlistWriter(output)
    stats = PackStats()
    window = workers * 4
    # Blocks of one thread task, or the files of one process task, in submission order; the
    # writer gets them back in that order, so block rows do not depend on the worker count.
    pending: collections.deque[tuple[list[tuple[int, int]], Future[list[list[BlockRef]]]]] = (
        collections.deque())
    batch: list[Segment] = []
    batch_owners: list[tuple[int, int]] = []  # (ino, size to check; -1: not the file's last)
    batch_blocks = 0
    read_so_far: dict[int, int] = {}

    def drain(limit: int) -> None:
        while len(pending) > limit:
            owners, fut = pending.popleft()
            for (ino, expected), refs in zip(owners, fut.result(), strict=True):
                for block_id, key, size in refs:
                    writer.add_block(ino, block_id, key)
                    stats.blocks += 1
                    if specs is not None:
                        read_so_far[ino] = read_so_far.get(ino, 0) + size
                    if progress:
                        progress.advance(nbytes=size)
                if expected >= 0:  # the file's last segment: check it did not change
                    read = read_so_far.pop(ino, 0)
                    stats.bytes += read
                    if read != expected:
                        writer.set_size(ino, read)

    def encode_one(plain: bytes) -> list[list[BlockRef]]:
        block = encode_block(plain)
        router.set(block.id, block.blob)
        return [[(block.id, block.key, block.size)]]

    def flush(pool: Executor) -> None:
        nonlocal batch, batch_owners, batch_blocks
        if batch:
            pending.append((batch_owners, pool.submit(encode_segments, batch)))
            batch, batch_owners, batch_blocks = [], [], 0
            drain(window)

    # Reused buffers (no 512 KiB allocation per block): the one the file is read into, and a
    # blob per write that may still be queued, plus the one being encoded.
    encoder = BlockEncoder(slots=STORE_WINDOW + 1) if inline else None

    def encode_file(store_pool: Executor, ino: int, path: Path, size: int) -> None:
        assert encoder is not None
        read = 0
        with path.open("rb", buffering=0) as f:
            while n := fill(f, buffer):
                block = encoder.encode(memoryview(buffer)[:n])
                writes.append(store_pool.submit(router.set, block.id, block.blob))
                while len(writes) > STORE_WINDOW:
                    writes.popleft().result()  # raises the store's error, if any
                writer.add_block(ino, block.id, block.key)
                stats.blocks += 1
                read += n
                if progress:
                    progress.advance(nbytes=n)
        stats.bytes += read
        if read != size:  # the file changed while packing
            writer.set_size(ino, read)

    def queue_file(pool: Executor, ino: int, path: Path, size: int) -> None:
        nonlocal batch_blocks
        if inline:
            encode_file(pool, ino, path, size)
            return
        if specs is None:
            read = 0
            with path.open("rb") as f:
                while chunk := f.read(BLOCK_SIZE):
                    read += len(chunk)
                    pending.append(([(ino, -1)], pool.submit(encode_one, chunk)))
                    drain(window)
            stats.bytes += read
            if read != size:  # the file changed while packing
                writer.set_size(ino, read)
            return
        nblocks = -(-size // BLOCK_SIZE)
        offset = 0
        while True:
            count = min(SEGMENT_BLOCKS - batch_blocks, nblocks - offset // BLOCK_SIZE)
            last = offset + count * BLOCK_SIZE >= size
            batch.append(Segment(os.fspath(path), offset, count, to_eof=last))
            batch_owners.append((ino, size if last else -1))
            batch_blocks += max(count, 1)
            offset += count * BLOCK_SIZE
            if batch_blocks >= SEGMENT_BLOCKS or len(batch) >= 256:
                flush(pool)
            if last:
                return

    def open_pool() -> Executor:
        if inline:  # the store writer
            return ThreadPoolExecutor(1, thread_name_prefix="pack-store")
        if specs is None:
            return ThreadPoolExecutor(workers, thread_name_prefix="pack")
        # fork starts workers in milliseconds; a caller running other threads (zbus, FUSE) could
        # be forked holding their locks, so it gets the slower (~0.5 s) forkserver instead.
        method = "fork" if threading.active_count() == 1 else "forkserver"
        ctx = multiprocessing.get_context(method)
        return ProcessPoolExecutor(workers, mp_context=ctx, initializer=init_worker,
                                   initargs=(specs,))

    def add(parent: int, name: str, st: os.stat_result, path: Path) -> int:
        size = st.st_size
        extra: bytes | None = None
        if stat.S_ISLNK(st.st_mode):
            extra = os.fsencode(path.readlink())
            size = len(extra)
        elif stat.S_ISDIR(st.st_mode):
            size = st.st_size
        rdev = st.st_rdev if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else 0
        ino = writer.add_inode(
            parent, name, size=size, uid=st.st_uid, gid=st.st_gid, mode=st.st_mode, rdev=rdev,
            ctime=int(st.st_ctime), mtime=int(st.st_mtime),
        )
        if extra is not None:
            writer.set_extra(ino, extra)
        stats.inodes += 1
        if progress:
            progress.advance(items=1)
        return ino

    try:
        with contextlib.ExitStack() as stack:
            pool = stack.enter_context(open_pool())
            root_st = src.lstat()
            add(0, "/", root_st, src)
            queue: collections.deque[tuple[Path, int]] = collections.deque([(src, 1)])
            while queue:
                directory, dir_ino = queue.popleft()
                try:
                    names = sorted(os.listdir(directory))  # noqa: PTH208 - names, not paths
                except OSError as exc:
                    raise FlistError(f"{directory}: cannot list: {exc.strerror}") from None
                for entry in names:
                    path = directory / entry
                    st = path.lstat()
                    ino = add(dir_ino, _name(entry, path), st, path)
                    if stat.S_ISDIR(st.st_mode):
                        queue.append((path, ino))
                    elif stat.S_ISREG(st.st_mode):
                        stats.files += 1
                        queue_file(pool, ino, path, st.st_size)
            flush(pool)
            drain(0)
            while writes:
                writes.popleft().result()
        for key, value in (tags or {}).items():
            writer.set_tag(key, value)
        for route in router.routes:
            url = route.store.url if keep_password else strip_password(route.store.url)
            writer.add_route(route.start, route.end, url)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    finally:
        if progress:
            progress.finish()
    return stats
