"""Human-readable summaries of a `.fl` file (``zos-flist inspect``) and tag editing."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from .reader import FlistReader, check_sqlite_file


def summary(reader: FlistReader) -> dict[str, object]:
    files = dirs = links = other = 0
    total = 0
    for _path, inode in reader.walk():
        if inode.is_dir:
            dirs += 1
        elif inode.is_file:
            files += 1
            total += inode.size
        elif inode.is_link:
            links += 1
        else:
            other += 1
    blocks = len(reader.all_block_ids())
    return {
        "directories": dirs, "files": files, "symlinks": links, "special": other,
        "content_bytes": total, "unique_blocks": blocks, "tags": reader.tags(),
        "routes": [f"{r.start:02x}-{r.end:02x}={r.url}" for r in reader.routes()],
        "parent_name_index": reader.has_parent_name_index,
    }


def tree_lines(reader: FlistReader) -> Iterator[str]:
    for path, inode in reader.walk():
        kind = stat.filemode(inode.mode)
        line = f"{kind} {inode.uid:>5} {inode.gid:>5} {inode.size:>12} /{path}"
        if inode.is_link:
            target = reader.link_target(inode.ino) or b""
            line += " -> " + target.decode("utf-8", "replace")
        yield line


def edit_tags(path: Path, add: Mapping[str, str], delete: Sequence[str]) -> None:
    """Change the tags of a `.fl` file in place (this changes the file's MD5 identity)."""
    check_sqlite_file(path)
    db = sqlite3.connect(path)
    try:
        with db:
            for key, value in add.items():
                db.execute("INSERT OR REPLACE INTO tag (key, value) VALUES (?, ?)", (key, value))
            for key in delete:
                db.execute("DELETE FROM tag WHERE key = ?", (key,))
    finally:
        db.close()
