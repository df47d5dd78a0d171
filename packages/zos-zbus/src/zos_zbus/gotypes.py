"""The Go type vocabulary: annotations that pin the Go type (and so the wire form) of a value.

Plain Python types map to Go's defaults: ``int`` is Go ``int`` (int64 on the wire), ``float``
is float64, ``str`` string, ``bytes`` []byte, ``bool``, ``datetime`` time.Time,
``timedelta`` time.Duration, ``X | None`` a pointer, ``list[X]`` a slice, ``dict[K, V]`` a map,
dataclasses and pydantic models Go structs. Use the aliases below where Go uses another width.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any


@dataclass(frozen=True)
class GoInt:
    """Marks an ``int`` with its exact Go integer type (fixes the msgpack code on the wire)."""

    name: str  # int8 int16 int32 int64 int uint8 uint16 uint32 uint64 uint


@dataclass(frozen=True)
class GoFloat32:
    """Marks a ``float`` as Go float32 (msgpack ``ca``); Go's float32 decoder rejects ``cb``."""


@dataclass(frozen=True)
class GoDuration:
    """Marks a ``timedelta`` as Go time.Duration: int64 nanoseconds on the wire."""


@dataclass(frozen=True)
class GoTypeName:
    """Overrides the Go type name used in protocol error texts (``expecting <GoType>``)."""

    name: str


@dataclass(frozen=True)
class GoName:
    """Field marker: the Go field name (map key on the wire), e.g.
    ``name: Annotated[str, GoName("Name")] = ""``; works for dataclasses and pydantic."""

    name: str


@dataclass(frozen=True)
class OmitEmpty:
    """Field marker: ``msgpack:",omitempty"``; the field is left out when it is the zero value."""


@dataclass(frozen=True)
class Embed:
    """Field marker: a Go embedded (anonymous) struct; its fields are inlined into the parent
    map, unless one of them clashes with a parent field, then it travels as a nested map."""


I8 = Annotated[int, GoInt("int8")]
I16 = Annotated[int, GoInt("int16")]
I32 = Annotated[int, GoInt("int32")]
I64 = Annotated[int, GoInt("int64")]
U8 = Annotated[int, GoInt("uint8")]
U16 = Annotated[int, GoInt("uint16")]
U32 = Annotated[int, GoInt("uint32")]
U64 = Annotated[int, GoInt("uint64")]
Uint = Annotated[int, GoInt("uint")]
F32 = Annotated[float, GoFloat32()]
Duration = Annotated[timedelta, GoDuration()]
"""time.Duration: int64 nanoseconds on the wire (Python keeps microseconds)."""
GoError = str | None
"""A Go ``error`` stored in a struct: its text, or nil."""


def go_field(
    name: str | None = None,
    *,
    omitempty: bool = False,
    default: Any = dataclasses.MISSING,
    default_factory: Any = dataclasses.MISSING,
) -> Any:
    """A dataclass field with an explicit Go field name (and ``omitempty``).

    >>> @dataclass
    ... class Volume:
    ...     name: str = go_field("Name", default="")
    """
    metadata: dict[str, Any] = {}
    if name is not None:
        metadata["go"] = name
    if omitempty:
        metadata["omitempty"] = True
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)
