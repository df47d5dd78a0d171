"""The zbus client: typed stubs over redis with a mandatory deadline on every call.

Every failure is an exception: RemoteCallError (the method's Go error), ProtocolError (the
server's protocol error or an unreadable reply), CallTimeout, BusUnavailable. A call never
hangs past its deadline and never crashes the caller's process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncGenerator, Callable, Coroutine
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, NoReturn, Self, TypeVar, cast

from .broker import DEFAULT_BROKER, Broker
from .codec import codec_for, decode_with, unpack
from .errors import (
    BusUnavailable,
    CallTimeout,
    CodecError,
    ProtocolError,
    RemoteCallError,
)
from .interface import MethodSpec, method_of, spec_of
from .protocol import ObjectID, Request, Response, parse_response, status_object
from .resp import RespConnection, RespError, RespPool
from .status import Status

if TYPE_CHECKING:
    import redis.asyncio as aioredis

log = logging.getLogger(__name__)

I = TypeVar("I")  # noqa: E741
T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0
"""Seconds a call waits for its reply unless told otherwise (upstream waits forever)."""

DropPolicy = Literal["keep_latest", "drop_new"]


def _redis_down() -> tuple[type[BaseException], ...]:
    """redis-py's connection errors (imported late: the call path does not need redis-py,
    and the readiness probe ``zbus status`` should start fast)."""
    import redis.exceptions as redis_errors

    return (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)


class Client:
    """A zbus client on one broker. Use as ``async with Client(url) as bus``.

    ``timeout`` is the default deadline of every call, in seconds; it cannot be disabled.
    """

    def __init__(
        self,
        broker: str = DEFAULT_BROKER,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_connections: int = 100,
    ) -> None:
        if not timeout > 0:
            raise ValueError("a zbus call needs a positive timeout")
        self.broker = Broker.parse(broker)
        self.timeout = timeout
        self._max_connections = max_connections
        self._redis: aioredis.Redis | None = None
        self._calls = RespPool(self.broker, max_connections)
        self._background: set[asyncio.Task[Any]] = set()
        self._subscriptions: weakref.WeakSet[Subscription[Any]] = weakref.WeakSet()
        self._stub_classes: dict[type, type] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connections. Calls in flight fail at once (BusUnavailable) and
        subscriptions end; the client can be used again afterwards (it reconnects)."""
        if self._background:
            # let cancelled calls withdraw their requests (each bounded to 2 s) first
            await asyncio.wait(self._background, timeout=1.0)
        calls, self._calls = self._calls, RespPool(self.broker, self._max_connections)
        calls.close()
        for task in list(self._background):
            task.cancel()
        for subscription in list(self._subscriptions):
            await subscription.aclose()
        if self._redis is not None:
            redis, self._redis = self._redis, None
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await redis.aclose()
                    await redis.connection_pool.disconnect()

    @property
    def redis(self) -> aioredis.Redis:
        """A redis-py client on the same broker (streams' pubsub, the event bus, tests)."""
        if self._redis is None:
            self._redis = self.broker.redis(self._max_connections)
        return self._redis

    # typed API ----------------------------------------------------------------------------

    def stub(self, iface: type[I], *, timeout: float | None = None) -> I:
        """A proxy implementing ``iface``: each method call is a zbus request.

        ``timeout`` overrides the client's default deadline for this stub's calls.
        """
        spec = spec_of(iface).resolve()
        cls = self._stub_classes.get(spec.cls)
        if cls is None:
            cls = _stub_class(spec.cls)
            self._stub_classes[spec.cls] = cls
        return cast(I, cls(self, timeout))

    async def call(
        self,
        method: Callable[..., Any],
        *args: Any,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Any:
        """Call an interface method by reference: ``await bus.call(Calculator.add, 1.0, 2.0)``."""
        return await self.invoke(method_of(method), args, {}, timeout=timeout)

    def subscribe(
        self, method: Callable[..., Any], *, policy: DropPolicy = "keep_latest", buffer: int = 1
    ) -> Subscription[Any]:
        """Subscribe to a stream by reference: ``bus.subscribe(Utils.tik_tok)``."""
        return Subscription(self, method_of(method), policy=policy, buffer=buffer)

    async def status(self, module: str, *, timeout: float = 3.0) -> Status:  # noqa: ASYNC109
        """Ask ``<module>.zbus@1.0`` for the module's objects and workers (readiness check)."""
        obj = status_object()
        request = Request(obj, "")
        response = await self.request(obj.queue(module), request, timeout=timeout)
        _raise_for(response)
        try:
            return cast(Status, _decode_one(Status, response.data))
        except CodecError as exc:
            raise ProtocolError(f"unreadable status reply from {module}: {exc}") from None

    async def invoke(
        self,
        m: MethodSpec,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Any:
        """Encode the arguments of ``m``, call it and decode its return value(s)."""
        if m.is_stream:
            raise TypeError(f"{m} is a stream: use subscribe()")
        inputs = _encode_inputs(m, args, kwargs)
        request = Request(m.interface.object, m.go_name, inputs)
        response = await self.request(m.interface.queue, request, timeout=timeout)
        _raise_for(response)
        try:
            return _decode_returns(m, response.data)
        except CodecError as exc:
            raise ProtocolError(f"{m}: unreadable reply: {exc}") from None

    # raw API ------------------------------------------------------------------------------

    async def request(
        self,
        queue: str,
        request: Request,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Response:
        """Send ``request`` to ``queue`` and wait for its Response (raw level)."""
        timeout = self.timeout if timeout is None else timeout
        if not timeout > 0:
            raise ValueError("a zbus call needs a positive timeout")
        what = f"{queue}.{request.method}()" if request.method else queue
        payload = request.encode()
        removed = 0
        try:
            # The outer timeout only guards against a redis that stops answering; the
            # BLPOP timeout below is the real deadline.
            async with asyncio.timeout(timeout + 2.0):
                reply = await self._roundtrip(queue, payload, request.reply_to, timeout)
                if reply is None:
                    try:
                        removed = await self._withdraw(queue, payload)
                    except asyncio.CancelledError:
                        self._spawn(self._withdraw_quietly(queue, payload))
                        raise
        except TimeoutError:
            raise CallTimeout(f"{what}: redis did not answer within {timeout + 2.0:g}s") from None
        except RespError as exc:
            raise ProtocolError(f"{what}: redis refused the request: {exc}") from None
        except OSError as exc:
            raise BusUnavailable(f"{what}: broker {self.broker.url} unavailable: {exc}") from None
        if reply is None:
            if removed:
                raise CallTimeout(
                    f"{what}: not picked up within {timeout:g}s (is the module running?); "
                    "the request was withdrawn",
                    picked_up=False,
                )
            raise CallTimeout(f"{what}: no reply within {timeout:g}s", picked_up=True)
        try:
            return parse_response(reply)
        except ValueError as exc:
            raise ProtocolError(f"{what}: {exc}") from None

    async def _roundtrip(
        self,
        queue: str,
        payload: bytes,
        reply_key: str,
        timeout: float,  # noqa: ASYNC109
    ) -> bytes | None:
        # RPUSH and BLPOP go out in one write: one round trip to redis instead of two.
        pool = self._calls
        conn = await pool.acquire()
        futures: list[asyncio.Future[Any]] = []
        try:
            futures = conn.send(
                (b"RPUSH", queue, payload), (b"BLPOP", reply_key, f"{max(timeout, 0.001):.3f}")
            )
            # Only the BLPOP future is awaited, so a cancel never lands on the RPUSH one (a
            # withdraw waits on it); a failed RPUSH fails the call at once all the same.
            futures[0].add_done_callback(partial(_fail_too, futures[1]))
            reply = await futures[1]
        except asyncio.CancelledError:
            if not futures:
                pool.release(conn, discard=True)
                raise
            # The caller gave up after the request went out: withdraw it (if no server took
            # it yet) in the background, once redis confirmed the RPUSH, so that the LREM
            # (on another connection) cannot overtake it.
            futures[1].cancel()
            self._spawn(self._withdraw_after(pool, conn, futures[0], queue, payload))
            raise
        except BaseException:
            # A connection left inside a blocking command is never reused.
            for future in futures:
                future.cancel()
            pool.release(conn, discard=True)
            raise
        pool.release(conn)
        if reply is None:
            return None
        return cast(bytes, reply[1])

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _withdraw_after(
        self,
        pool: RespPool,
        conn: RespConnection,
        pushed: asyncio.Future[Any],
        queue: str,
        payload: bytes,
    ) -> None:
        released = False
        try:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await pushed
                    # ends its BLPOP, and frees the slot before the LREM takes one
                    released = True
                    pool.release(conn, discard=True)
                    await self._withdraw(queue, payload)
        finally:
            if not released:
                pool.release(conn, discard=True)

    async def _withdraw_quietly(self, queue: str, payload: bytes) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2.0):
                await self._withdraw(queue, payload)

    async def _withdraw(self, queue: str, payload: bytes) -> int:
        """Remove a request nobody popped, so it never runs after its caller gave up."""
        pool = self._calls
        conn = await pool.acquire()
        clean = False
        try:
            removed = await conn.execute(b"LREM", queue, 1, payload)
            clean = True
        finally:
            pool.release(conn, discard=not clean)
        return int(removed)


def _fail_too(other: asyncio.Future[Any], future: asyncio.Future[Any]) -> None:
    """Done callback: when ``future`` failed, fail ``other`` with the same error."""
    if future.cancelled():
        return
    exc = future.exception()
    if exc is not None and not other.done():
        other.set_exception(exc)


def _raise_for(response: Response) -> None:
    if response.protocol_error:
        raise ProtocolError(response.protocol_error)
    if response.call_error:
        raise RemoteCallError(response.call_error)


def _encode_inputs(m: MethodSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[bytes]:
    assert m.signature is not None
    try:
        bound = m.signature.bind(None, *args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"{m}: {exc}") from None
    inputs: list[bytes] = []
    for p in m.params:
        out = bytearray()
        try:
            p.codec.encode(bound.arguments[p.name], out)
        except KeyError:
            raise TypeError(f"{m}: missing argument {p.name}") from None
        except CodecError as exc:
            raise CodecError(f"{m}: argument {p.name}: {exc}") from None
        inputs.append(bytes(out))
    if m.variadic is not None:
        for i, value in enumerate(bound.arguments.get(m.variadic.name, ())):
            out = bytearray()
            try:
                m.variadic.codec.encode(value, out)
            except CodecError as exc:
                raise CodecError(f"{m}: argument {m.variadic.name}[{i}]: {exc}") from None
            inputs.append(bytes(out))
    return inputs


def _decode_one(tp: Any, data: bytes | None) -> Any:
    codec = codec_for(tp)
    return codec.zero() if data is None else decode_with(codec, data)


def _decode_returns(m: MethodSpec, data: bytes | None) -> Any:
    n = len(m.returns)
    if n == 0:
        return None
    if n == 1:
        codec = m.returns[0]
        return codec.zero() if data is None else decode_with(codec, data)
    if data is None:
        return tuple(c.zero() for c in m.returns)
    values = unpack(data)
    if values is None:
        return tuple(c.zero() for c in m.returns)
    if not isinstance(values, list) or len(values) != n:
        raise CodecError(f"expecting an array of {n} return values, got {values!r:.60}")
    try:
        return tuple(c.decode(v) for c, v in zip(m.returns, values, strict=True))
    except CodecError:
        raise
    except Exception as exc:
        raise CodecError(str(exc)) from None


def _stub_class(iface: type) -> type:
    spec = spec_of(iface)
    namespace: dict[str, Any] = {}

    def __init__(self: Any, client: Client, timeout: float | None) -> None:
        self._zbus_client = client
        self._zbus_timeout = timeout

    namespace["__init__"] = __init__
    for m in spec.methods.values():
        namespace[m.py_name] = _stream_proxy(m) if m.is_stream else _call_proxy(m)
    return type(f"{iface.__name__}Stub", (iface,), namespace)


def _call_proxy(m: MethodSpec) -> Callable[..., Any]:
    async def proxy(self: Any, *args: Any, **kwargs: Any) -> Any:
        client: Client = self._zbus_client
        return await client.invoke(m, args, kwargs, timeout=self._zbus_timeout)

    proxy.__name__ = m.py_name
    proxy.__doc__ = m.func.__doc__
    return proxy


def _stream_proxy(m: MethodSpec) -> Callable[..., Any]:
    def proxy(
        self: Any, *, policy: DropPolicy = "keep_latest", buffer: int = 1
    ) -> Subscription[Any]:
        return Subscription(self._zbus_client, m, policy=policy, buffer=buffer)

    proxy.__name__ = m.py_name
    proxy.__doc__ = m.func.__doc__
    return proxy


_END = object()


class Subscription(AsyncGenerator[T, None]):
    """A stream subscription: an async iterator of decoded events.

    Events are buffered in ``buffer`` slots. When the consumer is slower than the stream,
    ``keep_latest`` (default) drops the oldest buffered event for the new one; ``drop_new``
    (upstream's behaviour) drops the new one. ``dropped`` counts lost events. Messages that
    do not decode are logged and skipped. Use ``async with`` (or call ``aclose``) to release
    the subscription's redis connection; iterating starts it on demand.
    """

    def __init__(self, client: Client, m: MethodSpec, *, policy: DropPolicy, buffer: int) -> None:
        if policy not in ("keep_latest", "drop_new"):
            raise ValueError(f"unknown drop policy {policy!r}")
        if buffer < 1:
            raise ValueError("the buffer needs at least one slot")
        self.method = m
        self.channel = m.channel
        self.policy = policy
        self.dropped = 0
        self._client = client
        self._codec = m.returns[0]
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=buffer)
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self._closed = False
        client._subscriptions.add(self)

    async def start(self) -> Self:
        """Subscribe now (returns once redis confirmed the subscription)."""
        if self._pubsub is not None:
            return self
        if self._closed:
            raise RuntimeError("subscription is closed")
        pubsub = self._pubsub = self._client.redis.pubsub()
        try:
            async with asyncio.timeout(self._client.timeout):
                await pubsub.subscribe(self.channel)
                while True:
                    msg = await pubsub.get_message(timeout=1.0)
                    if msg is not None and msg["type"] == "subscribe":
                        break
        except BaseException as exc:
            # failed, timed out or cancelled half-way: give the connection back
            self._pubsub = None
            await _close_pubsub(pubsub)
            if isinstance(exc, (TimeoutError, *_redis_down())):
                raise BusUnavailable(f"cannot subscribe to {self.channel}: {exc}") from None
            raise
        self._reader = asyncio.create_task(self._read(), name=f"zbus-sub-{self.channel}")
        return self

    async def _read(self) -> None:
        try:
            async for msg in self._pubsub.listen():
                if msg.get("type") != "message":
                    continue
                try:
                    value = decode_with(self._codec, msg["data"])
                except CodecError as exc:
                    log.warning("%s: skipping an undecodable event: %s", self.channel, exc)
                    continue
                self._offer(value)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._failure = BusUnavailable(f"subscription {self.channel} lost: {exc}")
            self._force(_END)

    def _offer(self, value: Any) -> None:
        if self._queue.full():
            self.dropped += 1
            if self.policy == "drop_new":
                return
            self._queue.get_nowait()
        self._queue.put_nowait(value)

    def _force(self, value: Any) -> None:
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(value)

    def __aiter__(self) -> Self:
        return self

    async def asend(self, value: None) -> T:
        return await self.__anext__()

    async def athrow(self, *args: Any) -> NoReturn:
        await self.aclose()
        exc = args[0]
        if isinstance(exc, type):
            exc = exc() if len(args) < 2 or args[1] is None else args[1]
        raise exc

    async def __anext__(self) -> T:
        if self._closed:
            raise StopAsyncIteration
        if self._pubsub is None:
            await self.start()
        item = await self._queue.get()
        if item is _END:
            if self._failure is not None:
                raise self._failure
            raise StopAsyncIteration
        return cast(T, item)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._force(_END)
        reader, self._reader = self._reader, None
        pubsub, self._pubsub = self._pubsub, None
        try:
            if reader is not None:
                reader.cancel()
                # asyncio.wait, not ``await reader``: the reader's CancelledError must not
                # be confused with (and must not swallow) a cancel of this task
                await asyncio.wait({reader})
        finally:
            if pubsub is not None:
                await _close_pubsub(pubsub)

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


async def _close_pubsub(pubsub: Any) -> None:
    """Release a pubsub's connection, bounded: redis may be gone or hung."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(1.0):
            await pubsub.aclose()


def request_for(obj: ObjectID, method: str, inputs: list[bytes]) -> Request:
    """A raw Request (for tools that build inputs themselves)."""
    return Request(obj, method, inputs)
