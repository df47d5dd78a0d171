"""The schema-driven codec against Go v4.0.4 wire rules (spec §4, §11)."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import msgpack
import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

import zos_zbus as zbus
from zos_zbus.codec import codec_for, unpack
from zos_zbus.gotypes import Embed, GoName, OmitEmpty


def hexed(value: Any, tp: Any) -> str:
    return zbus.encode(value, tp).hex()


@pytest.mark.parametrize(
    ("tp", "value", "wire"),
    [
        (int, 7, "d30000000000000007"),
        (zbus.I64, -1, "d3ffffffffffffffff"),
        (zbus.I32, 7, "d200000007"),
        (zbus.I16, 7, "d10007"),
        (zbus.I8, -2, "d0fe"),
        (zbus.U8, 200, "ccc8"),
        (zbus.U16, 7, "cd0007"),
        (zbus.U32, 7, "ce00000007"),
        (zbus.U64, 7, "cf0000000000000007"),
        (zbus.Uint, 7, "cf0000000000000007"),
        (float, 7.0, "cb401c000000000000"),
        (float, 3, "cb4008000000000000"),  # a Python int sent to a Go float64
        (zbus.F32, 1.5, "ca3fc00000"),
        (bool, True, "c3"),
        (str, "hi", "a26869"),
        (str, "x" * 40, "d928" + "78" * 40),
        (bytes, b"\x01\x02", "c4020102"),
        (zbus.Duration, timedelta(seconds=1), "d3000000003b9aca00"),
        (timedelta, timedelta(milliseconds=1), "d300000000000f4240"),
        (int | None, None, "c0"),
        (int | None, 1, "d30000000000000001"),
        (list[str], ["a"], "91a161"),
        (dict[str, int], {"a": 1}, "81a161d30000000000000001"),
        (dict[int, bool], {1: True}, "81d30000000000000001c3"),
    ],
)
def test_wire_forms_follow_go(tp: Any, value: Any, wire: str) -> None:
    assert hexed(value, tp) == wire
    back = zbus.decode(bytes.fromhex(wire), tp)
    assert back == value


@pytest.mark.parametrize(
    ("when", "wire"),
    [
        # 4-byte form: seconds only, fits 32 bits
        (datetime(2021, 1, 1, tzinfo=UTC), "d6ff5fee6600"),
        # 8-byte form: nanoseconds present
        (datetime(2021, 1, 1, 0, 0, 0, 500000, tzinfo=UTC), "d7ff77359400" + "5fee6600"),
        # 12-byte form: before 1970 (negative seconds), e.g. Go's zero time
        (zbus.GO_ZERO_TIME, "c70cff00000000fffffff1886e0900"),
    ],
)
def test_time_uses_the_smallest_timestamp_form(when: datetime, wire: str) -> None:
    assert hexed(when, datetime) == wire
    assert zbus.decode(bytes.fromhex(wire), datetime) == when


def test_time_decodes_what_msgpack_python_writes() -> None:
    when = datetime(2300, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)  # beyond 34 bits: 12-byte form
    data = msgpack.packb(msgpack.Timestamp.from_datetime(when))
    assert zbus.decode(data, datetime) == when
    assert zbus.encode(when, datetime) == data


def test_float32_is_ca_never_cb() -> None:
    assert zbus.encode(0.1, zbus.F32)[0] == 0xCA
    assert zbus.encode(0.1, float)[0] == 0xCB
    assert zbus.encode_zero(zbus.F32) == b"\xca\x00\x00\x00\x00"


@dataclass
class Inner:
    IP: bytes = b""
    Mask: bytes = b""


@dataclass
class Outer:
    Name: str = ""
    Net: Annotated[Inner, Embed()] = field(default_factory=Inner)
    Size: zbus.U64 = 0


@dataclass
class Clashing:
    IP: str = ""
    Net: Annotated[Inner, Embed()] = field(default_factory=Inner)


def test_embedded_struct_is_inlined_in_go_order() -> None:
    value = Outer("n", Inner(b"\x0a\x00\x00\x01", b"\xff\xff\xff\x00"), 3)
    data = zbus.encode(value, Outer)
    assert list(unpack(data)) == ["Name", "IP", "Mask", "Size"]
    assert zbus.decode(data, Outer) == value


def test_embedded_struct_with_a_clash_travels_nested() -> None:
    value = Clashing("x", Inner(b"\x01", b"\x02"))
    assert unpack(zbus.encode(value, Clashing)) == {
        "IP": "x",
        "Net": {"IP": b"\x01", "Mask": b"\x02"},
    }
    assert zbus.decode(zbus.encode(value, Clashing), Clashing) == value


class Base(pydantic.BaseModel):
    user: float = pydantic.Field(default=0.0, alias="User")


class TimesStat(Base):
    cpu: str = pydantic.Field(default="", alias="CPU")
    idle: float = pydantic.Field(default=0.0, alias="Idle")


def test_pydantic_base_class_flattens_like_go_embedding() -> None:
    stat = TimesStat(User=1.0, CPU="cpu0", Idle=2.5)
    data = zbus.encode(stat, TimesStat)
    assert unpack(data) == {"User": 1.0, "CPU": "cpu0", "Idle": 2.5}
    back = zbus.decode(data, TimesStat)
    assert isinstance(back, TimesStat)
    assert (back.user, back.cpu, back.idle) == (1.0, "cpu0", 2.5)


@dataclass
class Volume:
    name: Annotated[str, GoName("Name")] = ""
    size: Annotated[zbus.U64, GoName("Size")] = 0
    tags: Annotated[list[str], GoName("Tags"), OmitEmpty()] = field(default_factory=list)
    err: Annotated[zbus.GoError, GoName("Err")] = None
    created: Annotated[datetime, GoName("Created")] = zbus.GO_ZERO_TIME


def test_go_names_omitempty_and_error_fields() -> None:
    data = zbus.encode(Volume("v", 5), Volume)
    assert list(unpack(data)) == ["Name", "Size", "Err", "Created"]
    assert unpack(data)["Err"] is None
    with_tags = zbus.encode(Volume("v", 5, ["a"], "boom"), Volume)
    assert unpack(with_tags)["Tags"] == ["a"]
    assert unpack(with_tags)["Err"] == "boom"


def test_decoding_is_lenient_like_go() -> None:
    # unknown keys skipped, missing keys zero, nil gives zero, ints accepted for floats
    data = msgpack.packb({"Name": "v", "Bogus": [1, 2], "Size": 9})
    assert zbus.decode(data, Volume) == Volume("v", 9)
    assert zbus.decode(b"\xc0", Volume) == Volume()
    assert zbus.decode(msgpack.packb(3), float) == 3.0
    # str and bin are interchangeable
    assert zbus.decode(msgpack.packb(b"abc", use_bin_type=True), str) == "abc"
    assert zbus.decode(msgpack.packb("abc"), bytes) == b"abc"
    # a struct also decodes from an array (fields in Go order)
    assert zbus.decode(msgpack.packb(["v", 3]), Volume) == Volume("v", 3)


def test_wrong_types_are_named() -> None:
    with pytest.raises(zbus.CodecError, match="expecting float64, got str"):
        zbus.decode(msgpack.packb("x"), float)
    with pytest.raises(zbus.CodecError, match=r"Volume\.Size: expecting uint64"):
        zbus.decode(msgpack.packb({"Size": "big"}), Volume)
    with pytest.raises(zbus.CodecError, match="out of range for uint32"):
        zbus.encode(-1, zbus.U32)
    with pytest.raises(zbus.CodecError, match="expecting string"):
        zbus.encode(3, str)
    with pytest.raises(zbus.CodecError, match="invalid msgpack"):
        zbus.decode(b"\xd9\x10ab", str)


class DeviceType(enum.StrEnum):
    HDD = "hdd"
    SSD = "ssd"


class State(enum.IntEnum):
    OK = 0
    BAD = 1


@dataclass
class Tree:
    Name: str = ""
    Children: list[Tree] = field(default_factory=list)


@pytest.mark.parametrize(
    ("tp", "zero", "wire"),
    [
        (int, 0, "d30000000000000000"),
        (zbus.U32, 0, "ce00000000"),
        (float, 0.0, "cb0000000000000000"),
        (str, "", "a0"),
        (bool, False, "c2"),
        (bytes, b"", "c0"),
        (list[int], [], "c0"),
        (dict[str, int], {}, "c0"),
        (int | None, None, "c0"),
        (zbus.Duration, timedelta(0), "d30000000000000000"),
        (datetime, zbus.GO_ZERO_TIME, "c70cff00000000fffffff1886e0900"),
        (DeviceType, "", "a0"),
        (State, State.OK, "d30000000000000000"),
        (Inner, Inner(), "82a24950c0a44d61736bc0"),
        (Tree, Tree(), "82a44e616d65a0a84368696c6472656ec0"),
        (Any, None, "c0"),
    ],
)
def test_zero_values_for_every_type(tp: Any, zero: Any, wire: str) -> None:
    assert zbus.zero(tp) == zero
    assert zbus.encode_zero(tp).hex() == wire
    assert zbus.decode(bytes.fromhex(wire), tp) == zero


def test_enums_and_recursive_models_round_trip() -> None:
    assert zbus.decode(zbus.encode(DeviceType.SSD, DeviceType), DeviceType) is DeviceType.SSD
    tree = Tree("a", [Tree("b"), Tree("c", [Tree("d")])])
    assert zbus.decode(zbus.encode(tree, Tree), Tree) == tree
    # like Go, a value outside the known members passes as the underlying type
    assert zbus.decode(zbus.encode("nvme", str), DeviceType) == "nvme"


def test_go_type_names_for_error_texts() -> None:
    assert zbus.go_type_name(float) == "float64"
    assert zbus.go_type_name(list[float]) == "[]float64"
    assert zbus.go_type_name(zbus.Duration) == "time.Duration"
    assert zbus.go_type_name(dict[str, zbus.U8]) == "map[string]uint8"
    assert zbus.go_type_name(Volume | None) == "*Volume"


def test_unsupported_types_are_refused_at_definition() -> None:
    with pytest.raises(zbus.InterfaceError, match="unsupported union"):
        codec_for(int | str)
    with pytest.raises(zbus.InterfaceError, match="unsupported type"):
        codec_for(complex)


@dataclasses.dataclass
class Sample:
    a: zbus.I32 = 0
    b: float = 0.0
    c: str = ""
    d: bytes = b""
    e: list[zbus.U16] = dataclasses.field(default_factory=list)
    f: dict[str, bool] = dataclasses.field(default_factory=dict)
    g: int | None = None
    h: datetime = zbus.GO_ZERO_TIME


_times = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)

_samples = st.builds(
    Sample,
    a=st.integers(-(2**31), 2**31 - 1),
    b=st.floats(allow_nan=False),
    c=st.text(),
    d=st.binary(),
    e=st.lists(st.integers(0, 2**16 - 1)),
    f=st.dictionaries(st.text(), st.booleans()),
    g=st.none() | st.integers(-(2**63), 2**63 - 1),
    h=_times,
)


@given(_samples)
def test_round_trip_of_models(sample: Sample) -> None:
    data = zbus.encode(sample, Sample)
    assert zbus.decode(data, Sample) == sample
    # any msgpack reader reads what we write
    assert msgpack.unpackb(data, raw=False, strict_map_key=False, timestamp=3)["c"] == sample.c


@given(st.binary(max_size=64))
def test_garbage_never_escapes_as_anything_but_codec_error(data: bytes) -> None:
    for tp in (Sample, float, list[str], dict[int, Volume], datetime):
        with contextlib.suppress(zbus.CodecError):
            zbus.decode(data, tp)


@dataclass
class WithLate:
    Name: str = ""
    Kind: Literal["a", "b"] = "a"
    Cached: int = field(default=0, init=False)


def test_literals_and_init_false_fields() -> None:
    value = WithLate("x", "b")
    value.Cached = 5
    back = zbus.decode(zbus.encode(value, WithLate), WithLate)
    assert (back.Name, back.Kind, back.Cached) == ("x", "b", 5)
    assert zbus.zero(WithLate).Cached == 0
