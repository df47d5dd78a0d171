"""Property tests: bad input of any shape gives ``ValidationError``, never another exception."""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from zos_gridtypes import (
    IP,
    Deployment,
    IPNet,
    SignatureError,
    ValidationError,
    Workload,
    ZMount,
)

EXAMPLE = json.loads(
    (Path(__file__).resolve().parents[3] / "examples" / "vm-disk-network.json").read_text()
)
# ZOS_FUZZ_EXAMPLES=3000 for a longer hunt than the default run.
SETTINGS = settings(
    max_examples=int(os.environ.get("ZOS_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def exercise(raw: bytes | str) -> None:
    """Everything a node does with a deployment; only the package's errors may escape."""
    try:
        d = Deployment.model_validate_json(raw)
    except ValidationError as e:
        assert str(e)
        return
    for step in (d.valid, d.challenge, d.capacity, d.model_dump_json, d.deployment_id):
        try:
            step()
        except ValidationError as e:
            assert str(e)
    for workload in d.workloads:
        try:
            workload.result_data()
        except ValidationError as e:
            assert str(e)
    try:
        d.verify(lambda twin: b"\x00" * 32)
    except (SignatureError, ValidationError) as e:
        assert str(e)


@SETTINGS
@given(st.binary(max_size=300))
def test_arbitrary_bytes(raw: bytes) -> None:
    exercise(raw)


@SETTINGS
@given(json_values)
def test_arbitrary_json_documents(value: Any) -> None:
    exercise(json.dumps(value))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


PATHS = _paths(EXAMPLE)[1:]


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    doc = copy.deepcopy(doc)
    target = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return doc


@SETTINGS
@given(st.sampled_from(PATHS), json_values)
def test_any_field_replaced_by_any_json(path: tuple[Any, ...], value: Any) -> None:
    exercise(json.dumps(_replace(EXAMPLE, path, value)))


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


# Unsigned fields; timestamps (created, expiration) are signed and also take RFC 3339 text.
INT_PATHS = [
    p for p in PATHS if type(_get(EXAMPLE, p)) is int and p[-1] not in ("created", "expiration")
]


@SETTINGS
@given(
    st.sampled_from(INT_PATHS),
    st.one_of(
        st.integers(max_value=-1),
        st.integers(min_value=2**64),
        st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: f != int(f)),
        st.text(max_size=5),
    ),
)
def test_out_of_range_numbers_name_the_field(path: tuple[Any, ...], value: Any) -> None:
    field = path[-1]
    raw = json.dumps(_replace(EXAMPLE, path, value))
    with pytest.raises(ValidationError) as e:
        d = Deployment.model_validate_json(raw)
        d.valid()
    assert str(field) in str(e.value)


@pytest.mark.parametrize("depth", [10, 900, 1100, 20_000, 500_000])
@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_deep_nesting_is_rejected_quickly(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    nested = opener * depth + "1" + closer * depth
    start = time.monotonic()
    for raw in (nested, '{"workloads":' + nested + "}", '{"unknown":' + nested + "}"):
        exercise(raw)
    data = '{"workloads":[{"name":"d","type":"zmount","data":{"size":1,"x":' + nested + "}}]}"
    exercise(data)
    assert time.monotonic() - start < 20


def test_huge_strings_are_handled() -> None:
    big = "x" * 5_000_000
    doc = _replace(EXAMPLE, ("description",), big)
    start = time.monotonic()
    d = Deployment.model_validate_json(json.dumps(doc))
    d.valid()
    assert len(d.challenge()) > 5_000_000
    bad_name = _replace(EXAMPLE, ("workloads", 0, "name"), big)
    with pytest.raises(ValidationError, match="name cannot exceed 36 characters"):
        Deployment.model_validate_json(json.dumps(bad_name)).valid()
    assert time.monotonic() - start < 20


@SETTINGS
@given(st.text(max_size=40))
def test_ip_and_cidr_parsers_only_raise_value_error(text: str) -> None:
    for parse in (IP.parse, IPNet.parse):
        with contextlib.suppress(ValueError):
            parse(text)


@SETTINGS
@given(st.ip_addresses())
def test_ip_text_matches_go(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    parsed = IP.parse(str(address))
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        assert parsed.challenge_text() == str(address.ipv4_mapped)
    else:
        assert parsed.challenge_text() == address.compressed
    assert IP.parse(address.exploded).challenge_text() == parsed.challenge_text()


@SETTINGS
@given(st.ip_addresses(v=4), st.integers(min_value=0, max_value=32))
def test_cidr_keeps_host(address: ipaddress.IPv4Address, prefix: int) -> None:
    assert IPNet.parse(f"{address}/{prefix}").challenge_text() == f"{address}/{prefix}"


names = st.from_regex(r"[a-zA-Z0-9_]{1,36}", fullmatch=True).filter(lambda n: n != "ygg")


@SETTINGS
@given(
    st.lists(
        st.tuples(names, st.integers(min_value=1, max_value=2**64 - 1)),
        max_size=5,
        unique_by=lambda t: t[0],
    ),
    st.integers(min_value=0, max_value=2**32 - 1),
    st.text(max_size=30),
)
def test_round_trip_keeps_the_hash(
    disks: list[tuple[str, int]], twin: int, description: str
) -> None:
    assume(all(name for name, _ in disks))
    d = Deployment.new(
        twin, [Workload.new(n, ZMount(size=s)) for n, s in disks], description=description
    )
    d.valid()
    again = Deployment.model_validate_json(d.model_dump_json())
    assert again.challenge_hash() == d.challenge_hash()
    assert again.model_dump_json() == d.model_dump_json()
    assert Deployment.model_validate(json.loads(d.model_dump_json())).challenge() == d.challenge()


@SETTINGS
@given(st.dictionaries(st.sampled_from(["size", "name", "x"]), json_values, max_size=3))
def test_keyword_construction_raises_validation_error(kwargs: dict[str, Any]) -> None:
    try:
        ZMount(**kwargs)
    except ValidationError as e:
        assert str(e)
