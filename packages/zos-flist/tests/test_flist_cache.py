"""The block cache: concurrent fills (threads and processes) and crash leftovers."""

from __future__ import annotations

import multiprocessing
import os
import threading
from pathlib import Path

import pytest

from zos_flist.blocks import encode_block
from zos_flist.cache import BlockCache, clean_cache
from zos_flist.errors import BlockNotFoundError
from zos_flist.reader import Block
from zos_flist.stores import open_router


def _blocks(store_dir: Path, count: int) -> list[tuple[Block, bytes]]:
    router = open_router([f"dir://{store_dir}"])
    out = []
    for i in range(count):
        plain = os.urandom(1000) + bytes([i]) * 50_000
        encoded = encode_block(plain)
        router.set(encoded.id, encoded.blob)
        out.append((Block(encoded.id, encoded.key), plain))
    return out


def _fill_in_process(cache_dir: str, store_dir: str, blocks: list[tuple[bytes, bytes]]) -> None:
    cache = BlockCache(cache_dir, open_router([f"dir://{store_dir}"]))
    for block_id, key in blocks:
        cache.ensure(Block(block_id, key))


def test_concurrent_fills_from_threads_and_processes(tmp_path: Path) -> None:
    blocks = _blocks(tmp_path / "store", 12)
    cache_dir = tmp_path / "cache"
    ids = [(b.id, b.key) for b, _ in blocks]
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_fill_in_process,
                         args=(str(cache_dir), str(tmp_path / "store"), ids[::-1]))
             for _ in range(2)]
    for p in procs:
        p.start()
    cache = BlockCache(cache_dir, open_router([f"dir://{tmp_path}/store"]))
    results: dict[int, list[bytes]] = {}
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            results[n] = [cache.read_block(b, len(plain)) for b, plain in blocks]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert not errors
    expected = [plain for _, plain in blocks]
    assert all(r == expected for r in results.values())
    for block, plain in blocks:
        assert cache.path_of(block.id).read_bytes() == plain
    assert not [p for p in cache_dir.rglob("*.tmp")]


def test_crash_leftovers_are_never_served(tmp_path: Path) -> None:
    (block, plain), = _blocks(tmp_path / "store", 1)
    cache = BlockCache(tmp_path / "cache", open_router([f"dir://{tmp_path}/store"]))
    final = cache.path_of(block.id)
    final.parent.mkdir(parents=True)
    # A crash mid-fill leaves a temp file and a lock file: neither is a cache entry.
    (final.parent / f".{block.id.hex()}.123.456.tmp").write_bytes(plain[:10])
    final.with_name(final.name + ".lock").write_bytes(b"")
    assert cache.cached(block, len(plain)) is None
    # An upstream-style short final file (crash under its flock) is refetched.
    final.write_bytes(plain[:100])
    assert cache.read_block(block, len(plain)) == plain
    assert final.read_bytes() == plain


def test_missing_and_corrupt_blocks_raise_and_log(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    (block, _plain), = _blocks(tmp_path / "store", 1)
    cache = BlockCache(tmp_path / "cache", open_router([f"dir://{tmp_path}/store"]))
    missing = Block(encode_block(b"nowhere").id, block.key)
    with pytest.raises(BlockNotFoundError):
        cache.ensure(missing)
    assert missing.id.hex() in caplog.text
    blob = tmp_path / "store" / block.id.hex()[:2] / block.id.hex()
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0xFF
    blob.write_bytes(bytes(data))
    with pytest.raises(Exception, match=block.id.hex()):
        cache.ensure(block)
    assert not cache.path_of(block.id).exists()


def test_cache_cleaner_removes_only_old_files(tmp_path: Path) -> None:
    old, new = tmp_path / "ab" / "old", tmp_path / "ab" / "new"
    old.parent.mkdir()
    old.write_bytes(b"x")
    new.write_bytes(b"y")
    os.utime(old, (1_000_000, 1_000_000))
    assert clean_cache(tmp_path, 90) == 1
    assert not old.exists() and new.exists()
