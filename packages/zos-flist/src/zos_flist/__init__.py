"""zos-flist: the rfs v2 `.fl` format, block stores, a read-only FUSE mount and a local hub."""

from .blocks import BLOCK_SIZE, BlockError, EncodedBlock, decode_block, encode_block
from .errors import (
    BlockNotFoundError,
    FlistError,
    FlistFormatError,
    StoreError,
    StoreUnavailableError,
    UnsupportedStoreError,
)
from .reader import Block, FlistReader, Inode, Route
from .writer import FlistWriter

__all__ = [
    "BLOCK_SIZE",
    "Block",
    "BlockError",
    "BlockNotFoundError",
    "EncodedBlock",
    "FlistError",
    "FlistFormatError",
    "FlistReader",
    "FlistWriter",
    "Inode",
    "Route",
    "StoreError",
    "StoreUnavailableError",
    "UnsupportedStoreError",
    "decode_block",
    "encode_block",
]
