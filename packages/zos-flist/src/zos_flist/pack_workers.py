"""Block encoding in worker processes, for packing with more than one worker.

hashlib, cramjam's snappy and cryptography's AES-GCM all release the GIL, so threads can scale
too. But every block then hands the GIL back and forth about eight times between encoders and
the tree walk (docs/performance.md, "pack scaling"). Instead, each worker process reads its own
file ranges, encodes them and writes the blobs through its own copy of the router. Only
(id, key, size) travels back, so the parent never copies block data through pipes."""

from __future__ import annotations

import io
from dataclasses import dataclass

from .blocks import BLOCK_SIZE, BlockEncoder
from .stores import Router, open_router

SEGMENT_BLOCKS = 16
"""Blocks per task segment (8 MiB): large enough to amortise the inter-process round trip."""


@dataclass(frozen=True)
class Segment:
    path: str
    offset: int
    count: int
    """Blocks to read; with ``to_eof`` keep reading until end of file (a file may have grown)."""
    to_eof: bool


BlockRef = tuple[bytes, bytes, int]
"""(id, key, plaintext size) of one stored block."""

_router: Router | None = None


def fill(f: io.FileIO, buffer: bytearray) -> int:
    """Read into ``buffer`` until it is full or the file ends; how many bytes were read.

    Blocks are indexed by offset / BLOCK_SIZE, so only a file's last block may be short: a
    short read in the middle of a file must not cut a block."""
    view = memoryview(buffer)
    got = 0
    while got < len(buffer):
        n = f.readinto(view[got:])
        if not n:
            break
        got += n
    return got


def router_specs(router: Router) -> list[str] | None:
    """``xx-yy=URL`` specs that rebuild ``router`` in a worker, or None if a store is foreign."""
    specs = []
    for route in router.routes:
        if not type(route.store).__module__.startswith("zos_flist.stores."):
            return None  # e.g. a test double: only the parent holds it
        specs.append(f"{route.start:02x}-{route.end:02x}={route.store.url}")
    return specs


def init_worker(specs: list[str]) -> None:
    global _router
    _router = open_router(specs)


def encode_segments(segments: list[Segment]) -> list[list[BlockRef]]:
    """Encode and store the blocks of each segment, in order; one list of refs per segment."""
    assert _router is not None, "init_worker was not run"
    out: list[list[BlockRef]] = []
    buffer = bytearray(BLOCK_SIZE)
    encoder = BlockEncoder()  # each blob is stored before the next block is encoded
    for seg in segments:
        refs: list[BlockRef] = []
        with open(seg.path, "rb", buffering=0) as f:
            f.seek(seg.offset)
            while seg.to_eof or len(refs) < seg.count:
                n = fill(f, buffer)
                if not n:
                    break
                block = encoder.encode(memoryview(buffer)[:n])
                _router.set(block.id, block.blob)
                refs.append((block.id, block.key, block.size))
        out.append(refs)
    return out
