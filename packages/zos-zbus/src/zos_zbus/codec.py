"""Schema-driven msgpack codec with vmihailenco/msgpack v4.0.4 semantics.

The wire form depends on the Go type, not on the Python value (int64 vs float64, bytes vs
str, time), so every value is encoded and decoded from its *declared* type. The encoder writes
bytes itself, like Go: non-compact ints (``d3`` for int), ``cb`` for float64, struct fields in
declaration order keyed by Go name. The decoder uses the C msgpack reader and then converts
leniently like Go: nil gives the zero value, unknown keys are skipped, missing keys are zero,
a struct also decodes from an array, str and bin are interchangeable.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import struct
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import msgpack  # type: ignore[import-untyped]

from .errors import CodecError, InterfaceError
from .gotypes import Embed, GoDuration, GoFloat32, GoInt, GoName, GoTypeName, OmitEmpty

T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GO_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)
"""Go's zero ``time.Time`` (January 1, year 1, UTC)."""

_pack_b = struct.Struct(">b").pack
_pack_h = struct.Struct(">h").pack
_pack_i = struct.Struct(">i").pack
_pack_q = struct.Struct(">q").pack
_pack_B = struct.Struct(">B").pack
_pack_H = struct.Struct(">H").pack
_pack_I = struct.Struct(">I").pack
_pack_Q = struct.Struct(">Q").pack
_pack_f = struct.Struct(">f").pack
_pack_d = struct.Struct(">d").pack


# -- raw writers (Go v4 header choices) ---------------------------------------------------


def write_nil(out: bytearray) -> None:
    out.append(0xC0)


def write_str_header(out: bytearray, n: int) -> None:
    if n < 32:
        out.append(0xA0 | n)
    elif n < 256:
        out += b"\xd9" + _pack_B(n)
    elif n < 65536:
        out += b"\xda" + _pack_H(n)
    else:
        out += b"\xdb" + _pack_I(n)


def write_str(out: bytearray, s: str) -> None:
    data = s.encode("utf-8", "surrogateescape")
    write_str_header(out, len(data))
    out += data


def write_bin(out: bytearray, data: bytes | bytearray | memoryview) -> None:
    n = len(data)
    if n < 256:
        out += b"\xc4" + _pack_B(n)
    elif n < 65536:
        out += b"\xc5" + _pack_H(n)
    else:
        out += b"\xc6" + _pack_I(n)
    out += data


def write_array_header(out: bytearray, n: int) -> None:
    if n < 16:
        out.append(0x90 | n)
    elif n < 65536:
        out += b"\xdc" + _pack_H(n)
    else:
        out += b"\xdd" + _pack_I(n)


def write_map_header(out: bytearray, n: int) -> None:
    if n < 16:
        out.append(0x80 | n)
    elif n < 65536:
        out += b"\xde" + _pack_H(n)
    else:
        out += b"\xdf" + _pack_I(n)


def write_time(out: bytearray, value: datetime) -> None:
    """msgpack timestamp extension (type -1) in the smallest of its 4/8/12-byte forms."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - _EPOCH
    secs = delta.days * 86400 + delta.seconds
    nsec = delta.microseconds * 1000
    if secs >> 34 == 0:
        data = (nsec << 34) | secs
        if data & 0xFFFFFFFF00000000 == 0:
            out += b"\xd6\xff" + _pack_I(data)
        else:
            out += b"\xd7\xff" + _pack_Q(data)
    else:
        out += b"\xc7\x0c\xff" + _pack_I(nsec) + _pack_q(secs)


# -- codecs ---------------------------------------------------------------------------------


class Codec:
    """Encoder/decoder of one declared Go type."""

    go_name: str = "interface {}"

    def encode(self, value: Any, out: bytearray) -> None:
        raise NotImplementedError

    def decode(self, obj: Any) -> Any:
        """Convert what the msgpack reader produced into the Python value."""
        raise NotImplementedError

    def zero(self) -> Any:
        """Go's zero value of the type, as a Python value."""
        raise NotImplementedError

    def encode_zero(self, out: bytearray) -> None:
        """Go's zero value as Go encodes it (nil for slices, maps, pointers)."""
        self.encode(self.zero(), out)

    def is_zero(self, value: Any) -> bool:
        return bool(value == self.zero())

    def _bad(self, obj: Any) -> CodecError:
        return CodecError(f"expecting {self.go_name}, got {_describe(obj)}")


def _describe(obj: Any) -> str:
    if obj is None:
        return "nil"
    if isinstance(obj, msgpack.Timestamp):
        return "time"
    text = repr(obj)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(obj).__name__} {text}"


_INT_KINDS: dict[str, tuple[int, int, bytes, Callable[[int], bytes]]] = {
    "int8": (-(1 << 7), (1 << 7) - 1, b"\xd0", _pack_b),
    "int16": (-(1 << 15), (1 << 15) - 1, b"\xd1", _pack_h),
    "int32": (-(1 << 31), (1 << 31) - 1, b"\xd2", _pack_i),
    "int64": (-(1 << 63), (1 << 63) - 1, b"\xd3", _pack_q),
    "int": (-(1 << 63), (1 << 63) - 1, b"\xd3", _pack_q),
    "uint8": (0, (1 << 8) - 1, b"\xcc", _pack_B),
    "uint16": (0, (1 << 16) - 1, b"\xcd", _pack_H),
    "uint32": (0, (1 << 32) - 1, b"\xce", _pack_I),
    "uint64": (0, (1 << 64) - 1, b"\xcf", _pack_Q),
    "uint": (0, (1 << 64) - 1, b"\xcf", _pack_Q),
}


class IntCodec(Codec):
    def __init__(self, kind: str) -> None:
        if kind not in _INT_KINDS:
            raise InterfaceError(f"unknown Go integer type {kind!r}")
        self.go_name = kind
        self.lo, self.hi, self.code, self.pack = _INT_KINDS[kind]

    def encode(self, value: Any, out: bytearray) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(value)
        if not self.lo <= value <= self.hi:
            raise CodecError(f"{value} is out of range for {self.go_name}")
        out += self.code + self.pack(value)

    def decode(self, obj: Any) -> Any:
        if obj is None:
            return 0
        if isinstance(obj, bool):
            raise self._bad(obj)
        if isinstance(obj, float):
            # Go's decoder converts a float into an int by truncation.
            if obj != obj or obj in (float("inf"), float("-inf")):
                raise self._bad(obj)
            obj = int(obj)
        if not isinstance(obj, int):
            raise self._bad(obj)
        if not self.lo <= obj <= self.hi:
            raise CodecError(f"{obj} is out of range for {self.go_name}")
        return obj

    def zero(self) -> Any:
        return 0


class FloatCodec(Codec):
    def __init__(self, bits: int) -> None:
        self.bits = bits
        self.go_name = f"float{bits}"

    def encode(self, value: Any, out: bytearray) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._bad(value)
        if self.bits == 32:
            out += b"\xca" + _pack_f(float(value))
        else:
            out += b"\xcb" + _pack_d(float(value))

    def decode(self, obj: Any) -> Any:
        if obj is None:
            return 0.0
        if isinstance(obj, bool) or not isinstance(obj, int | float):
            raise self._bad(obj)
        return float(obj)

    def zero(self) -> Any:
        return 0.0


class BoolCodec(Codec):
    go_name = "bool"

    def encode(self, value: Any, out: bytearray) -> None:
        if not isinstance(value, bool):
            raise self._bad(value)
        out.append(0xC3 if value else 0xC2)

    def decode(self, obj: Any) -> Any:
        if obj is None:
            return False
        if not isinstance(obj, bool):
            raise self._bad(obj)
        return obj

    def zero(self) -> Any:
        return False


class StrCodec(Codec):
    go_name = "string"

    def encode(self, value: Any, out: bytearray) -> None:
        if not isinstance(value, str):
            raise self._bad(value)
        write_str(out, value)

    def decode(self, obj: Any) -> Any:
        if obj is None:
            return ""
        if isinstance(obj, str):
            return obj
        if isinstance(obj, bytes):
            return obj.decode("utf-8", "surrogateescape")
        raise self._bad(obj)

    def zero(self) -> Any:
        return ""


class BytesCodec(Codec):
    go_name = "[]uint8"

    def encode(self, value: Any, out: bytearray) -> None:
        if isinstance(value, bytes | bytearray | memoryview):
            write_bin(out, value)
        elif value is None:
            write_nil(out)
        else:
            raise self._bad(value)

    def decode(self, obj: Any) -> Any:
        if obj is None:
            return b""
        if isinstance(obj, bytes):
            return obj
        if isinstance(obj, str):
            return obj.encode("utf-8", "surrogateescape")
        raise self._bad(obj)

    def zero(self) -> Any:
        return b""

    def encode_zero(self, out: bytearray) -> None:
        write_nil(out)


class TimeCodec(Codec):
    go_name = "time.Time"

    def encode(self, value: Any, out: bytearray) -> None:
        if not isinstance(value, datetime):
            raise self._bad(value)
        write_time(out, value)

    def decode(self, obj: Any) -> Any:
        if obj is None:
            return GO_ZERO_TIME
        if isinstance(obj, msgpack.Timestamp):
            micros = obj.nanoseconds // 1000
            try:
                return _EPOCH + timedelta(seconds=obj.seconds, microseconds=micros)
            except OverflowError:
                raise CodecError(f"time {obj.seconds}s since 1970 is out of range") from None
        raise self._bad(obj)

    def zero(self) -> Any:
        return GO_ZERO_TIME


class DurationCodec(Codec):
    go_name = "time.Duration"

    def encode(self, value: Any, out: bytearray) -> None:
        if isinstance(value, timedelta):
            ns = (value.days * 86400 + value.seconds) * 1_000_000_000 + value.microseconds * 1000
        elif isinstance(value, int) and not isinstance(value, bool):
            ns = value  # already nanoseconds
        else:
            raise self._bad(value)
        if not -(1 << 63) <= ns < (1 << 63):
            raise CodecError(f"{value} is out of range for time.Duration")
        out += b"\xd3" + _pack_q(ns)

    def decode(self, obj: Any) -> Any:
        if obj is None:
            return timedelta(0)
        if isinstance(obj, bool) or not isinstance(obj, int | float):
            raise self._bad(obj)
        if isinstance(obj, float) and not -(2.0**63) <= obj < 2.0**63:  # also NaN
            raise self._bad(obj)
        if not -(1 << 63) <= int(obj) < (1 << 63):
            raise CodecError(f"{obj} is out of range for time.Duration")
        return timedelta(microseconds=int(obj) // 1000)

    def zero(self) -> Any:
        return timedelta(0)


class AnyCodec(Codec):
    """``interface{}``: whatever msgpack gives, encoded with plain msgpack rules."""

    go_name = "interface {}"

    def encode(self, value: Any, out: bytearray) -> None:
        try:
            out += msgpack.packb(value, use_bin_type=True, datetime=True)
        except (TypeError, ValueError) as exc:
            raise CodecError(f"cannot encode {_describe(value)}: {exc}") from None

    def decode(self, obj: Any) -> Any:
        return obj

    def zero(self) -> Any:
        return None


class OptionalCodec(Codec):
    def __init__(self, inner: Codec) -> None:
        self.inner = inner
        self.go_name = "*" + inner.go_name

    def encode(self, value: Any, out: bytearray) -> None:
        if value is None:
            write_nil(out)
        else:
            self.inner.encode(value, out)

    def decode(self, obj: Any) -> Any:
        return None if obj is None else self.inner.decode(obj)

    def zero(self) -> Any:
        return None


class ListCodec(Codec):
    def __init__(self, inner: Codec) -> None:
        self.inner = inner
        self.go_name = "[]" + inner.go_name

    def encode(self, value: Any, out: bytearray) -> None:
        if value is None:
            write_nil(out)
            return
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
            raise self._bad(value)
        write_array_header(out, len(value))
        for i, item in enumerate(value):
            try:
                self.inner.encode(item, out)
            except CodecError as exc:
                raise CodecError(f"[{i}]: {exc}") from None

    def decode(self, obj: Any) -> Any:
        if obj is None:
            return []
        if not isinstance(obj, list | tuple):
            raise self._bad(obj)
        result = []
        for i, item in enumerate(obj):
            try:
                result.append(self.inner.decode(item))
            except CodecError as exc:
                raise CodecError(f"[{i}]: {exc}") from None
        return result

    def zero(self) -> Any:
        return []

    def encode_zero(self, out: bytearray) -> None:
        write_nil(out)


class DictCodec(Codec):
    def __init__(self, key: Codec, value: Codec) -> None:
        self.key = key
        self.value = value
        self.go_name = f"map[{key.go_name}]{value.go_name}"

    def encode(self, value: Any, out: bytearray) -> None:
        if value is None:
            write_nil(out)
            return
        if not isinstance(value, Mapping):
            raise self._bad(value)
        write_map_header(out, len(value))
        for k, v in value.items():
            self.key.encode(k, out)
            try:
                self.value.encode(v, out)
            except CodecError as exc:
                raise CodecError(f"[{k!r}]: {exc}") from None

    def decode(self, obj: Any) -> Any:
        if obj is None:
            return {}
        if not isinstance(obj, dict):
            raise self._bad(obj)
        result = {}
        for k, v in obj.items():
            try:
                result[self.key.decode(k)] = self.value.decode(v)
            except CodecError as exc:
                raise CodecError(f"[{k!r}]: {exc}") from None
        return result

    def zero(self) -> Any:
        return {}

    def encode_zero(self, out: bytearray) -> None:
        write_nil(out)


class EnumCodec(Codec):
    """A Go named type over a string or an integer, e.g. ``type DeviceType string``."""

    def __init__(self, cls: type[enum.Enum], inner: Codec) -> None:
        self.cls = cls
        self.inner = inner
        self.go_name = getattr(cls, "__go_type__", inner.go_name)

    def encode(self, value: Any, out: bytearray) -> None:
        self.inner.encode(value.value if isinstance(value, enum.Enum) else value, out)

    def decode(self, obj: Any) -> Any:
        raw = self.inner.decode(obj)
        try:
            return self.cls(raw)
        except ValueError:
            # Go accepts any value of the underlying type (a newer peer may know more
            # members, and the zero value need not be a member): keep the raw value.
            return raw

    def zero(self) -> Any:
        raw = self.inner.zero()
        try:
            return self.cls(raw)
        except ValueError:
            return raw

    def encode_zero(self, out: bytearray) -> None:
        self.inner.encode_zero(out)


@dataclasses.dataclass
class _Field:
    key: str  # Go name on the wire
    attr: str  # Python attribute
    codec: Codec
    omitempty: bool


@dataclasses.dataclass
class _Inline:
    attr: str
    codec: StructCodec


class StructCodec(Codec):
    """A Go struct from a dataclass or a pydantic model (built lazily: models may recurse)."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.go_name = getattr(cls, "__go_type__", cls.__name__)
        self._members: list[_Field | _Inline] | None = None
        self._is_pydantic = _is_pydantic_model(cls)

    # structure ----------------------------------------------------------------------------

    @property
    def members(self) -> list[_Field | _Inline]:
        if self._members is None:
            self._members = self._build()
        return self._members

    def _declared(self) -> list[tuple[str, str, Any, bool]]:
        """(python attr, Go name, annotation, omitempty) in declaration order."""
        try:
            hints = typing.get_type_hints(self.cls, include_extras=True)
        except Exception as exc:
            raise InterfaceError(f"cannot resolve the annotations of {self.cls!r}: {exc}") from exc
        result: list[tuple[str, str, Any, bool]] = []
        if self._is_pydantic:
            model: Any = self.cls
            for name, info in model.model_fields.items():
                result.append((name, info.alias or name, hints.get(name, info.annotation), False))
        elif dataclasses.is_dataclass(self.cls):
            for f in dataclasses.fields(self.cls):
                go = f.metadata.get("go", f.name)
                omit = bool(f.metadata.get("omitempty"))
                result.append((f.name, go, hints.get(f.name, f.type), omit))
        else:
            raise InterfaceError(f"{self.cls!r} is neither a dataclass nor a pydantic model")
        return result

    def _build(self) -> list[_Field | _Inline]:
        plain: list[tuple[str, str, Any, bool, bool]] = []
        for attr, go, annotation, omitempty in self._declared():
            markers = _markers(annotation)
            omit = omitempty or any(isinstance(m, OmitEmpty) for m in markers)
            go = next((m.name for m in markers if isinstance(m, GoName)), go)
            embed = any(isinstance(m, Embed) for m in markers)
            plain.append((attr, go, annotation, omit, embed))
        own = {go for _, go, _, _, embed in plain if not embed}
        members: list[_Field | _Inline] = []
        taken = set(own)
        for attr, go, annotation, omit, embed in plain:
            codec = codec_for(annotation)
            if embed:
                if not isinstance(codec, StructCodec):
                    raise InterfaceError(
                        f"{self.cls.__name__}.{attr}: only a struct can be embedded"
                    )
                keys = set(codec.keys())
                if not keys & taken:
                    taken |= keys
                    members.append(_Inline(attr, codec))
                    continue
            members.append(_Field(go, attr, codec, omit))
        return members

    def keys(self) -> list[str]:
        result: list[str] = []
        for m in self.members:
            if isinstance(m, _Inline):
                result.extend(m.codec.keys())
            else:
                result.append(m.key)
        return result

    # encoding -----------------------------------------------------------------------------

    def _items(self, value: Any) -> list[tuple[_Field, Any]]:
        items: list[tuple[_Field, Any]] = []
        for m in self.members:
            if isinstance(m, _Inline):
                items.extend(m.codec._items(_get(value, m.attr, m.attr)))
            else:
                items.append((m, _get(value, m.attr, m.key)))
        return items

    def encode(self, value: Any, out: bytearray) -> None:
        if value is None:
            # Go: a struct field is never nil; pointers are wrapped in Optional.
            raise self._bad(value)
        if not isinstance(value, self.cls | Mapping):
            raise self._bad(value)
        items = [(f, v) for f, v in self._items(value) if not (f.omitempty and f.codec.is_zero(v))]
        write_map_header(out, len(items))
        for f, v in items:
            write_str(out, f.key)
            try:
                f.codec.encode(v, out)
            except CodecError as exc:
                raise CodecError(f"{self.go_name}.{f.key}: {exc}") from None

    def encode_zero(self, out: bytearray) -> None:
        fields = [f for f, _ in self._items(None) if not f.omitempty]
        write_map_header(out, len(fields))
        for f in fields:
            write_str(out, f.key)
            f.codec.encode_zero(out)

    def is_zero(self, value: Any) -> bool:
        return all(f.codec.is_zero(v) for f, v in self._items(value))

    # decoding -----------------------------------------------------------------------------

    def decode(self, obj: Any) -> Any:
        if obj is None:
            return self.zero()
        if isinstance(obj, list | tuple):
            obj = dict(zip(self.keys(), obj, strict=False))
        if not isinstance(obj, dict):
            raise self._bad(obj)
        return self._from_map(obj)

    def _from_map(self, obj: dict[Any, Any]) -> Any:
        kwargs: dict[str, Any] = {}
        for m in self.members:
            if isinstance(m, _Inline):
                kwargs[m.attr] = m.codec._from_map(obj)
            else:
                raw = obj.get(m.key)
                if raw is None and m.key not in obj:
                    # msgpack may hand keys as bytes when Go sent them as bin
                    raw = obj.get(m.key.encode())
                try:
                    kwargs[m.attr] = m.codec.decode(raw)
                except CodecError as exc:
                    raise CodecError(f"{self.go_name}.{m.key}: {exc}") from None
        return self._construct(kwargs)

    def _construct(self, kwargs: dict[str, Any]) -> Any:
        if self._is_pydantic:
            model: Any = self.cls
            return model.model_construct(**kwargs)
        late = {name: kwargs.pop(name) for name in self._no_init() if name in kwargs}
        value = self.cls(**kwargs)
        for name, v in late.items():  # init=False fields: set after construction
            object.__setattr__(value, name, v)
        return value

    def _no_init(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self.cls) if not f.init]

    def zero(self) -> Any:
        kwargs: dict[str, Any] = {}
        for m in self.members:
            kwargs[m.attr] = m.codec.zero()
        return self._construct(kwargs)


def _is_pydantic_model(cls: Any) -> bool:
    # Only a loaded pydantic can have defined a model: no need to import it (it is slow).
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(cls, type) and issubclass(cls, pydantic.BaseModel)


def _get(value: Any, attr: str, key: str) -> Any:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return value.get(attr, value.get(key))
    return getattr(value, attr)


# -- type resolution ------------------------------------------------------------------------


_SIMPLE: dict[Any, Codec] = {
    bool: BoolCodec(),
    int: IntCodec("int"),
    float: FloatCodec(64),
    str: StrCodec(),
    bytes: BytesCodec(),
    datetime: TimeCodec(),
    timedelta: DurationCodec(),
    Any: AnyCodec(),
    object: AnyCodec(),
}

_cache: dict[Any, Codec] = {}


def _markers(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) is Annotated:
        return tuple(annotation.__metadata__)
    return ()


def codec_for(annotation: Any) -> Codec:
    """The codec of a declared type (cached)."""
    try:
        cached = _cache.get(annotation)
    except TypeError:  # unhashable annotation
        cached = None
    if cached is not None:
        return cached
    codec = _resolve(annotation)
    with contextlib.suppress(TypeError):  # unhashable annotation
        _cache[annotation] = codec
    return codec


def _resolve(tp: Any) -> Codec:
    origin = get_origin(tp)
    if origin is Annotated:
        base = tp.__origin__
        meta = tp.__metadata__
        codec: Codec | None = None
        for m in meta:
            if isinstance(m, GoInt):
                codec = IntCodec(m.name)
            elif isinstance(m, GoFloat32):
                codec = FloatCodec(32)
            elif isinstance(m, GoDuration):
                codec = DurationCodec()
        if codec is None:
            codec = codec_for(base)
        for m in meta:
            if isinstance(m, GoTypeName):
                codec = _Renamed(codec, m.name)
        return codec
    if isinstance(tp, typing.NewType):
        return codec_for(tp.__supertype__)
    if tp in _SIMPLE:
        return _SIMPLE[tp]
    if origin is Literal:
        literals = get_args(tp)
        if all(isinstance(v, str) for v in literals):
            return _SIMPLE[str]
        if all(isinstance(v, int) and not isinstance(v, bool) for v in literals):
            return _SIMPLE[int]
        raise InterfaceError(f"unsupported literal {tp!r}: all values must be str or all int")
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(tp) if a is not type(None)]
        if len(members) == 1 and len(get_args(tp)) == 2:
            return OptionalCodec(codec_for(members[0]))
        raise InterfaceError(f"unsupported union {tp!r}: only X | None maps to Go")
    if origin in (list, Sequence, typing.Sequence, tuple) or tp in (list, tuple):
        args = get_args(tp)
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            raise InterfaceError(f"unsupported fixed tuple {tp!r}: use list[X]")
        return ListCodec(codec_for(args[0] if args else Any))
    if origin in (dict, Mapping, typing.Mapping) or tp is dict:
        args = get_args(tp)
        k, v = args if args else (Any, Any)
        return DictCodec(codec_for(k), codec_for(v))
    if isinstance(tp, type):
        if issubclass(tp, enum.Enum):
            values = [m.value for m in tp]
            inner: Codec = (
                StrCodec() if all(isinstance(v, str) for v in values) else IntCodec("int")
            )
            return EnumCodec(tp, inner)
        if dataclasses.is_dataclass(tp) or _is_pydantic_model(tp):
            struct_codec = StructCodec(tp)
            _cache[tp] = struct_codec  # before resolving fields: models may recurse
            return struct_codec
        for base, c in _SIMPLE.items():
            if isinstance(base, type) and base is not object and issubclass(tp, base):
                return c
    raise InterfaceError(f"unsupported type {tp!r} on the zbus wire")


class _Renamed(Codec):
    def __init__(self, inner: Codec, name: str) -> None:
        self.inner = inner
        self.go_name = name

    def encode(self, value: Any, out: bytearray) -> None:
        self.inner.encode(value, out)

    def decode(self, obj: Any) -> Any:
        return self.inner.decode(obj)

    def zero(self) -> Any:
        return self.inner.zero()

    def encode_zero(self, out: bytearray) -> None:
        self.inner.encode_zero(out)


# -- public helpers -------------------------------------------------------------------------


def unpack(data: bytes) -> Any:
    """Read msgpack bytes into plain Python objects (timestamps stay msgpack.Timestamp)."""
    try:
        return msgpack.unpackb(
            data, raw=False, strict_map_key=False, timestamp=0, unicode_errors="surrogateescape"
        )
    except Exception as exc:
        raise CodecError(f"invalid msgpack: {exc}") from None


def encode(value: Any, tp: Any) -> bytes:
    """msgpack of ``value`` as Go encodes its declared type ``tp``."""
    out = bytearray()
    codec_for(tp).encode(value, out)
    return bytes(out)


def decode(data: bytes, tp: type[T] | Any) -> Any:
    """Decode msgpack ``data`` into the declared type ``tp`` (leniently, like Go).

    Raises CodecError, and only CodecError, when the data does not fit.
    """
    return decode_with(codec_for(tp), data)


def decode_with(codec: Codec, data: bytes) -> Any:
    """Decode ``data`` with ``codec``; any failure is a CodecError."""
    obj = unpack(data)
    try:
        return codec.decode(obj)
    except CodecError:
        raise
    except Exception as exc:  # e.g. a model's own validation
        raise CodecError(f"expecting {codec.go_name}: {exc}") from None


def zero(tp: type[T] | Any) -> Any:
    """Go's zero value of ``tp`` as a Python value."""
    return codec_for(tp).zero()


def encode_zero(tp: Any) -> bytes:
    """Go's zero value of ``tp`` as Go encodes it."""
    out = bytearray()
    codec_for(tp).encode_zero(out)
    return bytes(out)


def go_type_name(tp: Any) -> str:
    """The Go spelling of a declared type, as used in protocol error texts."""
    return codec_for(tp).go_name
