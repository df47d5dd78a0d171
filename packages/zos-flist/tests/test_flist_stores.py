"""Stores by URL. There is no 0-db server in Debian: the zdb store is tested against
redis-server, which shares the commands it uses (GET, SET, EXISTS, SELECT <n>)."""

from __future__ import annotations

import http.server
import random
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from zos_flist.blocks import encode_block
from zos_flist.errors import (
    BlockNotFoundError,
    StoreUnavailableError,
    UnsupportedStoreError,
)
from zos_flist.stores import open_router, open_store, parse_route_spec
from zos_flist.stores.dirstore import DirStore
from zos_flist.stores.httpstore import HTTPStore
from zos_flist.stores.zdbstore import ZdbStore, parse_zdb_url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def redis_port(tmp_path: Path) -> Iterator[int]:
    port = _free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=port).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: object, **kw: object) -> None:
            super().__init__(*a, directory=str(root), **kw)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/blocks", root / "blocks"
    finally:
        server.shutdown()
        server.server_close()


def test_dir_store_layout_and_legacy_fallback(tmp_path: Path) -> None:
    store = open_store(f"dir://{tmp_path}/s")
    assert isinstance(store, DirStore)
    block = encode_block(b"hello world")
    store.set(block.id, block.blob)
    hexid = block.id.hex()
    assert (tmp_path / "s" / hexid[:2] / hexid).read_bytes() == block.blob
    assert store.get(block.id) == block.blob
    legacy = encode_block(b"legacy")
    (tmp_path / "s" / legacy.id.hex()).write_bytes(legacy.blob)
    assert store.get(legacy.id) == legacy.blob
    with pytest.raises(BlockNotFoundError, match=encode_block(b"x").id.hex()):
        store.get(encode_block(b"x").id)
    with pytest.raises(StoreUnavailableError, match="does not exist"):
        open_store(f"dir://{tmp_path}/absent").get(block.id)


def test_http_store_reads_both_layouts(http_dir: tuple[str, Path], tmp_path: Path) -> None:
    url, root = http_dir
    dirstore = DirStore(f"dir://{root}")
    a, b = encode_block(b"a" * 100), encode_block(b"b" * 100)
    dirstore.set(a.id, a.blob)
    root.mkdir(exist_ok=True)
    (root / b.id.hex()).write_bytes(b.blob)
    store = open_store(url)
    assert isinstance(store, HTTPStore)
    assert store.get(a.id) == a.blob
    assert store.get(b.id) == b.blob
    with pytest.raises(BlockNotFoundError):
        store.get(encode_block(b"c").id)
    with pytest.raises(UnsupportedStoreError, match="read-only"):
        store.set(a.id, a.blob)
    store.close()
    port = _free_port()
    dead = open_store(f"http://127.0.0.1:{port}/blocks")
    with pytest.raises(StoreUnavailableError, match=f"127.0.0.1:{port}"):
        dead.get(a.id)


def test_zdb_store_against_redis(redis_port: int) -> None:
    store = open_store(f"zdb://127.0.0.1:{redis_port}")
    assert isinstance(store, ZdbStore)
    block = encode_block(b"zdb block")
    store.set(block.id, block.blob)
    store.set(block.id, b"not overwritten")  # EXISTS first: blobs are immutable
    assert store.get(block.id) == block.blob
    raw = redis.Redis(port=redis_port)
    assert raw.get(block.id) == block.blob  # the key is the raw 32-byte id
    with pytest.raises(BlockNotFoundError):
        store.get(encode_block(b"missing").id)
    raw.set(encode_block(b"empty").id, b"")
    with pytest.raises(StoreUnavailableError, match="empty value"):
        store.get(encode_block(b"empty").id)
    store.close()


def test_zdb_namespace_is_selected_on_connect(redis_port: int) -> None:
    # redis names databases by number, so namespace "3" exercises `SELECT <ns>`.
    store = open_store(f"zdb://127.0.0.1:{redis_port}/3")
    block = encode_block(b"in namespace 3")
    store.set(block.id, block.blob)
    assert redis.Redis(port=redis_port, db=3).get(block.id) == block.blob
    assert redis.Redis(port=redis_port, db=0).get(block.id) is None
    store.close()
    # `SELECT <ns> <password>` is 0-db syntax; redis rejects it, which shows it is sent.
    # The error names the store without its password.
    secret = open_store(f"zdb://user:hunter2@127.0.0.1:{redis_port}/3")
    with pytest.raises(StoreUnavailableError) as info:
        secret.get(block.id)
    assert "hunter2" not in str(info.value) and f"127.0.0.1:{redis_port}" in str(info.value)
    port = _free_port()
    with pytest.raises(StoreUnavailableError, match=f"zdb://127.0.0.1:{port}"):
        open_store(f"zdb://127.0.0.1:{port}").get(block.id)


def test_zdb_url_forms() -> None:
    assert parse_zdb_url("zdb://h") == {"host": "h", "port": 9900, "namespace": "",
                                        "password": ""}
    assert parse_zdb_url("zdb://u:p@h:1/ns") == {"host": "h", "port": 1, "namespace": "ns",
                                                 "password": "p"}
    assert parse_zdb_url("zdb:///run/zdb.sock") == {"unix_socket": "/run/zdb.sock",
                                                    "namespace": "", "password": ""}


def test_unknown_scheme_and_route_specs() -> None:
    with pytest.raises(UnsupportedStoreError, match="unknown store type 'ftp'"):
        open_store("ftp://x/y")
    assert parse_route_spec("00-7f=dir:///a") == (0, 127, "dir:///a")
    assert parse_route_spec("dir:///a") == (0, 255, "dir:///a")
    with pytest.raises(ValueError, match="after end"):
        parse_route_spec("80-10=dir:///a")
    with pytest.raises(ValueError, match="expected URL"):
        parse_route_spec("nonsense")


def test_router_replicates_and_shards(tmp_path: Path) -> None:
    router = open_router(
        [f"00-7f=dir://{tmp_path}/low", f"80-ff=dir://{tmp_path}/high",
         f"00-ff=dir://{tmp_path}/all"]
    )
    blocks = [encode_block(bytes([i]) * 10) for i in range(40)]
    for block in blocks:
        router.set(block.id, block.blob)
    low = {p.name for p in (tmp_path / "low").rglob("*") if p.is_file()}
    high = {p.name for p in (tmp_path / "high").rglob("*") if p.is_file()}
    every = {p.name for p in (tmp_path / "all").rglob("*") if p.is_file()}
    assert low == {b.id.hex() for b in blocks if b.id[0] < 0x80}
    assert high == {b.id.hex() for b in blocks if b.id[0] >= 0x80}
    assert every == low | high
    random.seed(1)
    for block in blocks:
        assert router.get(block.id) == block.blob
    # Reads fall back to another matching store; failures are aggregated per store.
    for path in (tmp_path / "all").rglob("*"):
        if path.is_file():
            path.unlink()
    for block in blocks:
        assert router.get(block.id) == block.blob
    missing = encode_block(b"nowhere").id
    with pytest.raises(BlockNotFoundError) as info:
        router.get(missing)
    assert str(tmp_path / "all") in str(info.value)
    partial = open_router([f"00-0f=dir://{tmp_path}/p"])
    unroutable = next(b for b in blocks if b.id[0] > 0x0F)
    with pytest.raises(Exception, match="not routable"):
        partial.set(unroutable.id, unroutable.blob)
