"""Copy every block of a `.fl` file to other stores (``zos-flist clone``)."""

from __future__ import annotations

import shutil
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .blocks import blake2b_256
from .errors import FlistError
from .progress import Progress
from .reader import Block, FlistReader, check_sqlite_file
from .stores import Router, Store, strip_password


def clone(reader: FlistReader, source: Store, destination: Router, *,
          output: Path | None = None, keep_password: bool = False, workers: int = 4,
          progress: Progress | None = None) -> int:
    """Copy blobs verbatim (checking each against its id); optionally write a copy of the
    flist whose routes point at ``destination``. Returns the number of blocks copied."""

    def copy(block: Block) -> int:
        blob = source.get(block.id)
        if blake2b_256(blob) != block.id:
            raise FlistError(
                f"block {block.id.hex()}: blob from {source.name} does not match its id"
            )
        destination.set(block.id, blob)
        if progress:
            progress.advance(items=1, nbytes=len(blob))
        return 1

    blocks = reader.all_block_ids()
    with ThreadPoolExecutor(workers, thread_name_prefix="clone") as pool:
        copied = sum(pool.map(copy, blocks))
    if progress:
        progress.finish()
    if output is not None:
        tmp = output.with_name(f".{output.name}.tmp")
        shutil.copyfile(reader.path, tmp)
        check_sqlite_file(tmp)
        db = sqlite3.connect(tmp)
        with db:
            db.execute("DELETE FROM route")
            for r in destination.routes:
                url = r.store.url if keep_password else strip_password(r.store.url)
                db.execute('INSERT INTO route (start, "end", url) VALUES (?, ?, ?)',
                           (r.start, r.end, url))
        db.close()
        tmp.replace(output)
    return copied
