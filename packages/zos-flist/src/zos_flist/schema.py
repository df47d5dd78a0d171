"""The rfs v2 `.fl` SQLite schema (spec §1.2), plus the project's (parent, name) index."""

from __future__ import annotations

UPSTREAM_SCHEMA = """
CREATE TABLE IF NOT EXISTS inode (
    ino INTEGER PRIMARY KEY AUTOINCREMENT,
    parent INTEGER,
    name VARCHAR(255),
    size INTEGER,
    uid INTEGER,
    gid INTEGER,
    mode INTEGER,
    rdev INTEGER,
    ctime INTEGER,
    mtime INTEGER
);
CREATE INDEX IF NOT EXISTS parents ON inode (parent);
CREATE INDEX IF NOT EXISTS names ON inode (name);
CREATE TABLE IF NOT EXISTS extra (
    ino INTEGER PRIMARY KEY,
    data VARCHAR(4096)
);
CREATE TABLE IF NOT EXISTS block (
    ino INTEGER,
    id VARCHAR(32),
    key VARCHAR(32)
);
CREATE INDEX IF NOT EXISTS block_ino ON block (ino);
CREATE TABLE IF NOT EXISTS tag (
    key VARCHAR(10) PRIMARY KEY,
    value VARCHAR(255)
);
CREATE TABLE IF NOT EXISTS route (
    start integer,
    end integer,
    url VARCHAR(2048)
);
"""

PARENT_NAME_INDEX = "CREATE INDEX IF NOT EXISTS parent_name ON inode (parent, name);"
"""Project addition: makes child lookups O(log n) instead of a scan of the directory."""

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "inode": ("ino", "parent", "name", "size", "uid", "gid", "mode", "rdev", "ctime", "mtime"),
    "extra": ("ino", "data"),
    "block": ("ino", "id", "key"),
    "tag": ("key", "value"),
    "route": ("start", "end", "url"),
}

WELL_KNOWN_TAGS = ("version", "description", "author")
