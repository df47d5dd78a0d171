"""Whole-file copies built from the block cache: reflinked on btrfs (a node's cache disk, here a
loop device of the test's own), copied elsewhere, never partial."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from zos_flist.blocks import BLOCK_SIZE, encode_block
from zos_flist.cache import BlockCache, clean_cache
from zos_flist.reader import Block
from zos_flist.stores import open_store
from zos_flist.unpack import block_sizes
from zos_flist.wholefiles import WholeFiles, whole_file_key
from zos_storage import loopdisk

pytestmark = pytest.mark.real


@pytest.fixture
def btrfs_dir(tmp_path: Path) -> Iterator[Path]:
    disk = loopdisk.attach(tmp_path / "disk.img", 300 * 2**20)
    mnt = tmp_path / "btrfs"
    mnt.mkdir()
    try:
        subprocess.run(["mkfs.btrfs", "-q", disk.device], check=True)
        subprocess.run(["mount", disk.device, str(mnt)], check=True)
        try:
            yield mnt
        finally:
            subprocess.run(["umount", str(mnt)], check=True)
    finally:
        loopdisk.detach(disk)


def _cache_with(root: Path, store_dir: Path, content: bytes) -> tuple[BlockCache, list[Block],
                                                                      list[int]]:
    store = open_store(f"dir://{store_dir}")
    blocks = []
    for offset in range(0, len(content), BLOCK_SIZE):
        encoded = encode_block(content[offset : offset + BLOCK_SIZE])
        store.set(encoded.id, encoded.blob)
        blocks.append(Block(encoded.id, encoded.key))
    return BlockCache(root, store), blocks, block_sizes(len(content), len(blocks))


def _fill(cache: BlockCache, blocks: list[Block], sizes: list[int]) -> None:
    for block, size in zip(blocks, sizes, strict=True):
        cache.ensure(block, size)


def _shared_extents(path: Path) -> bool:
    out = subprocess.run(["filefrag", "-v", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return "shared" in out


@pytest.mark.parametrize("where", ["ext4-or-tmp", "btrfs"])
def test_build_makes_an_exact_copy(where: str, tmp_path: Path, request: pytest.FixtureRequest,
                                   ) -> None:
    root = request.getfixturevalue("btrfs_dir") if where == "btrfs" else tmp_path
    content = os.urandom(3 * BLOCK_SIZE + 777)
    cache, blocks, sizes = _cache_with(root / "cache", tmp_path / "store", content)
    _fill(cache, blocks, sizes)
    whole = WholeFiles(cache)
    path = whole.build(blocks, sizes)
    assert path is not None
    assert Path(path).read_bytes() == content
    assert Path(path).name == whole_file_key(blocks, len(content))
    assert whole.present(whole_file_key(blocks, len(content)), len(content)) == path
    assert whole.build(blocks, sizes) == path  # already there: nothing rebuilt
    if where == "btrfs":
        assert whole.reflinks  # no data copied: the extents are the cache files'
        assert _shared_extents(Path(path))
    leftovers = [p for p in (root / "cache" / "files").rglob(".*")]
    assert leftovers == []


def test_build_waits_for_every_block(tmp_path: Path) -> None:
    content = os.urandom(2 * BLOCK_SIZE + 1)
    cache, blocks, sizes = _cache_with(tmp_path / "cache", tmp_path / "store", content)
    cache.ensure(blocks[0], sizes[0])
    whole = WholeFiles(cache)
    assert not whole.all_cached(blocks, sizes)
    assert whole.build(blocks, sizes) is None
    assert not (tmp_path / "cache" / "files").exists()
    _fill(cache, blocks, sizes)
    assert whole.all_cached(blocks, sizes)
    assert whole.build(blocks, sizes) is not None


def test_a_stopped_build_leaves_nothing(tmp_path: Path) -> None:
    content = os.urandom(2 * BLOCK_SIZE)
    cache, blocks, sizes = _cache_with(tmp_path / "cache", tmp_path / "store", content)
    _fill(cache, blocks, sizes)
    whole = WholeFiles(cache)
    whole.stop()
    assert whole.build(blocks, sizes) is None
    assert [p for p in (tmp_path / "cache" / "files").rglob("*") if p.is_file()] == []


def test_a_wrong_sized_copy_is_not_present(tmp_path: Path) -> None:
    content = os.urandom(2 * BLOCK_SIZE)
    cache, blocks, sizes = _cache_with(tmp_path / "cache", tmp_path / "store", content)
    _fill(cache, blocks, sizes)
    whole = WholeFiles(cache)
    path = whole.build(blocks, sizes)
    assert path is not None
    os.truncate(path, 10)
    assert whole.present(whole_file_key(blocks, len(content)), len(content)) is None
    assert not Path(path).exists()


def test_the_cache_cleaner_ages_whole_copies_like_blocks(tmp_path: Path) -> None:
    content = os.urandom(2 * BLOCK_SIZE)
    cache, blocks, sizes = _cache_with(tmp_path / "cache", tmp_path / "store", content)
    _fill(cache, blocks, sizes)
    path = WholeFiles(cache).build(blocks, sizes)
    assert path is not None
    old = time.time() - 91 * 86400
    os.utime(path, (old, old))
    assert clean_cache(tmp_path / "cache") == 1
    assert not Path(path).exists()
    assert cache.cached(blocks[0], sizes[0]) is not None  # recently used blocks stay


def test_a_cache_where_copies_cannot_be_made_gives_none(tmp_path: Path) -> None:
    content = os.urandom(2 * BLOCK_SIZE)
    cache, blocks, sizes = _cache_with(tmp_path / "cache", tmp_path / "store", content)
    _fill(cache, blocks, sizes)
    (tmp_path / "cache" / "files").write_bytes(b"in the way")  # no directory can be made
    whole = WholeFiles(cache)
    assert whole.present(whole_file_key(blocks, len(content)), len(content)) is None
    assert whole.build(blocks, sizes) is None
    assert (tmp_path / "cache" / "files").read_bytes() == b"in the way"
