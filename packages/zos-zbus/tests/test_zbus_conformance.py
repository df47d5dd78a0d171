"""Our example server answers byte for byte like upstream's Go example server (spec §3, §12)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from zos_zbus.broker import Broker
from zos_zbus.conformance import ADD_REQUEST, EXAMPLE_CASES, UUID, golden, reply, request, response
from zos_zbus.examples import server as example_server

pytestmark = pytest.mark.real


@pytest.fixture
async def raw(zbus_broker: str) -> AsyncIterator[aioredis.Redis]:
    server = example_server.build(zbus_broker)
    task = asyncio.create_task(server.run())
    r = Broker.parse(zbus_broker).redis()
    yield r
    await r.aclose()
    server.stop()
    await task


def test_sample_builders_match_the_spec() -> None:
    assert request("calculator", "Add", ["cb4008000000000000", "cb4010000000000000"]) == golden(
        ADD_REQUEST
    )
    assert reply("cb401c000000000000", None, None) == response("add")
    assert reply("cb0000000000000000", "division by zero", None) == response("divide_by_zero")
    assert reply(None, None, "unknown object") == response("unknown_object")


@pytest.mark.parametrize(
    ("obj", "method", "inputs", "data", "error", "protocol_error"),
    EXAMPLE_CASES,
    ids=[f"{c[1]}-{i}" for i, c in enumerate(EXAMPLE_CASES)],
)
async def test_example_server_replies_byte_for_byte(
    raw: aioredis.Redis,
    obj: str,
    method: str,
    inputs: list[str],
    data: str | None,
    error: str | None,
    protocol_error: str | None,
) -> None:
    queue = "server.calculator@1.0" if obj == "abacus" else f"server.{obj}@1.0"
    await raw.rpush(queue, request(obj, method, inputs))
    item = await raw.blpop([UUID], timeout=5)
    assert item is not None
    assert bytes(item[1]) == reply(data, error, protocol_error)
