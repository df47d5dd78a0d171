"""Fill the block cache ahead of use, in parallel (spec §4.5, zos#1921).

A full-VM flist holds one large ``/image.raw`` that is copied to a disk through the mount;
fetching its blocks one request at a time is slow. Prefetching them all with several workers
first makes the copy read from the cache.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from .cache import BlockCache
from .errors import FlistError
from .progress import Progress
from .reader import Block, FlistReader
from .unpack import block_sizes


def prefetch(reader: FlistReader, cache: BlockCache, paths: Iterable[str] = (), *,
             workers: int = 8, progress: Progress | None = None) -> int:
    """Fetch every block of the files at ``paths`` (all regular files if empty) into the
    cache; return how many blocks were made present."""
    wanted: dict[bytes, tuple[Block, int]] = {}
    chosen = list(paths)
    if chosen:
        inodes = []
        for path in chosen:
            inode = reader.resolve(path)
            if inode is None or not inode.is_file:
                raise FlistError(f"{reader.path}: no regular file at {path!r}")
            inodes.append(inode)
    else:
        inodes = [inode for _path, inode in reader.walk() if inode.is_file]
    for inode in inodes:
        blocks = reader.blocks(inode.ino)
        for block, size in zip(blocks, block_sizes(inode.size, len(blocks)), strict=True):
            wanted.setdefault(block.id, (block, size))

    def one(item: tuple[Block, int]) -> int:
        block, size = item
        cache.ensure(block, size)
        if progress:
            progress.advance(items=1, nbytes=size)
        return 1

    with ThreadPoolExecutor(workers, thread_name_prefix="prefetch") as pool:
        count = sum(pool.map(one, wanted.values()))
    if progress:
        progress.finish()
    return count
