"""Pack a directory tree into a `.fl` file and upload its blocks (``rfs pack``)."""

from __future__ import annotations

import collections
import os
import stat
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .blocks import BLOCK_SIZE, EncodedBlock, encode_block
from .errors import FlistError
from .progress import Progress
from .stores import Router, strip_password
from .writer import FlistWriter


@dataclass
class PackStats:
    inodes: int = 0
    files: int = 0
    bytes: int = 0
    blocks: int = 0


def _encode_and_store(router: Router, plain: bytes) -> EncodedBlock:
    block = encode_block(plain)
    router.set(block.id, block.blob)
    return block


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
    writer = FlistWriter(output)
    stats = PackStats()
    window = workers * 4
    pending: collections.deque[tuple[int, Future[EncodedBlock]]] = collections.deque()

    def drain(limit: int) -> None:
        while len(pending) > limit:
            ino, fut = pending.popleft()
            block = fut.result()
            writer.add_block(ino, block.id, block.key)
            stats.blocks += 1
            if progress:
                progress.advance(nbytes=block.size)

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
        with ThreadPoolExecutor(workers, thread_name_prefix="pack") as pool:
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
                        read = 0
                        with path.open("rb") as f:
                            while chunk := f.read(BLOCK_SIZE):
                                read += len(chunk)
                                pending.append((ino, pool.submit(_encode_and_store, router, chunk)))
                                drain(window)
                        stats.bytes += read
                        if read != st.st_size:  # the file changed while packing
                            writer.set_size(ino, read)
            drain(0)
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
