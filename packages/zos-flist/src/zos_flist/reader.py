"""Read a `.fl` file (spec §1): inodes, children, blocks, symlink targets, tags, routes.

The file is opened read-only and immutable: reading never changes it (its MD5 is its identity).
For files without our ``parent_name`` index, child lookups use a per-directory in-memory map
built on the first lookup in that directory.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import struct
import threading
import urllib.parse
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import FlistFormatError
from .schema import REQUIRED_COLUMNS

SQLITE_MAGIC = b"SQLite format 3\x00"
ROOT_INO = 1
_DIR_MAP_LIMIT = 64
"""How many per-directory name maps to keep (only used without the parent_name index)."""


@dataclass(frozen=True, slots=True)
class Inode:
    ino: int
    parent: int
    name: str
    size: int
    uid: int
    gid: int
    mode: int
    rdev: int
    ctime: int
    mtime: int

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)

    @property
    def is_file(self) -> bool:
        return stat.S_ISREG(self.mode)

    @property
    def is_link(self) -> bool:
        return stat.S_ISLNK(self.mode)


@dataclass(frozen=True, slots=True)
class Block:
    id: bytes
    key: bytes


@dataclass(frozen=True, slots=True)
class Route:
    start: int
    end: int
    url: str


_INODE_COLUMNS = "ino, parent, name, size, uid, gid, mode, rdev, ctime, mtime"


def _as_int(value: object, what: str) -> int:
    if isinstance(value, int):
        return value
    if value is None:
        return 0
    try:
        return int(str(value))
    except ValueError:
        raise FlistFormatError(f"{what} is not an integer: {value!r}") from None


def _as_text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return "" if value is None else str(value)


def _decode_text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _as_bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    return b"" if value is None else str(value).encode("utf-8", "surrogateescape")


def check_sqlite_file(path: Path) -> None:
    """Raise a clear error if ``path`` is not a complete SQLite file."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            header = f.read(100)
    except OSError as exc:
        raise FlistFormatError(f"{path}: cannot read flist: {exc.strerror}") from None
    if header.startswith(b"\x1f\x8b"):
        raise FlistFormatError(
            f"{path}: unsupported flist format (gzip: an old .flist, not an rfs v2 .fl)"
        )
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise FlistFormatError(f"{path}: not a .fl flist (no SQLite 3 header)")
    (page_size,) = struct.unpack(">H", header[16:18])
    page_size = 65536 if page_size == 1 else page_size
    page_count, version_valid, change_counter = (
        struct.unpack(">I", header[28:32])[0],
        struct.unpack(">I", header[92:96])[0],
        struct.unpack(">I", header[24:28])[0],
    )
    if version_valid == change_counter and page_count and size < page_count * page_size:
        raise FlistFormatError(
            f"{path}: truncated flist ({size} bytes, header says {page_count * page_size})"
        )


class FlistReader:
    """Thread-safe read access to one `.fl` file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        check_sqlite_file(self.path)
        uri = "file:" + urllib.parse.quote(str(self.path.resolve())) + "?mode=ro&immutable=1"
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            # Names are bytes on Linux: invalid UTF-8 (or a damaged file) decodes with
            # surrogates, which os.fsencode turns back into the same bytes.
            self._db.text_factory = _decode_text
            self._check_schema()
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            # UnicodeDecodeError: sqlite's message about a damaged schema quotes its bytes.
            raise FlistFormatError(f"{self.path}: malformed flist: {exc}") from None
        self._has_parent_name_index = self._detect_parent_name_index()
        self._dir_maps: OrderedDict[int, dict[str, Inode]] = OrderedDict()
        root = self.inode(ROOT_INO)
        if root is None or not root.is_dir:
            raise FlistFormatError(f"{self.path}: malformed flist: no root directory (ino 1)")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> FlistReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- low level -------------------------------------------------------------------------

    def _query(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
                raise FlistFormatError(f"{self.path}: malformed flist: {exc}") from None

    def _check_schema(self) -> None:
        for table, columns in REQUIRED_COLUMNS.items():
            rows = self._db.execute(f"PRAGMA table_info({table})").fetchall()
            have = {str(r[1]) for r in rows}
            if not rows:
                raise FlistFormatError(f"{self.path}: malformed flist: missing table '{table}'")
            missing = [c for c in columns if c not in have]
            if missing:
                raise FlistFormatError(
                    f"{self.path}: malformed flist: table '{table}' lacks {', '.join(missing)}"
                )

    def _detect_parent_name_index(self) -> bool:
        for (name,) in self._query("SELECT name FROM pragma_index_list('inode')"):
            cols = [r[2] for r in self._query(f"PRAGMA index_info('{name}')")]
            if cols == ["parent", "name"]:
                return True
        return False

    def _row_to_inode(self, row: tuple[object, ...]) -> Inode:
        ino = _as_int(row[0], "inode.ino")
        return Inode(
            ino=ino,
            parent=_as_int(row[1], f"inode {ino} parent"),
            name=_as_text(row[2]),
            size=_as_int(row[3], f"inode {ino} size"),
            uid=_as_int(row[4], f"inode {ino} uid"),
            gid=_as_int(row[5], f"inode {ino} gid"),
            mode=_as_int(row[6], f"inode {ino} mode"),
            rdev=_as_int(row[7], f"inode {ino} rdev"),
            ctime=_as_int(row[8], f"inode {ino} ctime"),
            mtime=_as_int(row[9], f"inode {ino} mtime"),
        )

    # -- inodes ----------------------------------------------------------------------------

    @property
    def has_parent_name_index(self) -> bool:
        return self._has_parent_name_index

    def inode(self, ino: int) -> Inode | None:
        rows = self._query(f"SELECT {_INODE_COLUMNS} FROM inode WHERE ino = ?", (ino,))
        return self._row_to_inode(rows[0]) if rows else None

    def lookup(self, parent: int, name: str) -> Inode | None:
        if self._has_parent_name_index:
            rows = self._query(
                f"SELECT {_INODE_COLUMNS} FROM inode WHERE parent = ? AND name = ?", (parent, name)
            )
            return self._row_to_inode(rows[0]) if rows else None
        with self._lock:
            names = self._dir_maps.get(parent)
            if names is not None:
                self._dir_maps.move_to_end(parent)
        if names is None:
            names = {i.name: i for i in self.children(parent)}
            with self._lock:
                self._dir_maps[parent] = names
                while len(self._dir_maps) > _DIR_MAP_LIMIT:
                    self._dir_maps.popitem(last=False)
        return names.get(name)

    def children(self, ino: int, after: int = 0, limit: int = -1) -> list[Inode]:
        """Children of directory ``ino`` with inode number > ``after``, ordered by ino."""
        rows = self._query(
            f"SELECT {_INODE_COLUMNS} FROM inode WHERE parent = ? AND ino > ? AND ino != ?"
            " ORDER BY ino LIMIT ?",
            (ino, after, ino, limit),
        )
        return [self._row_to_inode(r) for r in rows]

    def resolve(self, path: str) -> Inode | None:
        """The inode at ``path`` (relative to the root, '/'-separated)."""
        node = self.inode(ROOT_INO)
        for part in path.strip("/").split("/"):
            if not part:
                continue
            if node is None or not node.is_dir:
                return None
            node = self.lookup(node.ino, part)
        return node

    def walk(self) -> Iterator[tuple[str, Inode]]:
        """Every inode with its path (root = ''), parents before children, breadth first."""
        root = self.inode(ROOT_INO)
        assert root is not None
        yield "", root
        queue: deque[tuple[str, int]] = deque([("", ROOT_INO)])
        while queue:
            prefix, ino = queue.popleft()
            for child in self.children(ino):
                path = f"{prefix}/{child.name}" if prefix else child.name
                yield path, child
                if child.is_dir:
                    queue.append((path, child.ino))

    def count_inodes(self) -> int:
        return _as_int(self._query("SELECT count(*) FROM inode")[0][0], "count")

    # -- content ---------------------------------------------------------------------------

    def blocks(self, ino: int) -> list[Block]:
        rows = self._query("SELECT id, key FROM block WHERE ino = ? ORDER BY rowid", (ino,))
        out = []
        for index, (bid, key) in enumerate(rows):
            b_id, b_key = _as_bytes(bid), _as_bytes(key)
            if len(b_id) != 32 or len(b_key) != 32:
                raise FlistFormatError(
                    f"{self.path}: malformed flist: inode {ino} block {index} has a "
                    f"{len(b_id)}-byte id and {len(b_key)}-byte key (expected 32 each)"
                )
            out.append(Block(b_id, b_key))
        return out

    def all_block_ids(self) -> list[Block]:
        rows = self._query("SELECT DISTINCT id, key FROM block")
        return [Block(_as_bytes(i), _as_bytes(k)) for i, k in rows]

    def link_target(self, ino: int) -> bytes | None:
        rows = self._query("SELECT data FROM extra WHERE ino = ?", (ino,))
        return _as_bytes(rows[0][0]) if rows else None

    def tags(self) -> dict[str, str]:
        return {_as_text(k): _as_text(v) for k, v in self._query("SELECT key, value FROM tag")}

    def routes(self) -> list[Route]:
        rows = self._query('SELECT start, "end", url FROM route ORDER BY rowid')
        return [
            Route(_as_int(s, "route.start"), _as_int(e, "route.end"), _as_text(u))
            for s, e, u in rows
        ]
