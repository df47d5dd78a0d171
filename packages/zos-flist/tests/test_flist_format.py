from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zos_flist.blocks import BLOCK_SIZE
from zos_flist.errors import FlistFormatError
from zos_flist.pack import pack
from zos_flist.reader import FlistReader
from zos_flist.stores import open_router, router_from_routes
from zos_flist.unpack import unpack


def test_handmade_flist_reads_through_our_reader(handmade: Any, tmp_path: Path) -> None:
    with FlistReader(handmade.path) as reader:
        assert not reader.has_parent_name_index
        assert reader.tags() == {"version": "1.0"}
        routes = reader.routes()
        assert [(r.start, r.end) for r in routes] == [(0, 255)]
        etc = reader.resolve("etc")
        assert etc is not None and etc.is_dir and etc.uid == 1000 and etc.gid == 1001
        hello = reader.resolve("/etc/hello")
        assert hello is not None and hello.size == 11 and hello.mtime == 1_700_000_001
        link = reader.resolve("link")
        assert link is not None and reader.link_target(link.ino) == b"etc/hello"
        big = reader.resolve("big.bin")
        assert big is not None and len(reader.blocks(big.ino)) == 3
        assert reader.resolve("nope") is None
        out = tmp_path / "out"
        router = router_from_routes(routes)
        unpack(reader, out, router)
    for rel, content in handmade.files.items():
        assert (out / rel).read_bytes() == content
    assert (out / "link").readlink() == Path("etc/hello")
    assert stat.S_ISFIFO((out / "fifo").lstat().st_mode)
    assert (out / "null").lstat().st_rdev == os.makedev(1, 3)
    # The reader never changes the file (its md5 is its identity).
    assert "parent_name" not in handmade.path.read_bytes().decode("latin-1")


def test_pack_writes_the_spec_schema_and_our_index(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a").write_bytes(b"\0" * (BLOCK_SIZE * 2 + 5))
    router = open_router([f"dir://{tmp_path}/store"])
    stats = pack(src, tmp_path / "x.fl", router, tags={"version": "2"})
    assert stats.blocks == 3
    db = sqlite3.connect(tmp_path / "x.fl")
    indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"parents", "names", "block_ino", "parent_name"} <= indexes
    root = db.execute("SELECT ino, parent, name, mode FROM inode WHERE ino = 1").fetchone()
    assert root[:3] == (1, 0, "/") and stat.S_ISDIR(root[3])
    ids = db.execute("SELECT id, key FROM block ORDER BY rowid").fetchall()
    assert all(isinstance(i, bytes) and len(i) == 32 for row in ids for i in row)
    assert ids[0] == ids[1]  # two identical zero blocks: same id (convergent)
    assert db.execute("SELECT start, \"end\", url FROM route").fetchall() == [
        (0, 255, f"dir://{tmp_path}/store")
    ]
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    db.close()
    assert len(list((tmp_path / "store").rglob("*"))) == 4  # 2 blobs + 2 hh dirs
    assert not list(tmp_path.glob(".*.tmp"))


def test_round_trip_every_file_kind(sample_tree: Path, tmp_path: Path,
                                    take_snapshot: Any) -> None:
    router = open_router([f"dir://{tmp_path}/store"])
    meta = tmp_path / "tree.fl"
    pack(sample_tree, meta, router, tags={"author": "tests"})
    out = tmp_path / "out"
    with FlistReader(meta) as reader:
        assert reader.has_parent_name_index
        unpack(reader, out, router_from_routes(reader.routes()), preserve_ownership=True)
    assert take_snapshot(out) == take_snapshot(sample_tree)
    # Zero runs stay holes on unpack.
    assert (out / "sparse.img").stat().st_blocks * 512 < 2 * 1024 * 1024


def test_passwords_are_stripped_from_routes(tmp_path: Path) -> None:
    from zos_flist.stores import strip_password

    assert strip_password("zdb://user:secret@host:9900/ns") == "zdb://user@host:9900/ns"
    assert strip_password("zdb://:secret@host/ns") == "zdb://host/ns"
    assert strip_password("dir:///x") == "dir:///x"


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_bytes(b"not a database at all, clearly" * 10), "no SQLite 3 header"),
        (lambda p: p.write_bytes(p.read_bytes()[:5000]), "truncated"),
        (lambda p: p.write_bytes(b""), "no SQLite 3 header"),
    ],
)
def test_malformed_flists_give_clear_errors(handmade: Any, tmp_path: Path, damage: Any,
                                            message: str) -> None:
    bad = tmp_path / "bad.fl"
    shutil.copy(handmade.path, bad)
    damage(bad)
    with pytest.raises(FlistFormatError, match=message):
        FlistReader(bad)


def test_missing_table_and_bad_block_rows(handmade: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.fl"
    shutil.copy(handmade.path, bad)
    db = sqlite3.connect(bad)
    db.execute("DROP TABLE route")
    db.commit()
    db.close()
    with pytest.raises(FlistFormatError, match="missing table 'route'"):
        FlistReader(bad)
    shutil.copy(handmade.path, bad)
    db = sqlite3.connect(bad)
    db.execute("UPDATE block SET id = x'0102'")
    db.commit()
    db.close()
    with FlistReader(bad) as reader, pytest.raises(FlistFormatError, match="2-byte id"):
        node = reader.resolve("etc/hello")
        assert node is not None
        reader.blocks(node.ino)
    with pytest.raises(FlistFormatError, match="cannot read"):
        FlistReader(tmp_path / "absent.fl")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 2**20), st.integers(0, 255)), min_size=1, max_size=8),
       st.booleans())
def test_damaged_files_only_raise_format_errors(handmade: Any, tmp_path_factory: Any,
                                                edits: list[tuple[int, int]],
                                                truncate: bool) -> None:
    data = bytearray(handmade.path.read_bytes())
    for position, value in edits:
        data[position % len(data)] = value
    if truncate:
        data = data[: edits[0][0] % len(data)]
    bad = tmp_path_factory.mktemp("damaged") / "bad.fl"
    bad.write_bytes(bytes(data))
    try:
        with FlistReader(bad) as reader:
            for _path, inode in reader.walk():
                if inode.is_file:
                    reader.blocks(inode.ino)
                reader.link_target(inode.ino)
            reader.tags()
            reader.routes()
    except FlistFormatError:
        pass
