"""Bad input never stops a server nor crashes a client (spec §9, issue: hardening)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import msgpack
import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zos_zbus as zbus
from zos_zbus.broker import Broker
from zos_zbus.client import _decode_returns
from zos_zbus.conformance import ADD_REQUEST, golden
from zos_zbus.examples import server as example_server
from zos_zbus.examples.api import Calculator, Utils
from zos_zbus.interface import spec_of
from zos_zbus.protocol import ObjectID, Request, parse_response
from zos_zbus.server import Server, _Worker

UUID = "11111111-2222-4333-8444-555555555555"
GOOD = golden(ADD_REQUEST, UUID)

msgpack_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.integers(-(2**63), 2**63 - 1), inner, max_size=4)
    ),
    max_leaves=12,
)


def request_like() -> st.SearchStrategy[bytes]:
    """Requests with fields of any shape (right names, wrong types)."""
    fields = st.fixed_dictionaries(
        {},
        optional={
            "ID": msgpack_values,
            "Inputs": msgpack_values
            | st.lists(st.binary(max_size=12) | msgpack_values, max_size=3),
            "Object": msgpack_values
            | st.fixed_dictionaries(
                {"Name": st.sampled_from(["calculator", "utils", "x"]), "Version": st.just("1.0")}
            ),
            "ReplyTo": st.just(UUID) | msgpack_values,
            "Method": st.sampled_from(["Add", "Avg", "Sleep", "Panic", "TikTok"]) | msgpack_values,
        },
    )
    return fields.map(lambda d: msgpack.packb(d, use_bin_type=True))


def mutated() -> st.SearchStrategy[bytes]:
    """The golden request truncated or with bytes overwritten."""
    truncated = st.integers(0, len(GOOD) - 1).map(lambda n: GOOD[:n])

    def flip(args: tuple[int, int]) -> bytes:
        i, b = args
        return GOOD[:i] + bytes([b]) + GOOD[i + 1 :]

    flipped = st.tuples(st.integers(0, len(GOOD) - 1), st.integers(0, 255)).map(flip)
    return truncated | flipped


def example_server_object() -> Server:
    return example_server.build("unix:///nonexistent.sock")


SERVER = example_server_object()


async def handle(raw: bytes) -> tuple[str, zbus.Response] | None:
    result = await SERVER._handle(raw, _Worker(0))
    if result is not None:
        result[1].encode()  # every reply encodes
    return result


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=200) | request_like() | mutated())
def test_server_handles_any_payload(raw: bytes) -> None:
    result = asyncio.run(handle(raw))
    if result is not None:
        reply_to, response = result
        assert isinstance(reply_to, str)
        assert response.protocol_error is None or isinstance(response.protocol_error, str)


async def test_truncated_request_with_readable_reply_to_gets_a_protocol_error() -> None:
    cut = GOOD[: GOOD.index(b"Method") + 3]  # ReplyTo read, Method cut short
    result = await handle(cut)
    assert result is not None
    reply_to, response = result
    assert reply_to == UUID
    assert response.protocol_error is not None
    assert response.protocol_error.startswith("invalid request: request is not valid msgpack")


async def test_garbage_without_reply_to_is_dropped() -> None:
    assert await handle(b"\x00garbage") is None
    assert await handle(GOOD[:10]) is None


@given(st.binary(max_size=100) | msgpack_values.map(msgpack.packb))
def test_client_reply_parsing_raises_only_value_errors(raw: bytes) -> None:
    with contextlib.suppress(ValueError):
        parse_response(raw)


@given(st.binary(max_size=60) | msgpack_values.map(msgpack.packb))
def test_client_return_decoding_raises_only_codec_errors(raw: bytes) -> None:
    for iface in (Calculator, Utils):
        for m in spec_of(iface).resolve().methods.values():
            if m.is_stream:
                continue
            with contextlib.suppress(zbus.CodecError):
                _decode_returns(m, raw)


@zbus.interface(module="broken", object="broken", version="0.0.1")
class Broken:
    @zbus.method("Number")
    async def number(self) -> float:
        raise NotImplementedError

    @zbus.method("Pair")
    async def pair(self) -> tuple[int, str]:
        raise NotImplementedError

    @zbus.method("Blocking")
    def blocking(self, x: int) -> int:
        raise NotImplementedError

    @zbus.method("Lookup", raises=KeyError)
    async def lookup(self, key: str) -> int:
        raise NotImplementedError


class BrokenImpl(Broken):
    async def number(self) -> float:
        return "not a number"  # type: ignore[return-value]

    async def pair(self) -> tuple[int, str]:
        return (1,)  # type: ignore[return-value]

    def blocking(self, x: int) -> int:  # a plain function: runs in a thread
        return x * 2

    async def lookup(self, key: str) -> int:
        if key == "remote":
            raise zbus.RemoteCallError("from another module")
        raise KeyError(key)


@pytest.fixture
async def raw(zbus_broker: str) -> AsyncIterator[aioredis.Redis]:
    r = Broker.parse(zbus_broker).redis()
    yield r
    await r.aclose()


@pytest.mark.real
async def test_bad_requests_on_the_queue_never_stop_the_server(
    zbus_broker: str, raw: aioredis.Redis
) -> None:
    server = example_server.build(zbus_broker)
    task = asyncio.create_task(server.run())
    try:
        bad: list[bytes] = [
            b"",
            b"\xc1",
            b"garbage bytes",
            GOOD[:20],
            GOOD[: GOOD.index(b"Method") + 3],
            msgpack.packb([1, 2, 3]),
            msgpack.packb({"ID": UUID, "ReplyTo": UUID, "Object": "calc", "Method": 7}),
            msgpack.packb(
                {
                    "ID": UUID,
                    "ReplyTo": UUID,
                    "Object": {"Name": "calculator", "Version": "1.0"},
                    "Method": "Add",
                    "Inputs": "x",
                }
            ),
            msgpack.packb(
                {
                    "ID": UUID,
                    "ReplyTo": UUID,
                    "Object": {"Name": "calculator", "Version": "1.0"},
                    "Method": "Add",
                    "Inputs": [1, 2],
                }
            ),
        ]
        for payload in bad:
            await raw.rpush("server.calculator@1.0", payload)
        async with zbus.Client(zbus_broker, timeout=5) as bus:
            assert await bus.stub(Calculator).add(1.0, 2.0) == 3.0
            replies = await raw.lrange(UUID, 0, -1)
            texts = [parse_response(r).protocol_error for r in replies]
            assert texts == [
                "invalid request: request is not valid msgpack: " + texts[0].split(": ", 2)[2],
                "invalid request: Object is not a map",
                "invalid request: Inputs is not an array",
                "invalid argument type [0] expecting float64 got",
            ]
        assert not task.done()
    finally:
        server.stop()
        await task


@pytest.mark.real
async def test_unencodable_returns_become_protocol_errors(zbus_broker: str) -> None:
    server = zbus.Server("broken", zbus_broker)
    server.register(BrokenImpl())
    task = asyncio.create_task(server.run())
    try:
        async with zbus.Client(zbus_broker, timeout=5) as bus:
            broken = bus.stub(Broken)
            with pytest.raises(
                zbus.ProtocolError, match=r"Number\(\) returned an unencodable value"
            ):
                await broken.number()
            with pytest.raises(zbus.ProtocolError, match="expecting a tuple of 2 values"):
                await broken.pair()
            assert await broken.blocking(21) == 42
            with pytest.raises(zbus.RemoteCallError, match="'nope'"):
                await broken.lookup("nope")
            with pytest.raises(zbus.RemoteCallError, match="from another module"):
                await broken.lookup("remote")
    finally:
        server.stop()
        await task


def test_request_round_trip_any_inputs() -> None:
    @given(
        st.lists(st.binary(max_size=300), max_size=20), st.text(max_size=40), st.text(max_size=40)
    )
    def check(inputs: list[bytes], name: str, method: str) -> None:
        request = Request(ObjectID(name, "1.0"), method, inputs)
        parsed = zbus.protocol.parse_request(request.encode())
        assert (parsed.inputs, parsed.object, parsed.method, parsed.reply_to) == (
            inputs,
            request.object,
            method,
            request.id,
        )

    check()
