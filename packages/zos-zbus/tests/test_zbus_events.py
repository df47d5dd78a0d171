"""The node event bus over redis streams (spec §14)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import msgpack
import pytest
import redis.asyncio as aioredis

import zos_zbus as zbus
from zos_zbus.broker import Broker
from zos_zbus.events import (
    CONTRACT_CANCELLED,
    CONTRACT_LOCK,
    ContractCancelledEvent,
    ContractLockEvent,
    EventConsumer,
    EventProducer,
)

pytestmark = pytest.mark.real


@pytest.fixture
async def raw(zbus_broker: str) -> AsyncIterator[aioredis.Redis]:
    r = Broker.parse(zbus_broker).redis()
    yield r
    await r.aclose()


async def test_events_are_msgpack_maps_with_go_names(zbus_broker: str, raw: aioredis.Redis) -> None:
    producer = EventProducer(raw)
    await producer.publish(CONTRACT_LOCK, ContractLockEvent(contract=9, twin_id=2, lock=True))
    [(_, fields)] = await raw.xrange("stream:contract-lock")
    body = fields[b"body"]
    assert msgpack.unpackb(body) == {"Contract": 9, "TwinId": 2, "Lock": True}
    assert body == zbus.encode(ContractLockEvent(9, 2, True), ContractLockEvent)
    assert body[:19] == b"\x83\xa8Contract\xcf" + (9).to_bytes(8, "big")  # uint64: cf + 8 bytes


async def test_consumer_group_reads_acks_and_rereads_pending(
    zbus_broker: str, raw: aioredis.Redis
) -> None:
    producer = EventProducer(zbus_broker)
    for contract in (1, 2, 3):
        await producer.publish(CONTRACT_CANCELLED, ContractCancelledEvent(contract, twin_id=7))
    await producer.close()

    consumer = EventConsumer(zbus_broker, CONTRACT_CANCELLED, "provision", block_ms=100)
    first = await consumer.read()
    assert [d.event for d in first] == [ContractCancelledEvent(1, 7)]
    await first[0].ack()
    second = await consumer.read()
    assert [d.event.contract for d in second] == [2]  # delivered, never acked
    await consumer.close()

    groups = await raw.xinfo_groups("stream:contract-cancelled")
    assert [g["name"] for g in groups] == [b"group:stream:contract-cancelled:provision"]

    # a restarted consumer first re-reads its pending entry, then the new ones
    again = EventConsumer(zbus_broker, CONTRACT_CANCELLED, "provision", block_ms=100)
    seen: list[int] = []

    async def handler(event: ContractCancelledEvent) -> None:
        seen.append(event.contract)

    task = asyncio.create_task(again.consume(handler))
    try:
        for _ in range(50):
            if len(seen) >= 2:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await again.close()
    assert seen == [2, 3]
    pending = await raw.xpending(
        "stream:contract-cancelled", "group:stream:contract-cancelled:provision"
    )
    assert pending["pending"] == 0


async def test_failed_handler_retries_and_bad_bodies_are_skipped(
    zbus_broker: str, raw: aioredis.Redis
) -> None:
    await raw.xadd("stream:contract-cancelled", {b"body": b"\xc1garbage"})
    await raw.xadd("stream:contract-cancelled", {b"nobody": b"x"})
    producer = EventProducer(raw)
    await producer.publish(CONTRACT_CANCELLED, ContractCancelledEvent(5, 1))
    consumer = EventConsumer(raw, CONTRACT_CANCELLED, "node", block_ms=100, retry_delay=0.05)
    attempts: list[int] = []

    async def flaky(event: ContractCancelledEvent) -> None:
        attempts.append(event.contract)
        if len(attempts) == 1:
            raise RuntimeError("transient")

    task = asyncio.create_task(consumer.consume(flaky))
    try:
        for _ in range(50):
            if len(attempts) >= 2:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert attempts == [5, 5]
    pending = await raw.xpending("stream:contract-cancelled", CONTRACT_CANCELLED.group("node"))
    assert pending["pending"] == 0


async def test_streams_are_capped(raw: aioredis.Redis) -> None:
    producer = EventProducer(raw)
    for i in range(3000):
        await producer.publish(CONTRACT_CANCELLED, ContractCancelledEvent(i, 0))
    assert await raw.xlen("stream:contract-cancelled") < 3000
