"""Field annotations that carry the Go type of a field (range, name in error texts)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, Strict


class GoUint:
    """An unsigned Go integer of ``bits`` bits, named ``go_name`` in error messages."""

    __slots__ = ("bits", "go_name")

    def __init__(self, bits: int, go_name: str) -> None:
        self.bits = bits
        self.go_name = go_name


class GoTimestamp:
    """``gridtypes.Timestamp``: an int64, or an RFC 3339 string converted to Unix seconds."""

    go_name = "gridtypes.Timestamp"


class GoHex:
    """A byte string carried as hex text (``hex_key``, ``hex_seed``, qsfs ``key``)."""

    __slots__ = ("go_name",)

    def __init__(self, go_name: str) -> None:
        self.go_name = go_name


class GoName:
    """A named Go string type, for error texts (e.g. ``gridtypes.Name``)."""

    __slots__ = ("go_name",)

    def __init__(self, go_name: str) -> None:
        self.go_name = go_name


class OmitEmpty:
    """Go's ``omitempty``: the field is left out of the JSON encoding when empty/absent."""


OMIT_EMPTY = OmitEmpty()

U8 = Annotated[int, Strict(), Field(ge=0, le=0xFF), GoUint(8, "uint8")]
U16 = Annotated[int, Strict(), Field(ge=0, le=0xFFFF), GoUint(16, "uint16")]
U32 = Annotated[int, Strict(), Field(ge=0, le=0xFFFFFFFF), GoUint(32, "uint32")]
U64 = Annotated[int, Strict(), Field(ge=0, le=0xFFFFFFFFFFFFFFFF), GoUint(64, "uint64")]
Uint = Annotated[int, Strict(), Field(ge=0, le=0xFFFFFFFFFFFFFFFF), GoUint(64, "uint")]
Unit = Annotated[
    int, Strict(), Field(ge=0, le=0xFFFFFFFFFFFFFFFF), GoUint(64, "gridtypes.Unit")
]
"""Bytes as a u64 (``gridtypes.Unit``)."""
Timestamp = Annotated[
    int, Strict(), Field(ge=-(2**63), le=2**63 - 1), GoTimestamp()
]
"""Unix seconds (``gridtypes.Timestamp``); JSON input may also be an RFC 3339 string."""
Name = Annotated[str, GoName("gridtypes.Name")]
"""A workload name (``gridtypes.Name``); its rules are checked by validation, not decoding."""
