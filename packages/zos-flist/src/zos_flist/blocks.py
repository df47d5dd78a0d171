"""One block of file content: the convergent encoding rfs v2 uses (spec §1.4).

key = BLAKE2b-256(plain); ct = AES-256-GCM(key, nonce=key[:12]).encrypt(snappy_raw(plain));
id = BLAKE2b-256(ct). The blob ``ct`` is stored under ``id``; the ``.fl`` keeps (id, key).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import cramjam
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import FlistError

BLOCK_SIZE = 512 * 1024
"""Every block is this long except a file's last one; readers index blocks by it."""

HASH_SIZE = 32


class BlockError(FlistError):
    """A blob does not decode to the block its (id, key) names."""


def blake2b_256(data: bytes | bytearray | memoryview) -> bytes:
    return hashlib.blake2b(data, digest_size=HASH_SIZE).digest()


@dataclass(frozen=True)
class EncodedBlock:
    id: bytes
    key: bytes
    blob: bytes | memoryview
    """A view into a `BlockEncoder`'s buffer when it made the block."""
    size: int
    """Length of the plaintext."""


def encode_block(plain: bytes | bytearray | memoryview) -> EncodedBlock:
    """Encode one block; ``plain`` may be a reused buffer (nothing keeps a reference to it)."""
    key = blake2b_256(plain)
    # AES-GCM reads cramjam's buffer directly: converting it to bytes would copy the block.
    compressed = memoryview(cramjam.snappy.compress_raw(plain))
    blob = AESGCM(key).encrypt(key[:12], compressed, None)
    return EncodedBlock(id=blake2b_256(blob), key=key, blob=blob, size=len(plain))


class BlockEncoder:
    """``encode_block`` into reused buffers, for packing.

    A fresh 512 KiB output per block (snappy's, then AES-GCM's) is memory the allocator gives
    back to the kernel when freed and faults in again on the next block: that cost 0.45 ms
    per incompressible block here, a third of its encoding (docs/performance.md). The blob of
    each encoded block is a view of one of ``slots`` buffers, valid until ``slots`` more
    blocks are encoded; stores never keep a reference to what they are given."""

    def __init__(self, slots: int = 1) -> None:
        limit = 32 + BLOCK_SIZE + BLOCK_SIZE // 6  # snappy's MaxCompressedLength
        self._compressed = bytearray(limit)
        self._blobs = [bytearray(limit + 16) for _ in range(slots)]  # + the GCM tag
        self._slot = 0

    def encode(self, plain: bytes | bytearray | memoryview) -> EncodedBlock:
        if len(plain) > BLOCK_SIZE:
            raise ValueError(f"a block holds at most {BLOCK_SIZE} bytes, got {len(plain)}")
        key = blake2b_256(plain)
        size = cramjam.snappy.compress_raw_into(plain, self._compressed)
        out = memoryview(self._blobs[self._slot])[: size + 16]
        self._slot = (self._slot + 1) % len(self._blobs)
        written = AESGCM(key).encrypt_into(key[:12], memoryview(self._compressed)[:size],
                                           None, out)
        blob = out[:written]
        return EncodedBlock(id=blake2b_256(blob), key=key, blob=blob, size=len(plain))


def decode_block(blob: bytes, key: bytes, block_id: bytes | None = None) -> bytes:
    """Decrypt and decompress a blob; verify the plaintext hashes to ``key``."""
    name = block_id.hex() if block_id is not None else "?"
    if len(key) != HASH_SIZE:
        raise BlockError(f"block {name}: key is {len(key)} bytes, expected {HASH_SIZE}")
    try:
        compressed = AESGCM(key).decrypt(key[:12], blob, None)
    except InvalidTag:
        raise BlockError(f"block {name}: authentication failed (corrupt or wrong blob)") from None
    try:
        plain = bytes(cramjam.snappy.decompress_raw(compressed))
    except Exception as exc:  # cramjam raises its own DecompressionError
        raise BlockError(f"block {name}: snappy decompression failed: {exc}") from None
    if blake2b_256(plain) != key:
        raise BlockError(f"block {name}: plaintext does not hash to its key")
    return plain
