from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zos_flist.blocks import BLOCK_SIZE, BlockEncoder, BlockError, decode_block, encode_block


def test_spec_vector_hello_world() -> None:
    block = encode_block(b"hello world")
    assert block.key.hex() == "256c83b297114d201b30179f3f0ef0cace9783622da5974326b436178aeef610"
    assert len(block.blob) == 29
    assert block.id.hex() == "d917c0529e8b76d494ceb149a6faa1bd527b7415f5cf7ca728ad941622414267"


def test_spec_vector_zero_block() -> None:
    block = encode_block(bytes(BLOCK_SIZE))
    assert block.key.hex() == "0a93174557b2e0668f2531531415142280358ee32605d059dab1ce8ebbb1cc01"
    assert len(block.blob) == 24_611
    assert block.id.hex() == "e8fd6b2d9a2e8851d12163c43f3024c31fcac6b486bceacf042d323f8e6f6640"


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=4096))
def test_round_trip(plain: bytes) -> None:
    block = encode_block(plain)
    assert decode_block(block.blob, block.key, block.id) == plain


def test_corrupt_blob_is_an_error_naming_the_block() -> None:
    block = encode_block(b"x" * 1000)
    bad = bytearray(block.blob)
    bad[5] ^= 1
    with pytest.raises(BlockError, match=block.id.hex()):
        decode_block(bytes(bad), block.key, block.id)


def test_wrong_key_is_an_error() -> None:
    a, b = encode_block(b"a"), encode_block(b"b")
    with pytest.raises(BlockError, match="authentication failed"):
        decode_block(a.blob, b.key, a.id)
    with pytest.raises(BlockError, match="32"):
        decode_block(a.blob, b"short", a.id)


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=200), st.binary(min_size=32, max_size=32))
def test_garbage_never_decodes(blob: bytes, key: bytes) -> None:
    with pytest.raises(BlockError):
        decode_block(blob, key)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=2000), st.just(b"a" * BLOCK_SIZE),
                          st.integers(0, BLOCK_SIZE).map(os.urandom)), min_size=1, max_size=6))
def test_block_encoder_matches_encode_block_and_keeps_its_slots(blocks: list[bytes]) -> None:
    encoder = BlockEncoder(slots=3)
    made = []
    for plain in blocks:
        made.append((encoder.encode(memoryview(bytearray(plain))), encode_block(plain)))
        for ours, reference in made[-3:]:  # the last `slots` blobs are still intact
            assert (ours.id, ours.key, bytes(ours.blob), ours.size) == (
                reference.id, reference.key, reference.blob, reference.size)
    ours, _ = made[-1]
    assert decode_block(bytes(ours.blob), ours.key, ours.id) == blocks[-1]


def test_block_encoder_refuses_oversized_blocks() -> None:
    with pytest.raises(ValueError, match="at most 524288 bytes"):
        BlockEncoder().encode(bytes(BLOCK_SIZE + 1))
