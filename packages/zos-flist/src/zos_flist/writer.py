"""Write `.fl` files (spec §1): the rfs v2 schema plus our (parent, name) index.

One connection, rollback journal, a single transaction committed at the end, written under a
temporary name and renamed when complete.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from .schema import PARENT_NAME_INDEX, UPSTREAM_SCHEMA


class FlistWriter:
    def __init__(self, path: str | os.PathLike[str], *, add_parent_name_index: bool = True) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self.tmp.unlink(missing_ok=True)
        self._db = sqlite3.connect(self.tmp, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=DELETE")
        self._db.executescript(UPSTREAM_SCHEMA)
        if add_parent_name_index:
            self._db.execute(PARENT_NAME_INDEX)
        self._db.execute("BEGIN")
        self._done = False

    def add_inode(self, parent: int, name: str, *, size: int, uid: int, gid: int, mode: int,
                  rdev: int, ctime: int, mtime: int) -> int:
        cur = self._db.execute(
            "INSERT INTO inode (parent, name, size, uid, gid, mode, rdev, ctime, mtime)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (parent, name, size, uid, gid, mode, rdev, ctime, mtime),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def set_size(self, ino: int, size: int) -> None:
        self._db.execute("UPDATE inode SET size = ? WHERE ino = ?", (size, ino))

    def set_extra(self, ino: int, data: bytes) -> None:
        self._db.execute("INSERT OR REPLACE INTO extra (ino, data) VALUES (?, ?)", (ino, data))

    def add_block(self, ino: int, block_id: bytes, key: bytes) -> None:
        self._db.execute("INSERT INTO block (ino, id, key) VALUES (?, ?, ?)", (ino, block_id, key))

    def set_tag(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO tag (key, value) VALUES (?, ?)", (key, value))

    def add_route(self, start: int, end: int, url: str) -> None:
        self._db.execute(
            'INSERT INTO route (start, "end", url) VALUES (?, ?, ?)', (start, end, url)
        )

    def commit(self) -> Path:
        """Commit, close and move the file to its final name."""
        self._db.execute("COMMIT")
        self._db.close()
        self._done = True
        self.tmp.replace(self.path)
        return self.path

    def abort(self) -> None:
        if not self._done:
            self._db.close()
            self._done = True
            self.tmp.unlink(missing_ok=True)
