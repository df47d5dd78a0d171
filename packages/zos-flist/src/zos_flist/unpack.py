"""Extract a `.fl` file to a directory (``rfs unpack``)."""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .blocks import BLOCK_SIZE, decode_block
from .cache import BlockCache
from .errors import FlistError
from .progress import Progress
from .reader import Block, FlistReader, Inode
from .stores import Store


def block_sizes(size: int, count: int) -> list[int]:
    """Expected plaintext length of each of a file's ``count`` blocks."""
    return [min(BLOCK_SIZE, size - i * BLOCK_SIZE) for i in range(count)]


def check_block_count(inode: Inode, blocks: list[Block], path: str) -> None:
    expected = -(-inode.size // BLOCK_SIZE)
    if len(blocks) != expected:
        raise FlistError(
            f"{path}: {len(blocks)} blocks for {inode.size} bytes (expected {expected})"
        )


def unpack(
    reader: FlistReader,
    target: str | os.PathLike[str],
    store: Store,
    *,
    cache: BlockCache | None = None,
    preserve_ownership: bool = False,
    workers: int = 4,
    progress: Progress | None = None,
) -> int:
    """Recreate the tree of ``reader`` under ``target``; return the number of inodes."""
    root = Path(target)
    root.mkdir(parents=True, exist_ok=True)
    dirs: list[tuple[Path, Inode]] = []
    count = 0

    def fetch(block: Block, size: int) -> bytes:
        if cache is not None:
            return cache.read_block(block, size)
        plain = decode_block(store.get(block.id), block.key, block.id)
        if len(plain) != size:
            raise FlistError(f"block {block.id.hex()}: {len(plain)} bytes, expected {size}")
        return plain

    with ThreadPoolExecutor(workers, thread_name_prefix="unpack") as pool:
        for rel, inode in reader.walk():
            path = root / rel if rel else root
            mode = inode.mode
            if inode.is_dir:
                path.mkdir(exist_ok=True)
                dirs.append((path, inode))
            elif inode.is_file:
                blocks = reader.blocks(inode.ino)
                check_block_count(inode, blocks, rel)
                sizes = block_sizes(inode.size, len(blocks))
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                try:
                    for plain in pool.map(fetch, blocks, sizes):
                        if plain.count(0) == len(plain):
                            os.lseek(fd, len(plain), os.SEEK_CUR)  # keep zero runs sparse
                        else:
                            os.write(fd, plain)
                        if progress:
                            progress.advance(nbytes=len(plain))
                    os.ftruncate(fd, inode.size)
                finally:
                    os.close(fd)
            elif inode.is_link:
                target_bytes = reader.link_target(inode.ino)
                if target_bytes is None:
                    raise FlistError(f"{rel}: symlink without a target")
                os.symlink(target_bytes, path)  # noqa: PTH211 - raw bytes target
            elif stat.S_ISFIFO(mode):
                os.mkfifo(path, stat.S_IMODE(mode))
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
                os.mknod(path, mode, inode.rdev)
            else:
                raise FlistError(f"{rel}: unknown file type in mode {mode:o}")
            if preserve_ownership:
                os.lchown(path, inode.uid, inode.gid)
            if not inode.is_link:
                path.chmod(stat.S_IMODE(mode))
            if not inode.is_dir:
                os.utime(path, ns=(inode.mtime * 10**9, inode.mtime * 10**9),
                         follow_symlinks=False)
            count += 1
            if progress:
                progress.advance(items=1)
    for path, inode in reversed(dirs):  # children first changed the parents' mtimes
        os.utime(path, ns=(inode.mtime * 10**9, inode.mtime * 10**9))
    if progress:
        progress.finish()
    return count
