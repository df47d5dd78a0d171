"""The node event bus: typed events over redis streams with consumer groups (spec §14).

Unlike zbus streams (pubsub, lossy), these events are persisted in redis streams and acked by
each consuming module: delivery is at-least-once, so handlers must be idempotent. Bodies are
msgpack (same codec rules as zbus, one map per event with Go field names), not upstream's gob.

    producer = EventProducer(redis)
    await producer.publish(CONTRACT_CANCELLED, ContractCancelledEvent(contract=7, twin_id=1))

    consumer = EventConsumer(broker_url, CONTRACT_CANCELLED, consumer="provision")
    await consumer.consume(handler)          # or: async for delivery in consumer: ...
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar, cast

import redis.asyncio as aioredis
import redis.exceptions as redis_errors

from .broker import Broker
from .codec import codec_for, decode_with
from .errors import BusUnavailable, CodecError
from .gotypes import U32, U64, GoName

log = logging.getLogger(__name__)

E = TypeVar("E")

MAXLEN = 1024
"""Approximate length cap of every stream (``XADD ... MAXLEN ~ 1024``)."""
BODY = b"body"

_REDIS_DOWN = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    OSError,
    TimeoutError,
)
REDIS_GRACE = 5.0
"""Seconds redis may take to answer beyond a command's own blocking time."""


@dataclass(frozen=True)
class EventStream(Generic[E]):
    """A named redis stream carrying events of one type."""

    name: str
    type: type[E]

    def group(self, consumer: str) -> str:
        """The consumer group of a module: ``group:<stream>:<consumer>``."""
        return f"group:{self.name}:{consumer}"


@dataclass
class ContractCancelledEvent:
    contract: Annotated[U64, GoName("Contract")] = 0
    twin_id: Annotated[U32, GoName("TwinId")] = 0


@dataclass
class ContractLockEvent:
    contract: Annotated[U64, GoName("Contract")] = 0
    twin_id: Annotated[U32, GoName("TwinId")] = 0
    lock: Annotated[bool, GoName("Lock")] = False
    """True when the grace period starts, False when it ends."""


CONTRACT_CANCELLED = EventStream("stream:contract-cancelled", ContractCancelledEvent)
CONTRACT_LOCK = EventStream("stream:contract-lock", ContractLockEvent)
# The public-config and power-target events carry types owned by the network and chain
# packages; they declare ``EventStream("stream:public-config", ...)`` and
# ``EventStream("stream:power-target", ...)`` next to those types.
PUBLIC_CONFIG_STREAM = "stream:public-config"
POWER_TARGET_STREAM = "stream:power-target"


def _redis_of(target: str | aioredis.Redis) -> tuple[aioredis.Redis, bool]:
    if isinstance(target, str):
        return Broker.parse(target).redis(max_connections=4), True
    return target, False


class EventProducer:
    """Appends events to streams (noded's side)."""

    def __init__(self, target: str | aioredis.Redis) -> None:
        self._redis, self._owned = _redis_of(target)

    async def publish(self, stream: EventStream[E], event: E) -> str:
        """Append ``event``; returns its stream entry id."""
        out = bytearray()
        codec_for(stream.type).encode(event, out)
        try:
            async with asyncio.timeout(REDIS_GRACE):
                entry = await self._redis.xadd(
                    stream.name, {BODY: bytes(out)}, maxlen=MAXLEN, approximate=True
                )
        except _REDIS_DOWN as exc:
            raise BusUnavailable(f"cannot append to {stream.name}: {exc}") from None
        return entry.decode() if isinstance(entry, bytes) else str(entry)

    async def close(self) -> None:
        if self._owned:
            await self._redis.aclose()


@dataclass
class Delivery(Generic[E]):
    """One event read from a stream; ``ack()`` it once handled."""

    id: str
    event: E
    _consumer: EventConsumer[E]

    async def ack(self) -> None:
        await self._consumer.ack(self.id)


class EventConsumer(Generic[E]):
    """Reads a stream as ``consumer`` in group ``group:<stream>:<consumer>``.

    On start it re-reads its own pending (delivered, never acked) entries, then waits for new
    ones. Entries whose body does not decode are logged and acked (skipped). ``close()`` makes
    a read in progress (in any task) fail promptly with BusUnavailable.
    """

    def __init__(
        self,
        target: str | aioredis.Redis,
        stream: EventStream[E],
        consumer: str,
        *,
        block_ms: int = 3000,
        retry_delay: float = 1.0,
    ) -> None:
        if not consumer:
            raise ValueError("a consumer name is required")
        self._redis, self._owned = _redis_of(target)
        self.stream = stream
        self.consumer = consumer
        self.group = stream.group(consumer)
        self.block_ms = block_ms
        self.retry_delay = retry_delay
        self._codec = codec_for(stream.type)
        self._ready = False
        self._pending_done = False
        self._closed = False
        # tasks inside read(), and those of them close() cancelled
        self._readers: set[asyncio.Task[Any]] = set()
        self._interrupted: set[asyncio.Task[Any]] = set()
        self._no_readers = asyncio.Event()
        self._no_readers.set()

    async def _ensure_group(self) -> None:
        if self._ready:
            return
        try:
            await self._redis.xgroup_create(self.stream.name, self.group, id="0", mkstream=True)
        except redis_errors.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._ready = True

    async def ack(self, entry_id: str) -> None:
        try:
            async with asyncio.timeout(REDIS_GRACE):
                await self._redis.xack(self.stream.name, self.group, entry_id)
        except _REDIS_DOWN as exc:
            raise BusUnavailable(f"cannot ack {entry_id} on {self.stream.name}: {exc}") from None

    async def read(self) -> list[Delivery[E]]:
        """The next batch: pending entries first (up to 128), then one new entry (blocking
        up to ``block_ms``; empty list when none arrived)."""
        if self._closed:
            raise BusUnavailable(f"consumer of {self.stream.name} is closed")
        task = asyncio.current_task()
        assert task is not None
        cancels = task.cancelling()
        self._readers.add(task)
        self._no_readers.clear()
        try:
            async with asyncio.timeout(self.block_ms / 1000 + REDIS_GRACE):
                return await self._read_batch()
        except _REDIS_DOWN as exc:
            raise BusUnavailable(f"cannot read {self.stream.name}: {exc}") from None
        except asyncio.CancelledError:
            if task in self._interrupted:
                # cancelled by close(): report that, unless someone else cancelled us too
                task.uncancel()
                if task.cancelling() <= cancels:
                    raise BusUnavailable(f"consumer of {self.stream.name} closed") from None
            raise
        finally:
            self._interrupted.discard(task)
            self._readers.discard(task)
            if not self._readers:
                self._no_readers.set()

    async def _read_batch(self) -> list[Delivery[E]]:
        try:
            await self._ensure_group()
            if not self._pending_done:
                batch = await self._read("0", count=128, block=None)
                if batch:
                    return batch
                self._pending_done = True
            return await self._read(">", count=1, block=self.block_ms)
        except redis_errors.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # redis restarted without its data: the group (and its pending list) is gone
            self._ready = False
            self._pending_done = False
            return []

    def reread_pending(self) -> None:
        """Make the next read() start again from this consumer's unacked entries."""
        self._pending_done = False

    async def _read(self, start: str, *, count: int, block: int | None) -> list[Delivery[E]]:
        reply = await self._redis.xreadgroup(
            self.group, self.consumer, {self.stream.name: start}, count=count, block=block
        )
        deliveries: list[Delivery[E]] = []
        for _stream, entries in cast(list[Any], reply or []):
            for raw_id, fields in entries:
                entry_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
                if not fields:  # pending entry trimmed away by MAXLEN
                    await self.ack(entry_id)
                    continue
                body = fields.get(BODY)
                try:
                    if not isinstance(body, bytes):
                        raise CodecError("entry has no body")
                    event = decode_with(self._codec, body)
                except CodecError as exc:
                    log.error(
                        "%s: skipping undecodable entry %s: %s", self.stream.name, entry_id, exc
                    )
                    await self.ack(entry_id)
                    continue
                deliveries.append(Delivery(entry_id, cast(E, event), self))
        return deliveries

    def __aiter__(self) -> AsyncIterator[Delivery[E]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Delivery[E]]:
        while True:
            for delivery in await self.read():
                yield delivery

    async def consume(self, handler: Callable[[E], Awaitable[None]]) -> None:
        """Handle events forever (until cancelled), acking each after ``handler`` returns.

        When the handler raises, the entry stays pending and is retried (with every other
        pending entry) after ``retry_delay`` seconds. Each call starts with the entries a
        previous (cancelled) one left unacked. Raises BusUnavailable when redis is down or
        the consumer was closed.
        """
        task = asyncio.current_task()
        assert task is not None
        cancels = task.cancelling()
        self.reread_pending()
        while True:
            # A cancel swallowed on the way (asyncio.wait_for on Python 3.11 does that when
            # it lands as the awaited thing completes, e.g. in a handler) still ends the loop.
            if task.cancelling() > cancels:
                raise asyncio.CancelledError
            for delivery in await self.read():
                try:
                    await handler(delivery.event)
                except Exception:
                    log.exception("%s: handler failed on %s", self.stream.name, delivery.id)
                    await asyncio.sleep(self.retry_delay)
                    self.reread_pending()
                    break
                await delivery.ack()
                if task.cancelling() > cancels:
                    raise asyncio.CancelledError

    async def close(self) -> None:
        """Close the consumer; reads in progress end promptly with BusUnavailable."""
        self._closed = True
        for task in self._readers:
            self._interrupted.add(task)
            task.cancel()
        try:
            async with asyncio.timeout(REDIS_GRACE):
                await self._no_readers.wait()
        finally:
            if self._owned:
                await self._redis.aclose()
