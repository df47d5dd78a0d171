"""A lean pipelined redis connection for zbus's hot path (requests and replies).

redis-py's asyncio client costs over 100 µs of CPU per command (pool locks, observability
hooks), which is more than the whole redis round trip; zbus's latency budget is a few
hundred µs per call. This connection is an asyncio Protocol with the hiredis reader: commands
are written back to back and their replies resolve futures in order. It is used only for the
list commands of calls and replies; everything else goes through redis-py.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, cast

import hiredis

from .broker import Broker


class RespError(Exception):
    """redis answered a command with an error reply."""


def pack(*args: bytes | str | int | float) -> bytes:
    """One command in RESP (an array of bulk strings)."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, str):
            data = arg.encode()
        else:
            data = str(arg).encode()
        out.append(b"$%d\r\n" % len(data))
        out.append(data)
        out.append(b"\r\n")
    return b"".join(out)


class RespConnection(asyncio.Protocol):
    """One redis connection; ``send`` pipelines, each reply resolves its future in order."""

    def __init__(self) -> None:
        self._reader = hiredis.Reader()
        self._waiters: deque[asyncio.Future[Any]] = deque()
        self._transport: asyncio.Transport | None = None
        self.closed = False

    @classmethod
    async def open(cls, broker: Broker) -> RespConnection:
        loop = asyncio.get_running_loop()
        if broker.unix_path is not None:
            _, conn = await loop.create_unix_connection(cls, broker.unix_path)
        else:
            assert broker.host is not None
            _, conn = await loop.create_connection(cls, broker.host, broker.port)
        if broker.password:
            try:
                await conn.execute("AUTH", broker.password)
            except RespError as exc:
                conn.close()
                raise ConnectionError(f"redis refused the password: {exc}") from None
            except BaseException:
                conn.close()  # cancelled (or lost) half-way: do not leak the socket
                raise
        return conn

    # asyncio.Protocol -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self._reader.feed(data)
            while True:
                reply = self._reader.gets()
                if reply is False:
                    break
                waiter = self._waiters.popleft()
                if waiter.done():
                    continue
                if isinstance(reply, hiredis.ReplyError):
                    waiter.set_exception(RespError(str(reply)))
                else:
                    waiter.set_result(reply)
        except (hiredis.ProtocolError, IndexError) as exc:
            self._fail(ConnectionError(f"redis protocol error: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionError(f"redis connection lost: {exc or 'closed'}"))

    def _fail(self, exc: Exception) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(exc)

    # commands -------------------------------------------------------------------------------

    def send(self, *commands: tuple[bytes | str | int | float, ...]) -> list[asyncio.Future[Any]]:
        """Write ``commands`` in one go; one future per reply."""
        if self.closed or self._transport is None:
            raise ConnectionError("redis connection is closed")
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in commands]
        self._waiters.extend(futures)
        self._transport.write(b"".join(pack(*c) for c in commands))
        return futures

    async def execute(self, *args: bytes | str | int | float) -> Any:
        (future,) = self.send(args)
        return await future

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()


class RespPool:
    """Up to ``size`` connections; each blocking call holds one while it waits.

    ``close()`` closes every connection, busy ones too: calls waiting on them fail at once
    with ConnectionError instead of blocking until their deadline.
    """

    def __init__(self, broker: Broker, size: int = 100) -> None:
        self.broker = broker
        self._idle: list[RespConnection] = []
        self._busy: set[RespConnection] = set()
        self._slots = asyncio.Semaphore(size)
        self.closed = False

    async def acquire(self) -> RespConnection:
        if self.closed:
            raise ConnectionError("the zbus client is closed")
        await self._slots.acquire()
        try:
            conn: RespConnection | None = None
            while self._idle and conn is None:
                candidate = self._idle.pop()
                if not candidate.closed:
                    conn = candidate
            if conn is None:
                conn = await RespConnection.open(self.broker)
            if self.closed:  # closed while connecting
                conn.close()
                raise ConnectionError("the zbus client is closed")
        except BaseException:
            self._slots.release()
            raise
        self._busy.add(conn)
        return conn

    def release(self, conn: RespConnection, *, discard: bool = False) -> None:
        self._busy.discard(conn)
        if discard or conn.closed or self.closed:
            conn.close()
        else:
            self._idle.append(conn)
        self._slots.release()

    def close(self) -> None:
        self.closed = True
        for conn in [*self._idle, *self._busy]:
            conn.close()
        self._idle.clear()
