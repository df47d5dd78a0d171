"""Cancelling blocking bus readers: always prompt, never swallowed, nothing left behind.

Each test cancels at many moments: ``cancel_after(task, n)`` cancels after ``n`` event-loop
iterations, so a sweep over ``n`` lands the cancel during the blocking read, while sending a
command, while a handler runs and while acking (one of those windows, right after redis-py
sent a command, used to swallow the cancel on Python 3.11).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from zos_zbus import Client
from zos_zbus.broker import Broker
from zos_zbus.errors import BusUnavailable
from zos_zbus.events import (
    CONTRACT_CANCELLED,
    ContractCancelledEvent,
    EventConsumer,
    EventProducer,
)
from zos_zbus.examples import server as example_server
from zos_zbus.examples.api import Utils
from zos_zbus.protocol import ObjectID, Request
from zos_zbus.testing import RedisServer

pytestmark = pytest.mark.real

PROMPT = 1.0
"""Seconds a cancelled reader may take to finish."""


def cancel_after(task: asyncio.Task[Any], iterations: int) -> None:
    """Cancel ``task`` after ``iterations`` passes of the event loop."""
    if iterations <= 0:
        task.cancel()
    else:
        asyncio.get_running_loop().call_soon(cancel_after, task, iterations - 1)


async def finishes_cancelled(task: asyncio.Task[Any]) -> None:
    """``task`` ends, promptly, as cancelled (not by returning or looping on)."""
    started = time.monotonic()
    done, _ = await asyncio.wait({task}, timeout=PROMPT)
    assert done, f"cancel not honoured within {PROMPT}s"
    assert task.cancelled(), f"cancel swallowed: {task!r}"
    assert time.monotonic() - started < PROMPT


def leftover_tasks() -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}


@pytest.fixture
async def raw(zbus_broker: str) -> AsyncIterator[aioredis.Redis]:
    r = Broker.parse(zbus_broker).redis()
    yield r
    await r.aclose()


async def test_consume_cancel_at_every_moment(zbus_broker: str, raw: aioredis.Redis) -> None:
    producer = EventProducer(raw)
    consumer = EventConsumer(zbus_broker, CONTRACT_CANCELLED, "cancel", block_ms=2000)
    handled: list[int] = []
    all_handled = asyncio.Event()

    async def handler(event: ContractCancelledEvent) -> None:
        await asyncio.sleep(0)  # a handler that yields once
        handled.append(event.contract)
        if set(handled) == set(range(120)):
            all_handled.set()

    try:
        for n in range(120):
            # an event to handle and ack, then a short blocking read: every kind of await
            await producer.publish(CONTRACT_CANCELLED, ContractCancelledEvent(n, 1))
            task = asyncio.create_task(consumer.consume(handler))
            cancel_after(task, n % 40)
            await finishes_cancelled(task)
        assert leftover_tasks() == set()
        # at-least-once: a new consume() first re-reads what the cancelled ones left unacked
        task = asyncio.create_task(consumer.consume(handler))
        async with asyncio.timeout(5):
            await all_handled.wait()
        task.cancel()
        await finishes_cancelled(task)
    finally:
        await consumer.close()
    pending = await raw.xpending(CONTRACT_CANCELLED.name, CONTRACT_CANCELLED.group("cancel"))
    assert pending["pending"] == 0


async def test_consume_cancel_by_timeout_during_blocking_read(zbus_broker: str) -> None:
    consumer = EventConsumer(zbus_broker, CONTRACT_CANCELLED, "slow", block_ms=10_000)

    async def handler(event: ContractCancelledEvent) -> None:
        raise AssertionError("no event was published")

    try:
        for delay in (0.0, 0.001, 0.01, 0.05):
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(delay):
                    await consumer.consume(handler)
            assert time.monotonic() - started < delay + PROMPT
    finally:
        await consumer.close()


async def test_consume_cancel_while_handler_runs(zbus_broker: str, raw: aioredis.Redis) -> None:
    await EventProducer(raw).publish(CONTRACT_CANCELLED, ContractCancelledEvent(1, 1))
    consumer = EventConsumer(zbus_broker, CONTRACT_CANCELLED, "busy", block_ms=100)
    entered = asyncio.Event()

    async def handler(event: ContractCancelledEvent) -> None:
        entered.set()
        await asyncio.sleep(60)

    try:
        task = asyncio.create_task(consumer.consume(handler))
        await asyncio.wait_for(entered.wait(), 5)
        task.cancel()
        await finishes_cancelled(task)
    finally:
        await consumer.close()
    # the entry was never acked: it stays pending for the next run
    pending = await raw.xpending(CONTRACT_CANCELLED.name, CONTRACT_CANCELLED.group("busy"))
    assert pending["pending"] == 1


async def test_consume_cancel_while_redis_restarts(zbus_redis: RedisServer) -> None:
    consumer = EventConsumer(
        zbus_redis.url, CONTRACT_CANCELLED, "restart", block_ms=50, retry_delay=0.01
    )

    async def handler(event: ContractCancelledEvent) -> None:
        pass

    async def consume_through_outages() -> None:
        while True:
            try:
                await consumer.consume(handler)
            except BusUnavailable:
                await asyncio.sleep(0.01)

    try:
        for n in range(6):
            task = asyncio.create_task(consume_through_outages())
            await asyncio.sleep(0.1)
            zbus_redis.stop()  # by pid; the socket goes away under the blocking read
            cancel_after(task, n * 7)
            await finishes_cancelled(task)
            zbus_redis.start()
        assert leftover_tasks() == set()
    finally:
        await consumer.close()


async def test_consumer_close_ends_consume(zbus_broker: str) -> None:
    """Closing the consumer (not the task) makes a running consume() fail promptly."""
    consumer = EventConsumer(zbus_broker, CONTRACT_CANCELLED, "closing", block_ms=10_000)

    async def handler(event: ContractCancelledEvent) -> None:
        pass

    task = asyncio.create_task(consumer.consume(handler))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await consumer.close()
    with pytest.raises(BusUnavailable):
        async with asyncio.timeout(PROMPT):
            await task
    assert time.monotonic() - started < PROMPT


async def test_client_blocking_call_cancel_at_every_moment(zbus_broker: str) -> None:
    """A call (RPUSH + BLPOP on the lean connection) waiting for a reply nobody sends."""
    async with Client(zbus_broker, timeout=30) as bus:
        request = Request(ObjectID("nobody", "1.0"), "Nothing")
        for n in range(40):
            task = asyncio.create_task(bus.request("nobody", request))
            cancel_after(task, n)
            await finishes_cancelled(task)
        # the cancelled requests were withdrawn from the queue
        for _ in range(100):
            if await bus.redis.llen("nobody") == 0:
                break
            await asyncio.sleep(0.01)
        assert await bus.redis.llen("nobody") == 0
    assert leftover_tasks() == set()


async def test_client_close_ends_blocking_call(zbus_broker: str) -> None:
    bus = Client(zbus_broker, timeout=30)
    request = Request(ObjectID("nobody", "1.0"), "Nothing")
    task = asyncio.create_task(bus.request("nobody", request))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await bus.close()
    with pytest.raises(BusUnavailable):
        async with asyncio.timeout(PROMPT):
            await task
    assert time.monotonic() - started < PROMPT
    assert leftover_tasks() == set()


async def test_subscription_cancel_at_every_moment(zbus_broker: str) -> None:
    async def iterate(bus: Client) -> None:
        async with bus.stub(Utils).tik_tok() as ticks:
            async for _ in ticks:
                pass

    async with Client(zbus_broker) as bus:
        for n in range(40):
            task = asyncio.create_task(iterate(bus))
            cancel_after(task, n)
            await finishes_cancelled(task)
        assert leftover_tasks() == set()


async def test_subscription_close_is_cancellable(zbus_broker: str) -> None:
    """aclose() itself, cancelled at any moment, ends cancelled and leaves no reader."""
    async with Client(zbus_broker) as bus:
        for n in range(20):
            ticks = await bus.stub(Utils).tik_tok().start()
            task = asyncio.create_task(ticks.aclose())
            cancel_after(task, n)
            done, _ = await asyncio.wait({task}, timeout=PROMPT)
            assert done
            if task.cancelled():
                await ticks.aclose()  # a second close finishes the job
        assert leftover_tasks() == set()


async def test_server_run_cancel_at_every_moment(zbus_redis: RedisServer) -> None:
    """The server's BLPOP loops (dispatcher, status, streams) stop promptly on cancel,
    with redis up and while it is down (the pollers then sleep before reconnecting)."""
    for redis_up in (True, False):
        if not redis_up:
            zbus_redis.stop()
        for n in range(0, 30, 3):
            task = asyncio.create_task(example_server.build(zbus_redis.url).run())
            await asyncio.sleep(0.05)
            cancel_after(task, n)
            await finishes_cancelled(task)
            assert leftover_tasks() == set()
    zbus_redis.start()
