"""The zbus server: serves registered objects of one module from their redis lists.

One dispatcher pops a request only when a worker is free (the backlog stays in redis), N
workers decode, call and reply (RPUSH + EXPIRE 300 in one write), the status object
``<module>.zbus@1.0`` is answered by its own task (so it answers while every worker is busy),
and every stream of every registered object runs from ``run()`` on, publishing each value.
``stop()`` (or SIGTERM via :func:`serve`) ends ``run()`` within about a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from .broker import DEFAULT_BROKER, Broker
from .codec import GO_ZERO_TIME, Codec, decode_with, encode, write_array_header
from .errors import CodecError, InterfaceError
from .interface import InterfaceSpec, MethodSpec, spec_of
from .protocol import (
    NOT_A_FUNCTION,
    RESPONSE_TTL,
    STATUS_OBJECT,
    STATUS_VERSION,
    UNKNOWN_OBJECT,
    BadRequest,
    Request,
    Response,
    argument_error,
    arity_error,
    panic_error,
    parse_request,
    status_object,
    variadic_argument_error,
)
from .resp import RespConnection, RespError
from .status import ObjectStatus, Status, WorkerStatus

log = logging.getLogger(__name__)


@dataclass
class _Registered:
    spec: InterfaceSpec
    impl: Any
    handlers: dict[str, Callable[..., Any]] = field(default_factory=dict)


@dataclass
class _Worker:
    index: int
    inbox: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(maxsize=1))
    state: str = "free"
    start_time: datetime = GO_ZERO_TIME
    action: str = ""
    reply_to: str = ""
    request_id: str = ""
    cancel_text: str = ""
    """The reply sent if shutdown cuts the current call short."""

    def status(self) -> WorkerStatus:
        return WorkerStatus(self.state, self.start_time, self.action)


class Server:
    """A zbus server for ``module`` on ``broker``.

    ``workers`` defaults to 1 like every upstream ZOS module: the module is then one lock
    around all its methods. Raise it only when the methods are safe to run concurrently.
    """

    def __init__(
        self,
        module: str,
        broker: str = DEFAULT_BROKER,
        *,
        workers: int = 1,
        poll_interval: float = 0.25,
        grace: float = 0.5,
    ) -> None:
        if workers < 1:
            raise ValueError("invalid number of workers")
        if not module or "." in module:
            raise ValueError(f"invalid module name {module!r}")
        self.module = module
        self.broker = Broker.parse(broker)
        self.workers = workers
        self.poll_interval = poll_interval
        """BLPOP timeout: how long stop() may wait for the dispatcher."""
        self.grace = grace
        """How long stop() lets in-flight calls finish before cancelling them."""
        self._objects: dict[str, _Registered] = {}
        self._stop: asyncio.Event | None = None
        self._stop_requested = False
        self._running = False
        self._workers: list[_Worker] = []
        self._out: RespConnection | None = None
        """The connection replies and stream events are written on (pipelined, shared)."""
        self._out_lock = asyncio.Lock()

    # setup --------------------------------------------------------------------------------

    def register(self, impl: Any, iface: type | None = None) -> None:
        """Serve ``impl`` as the object declared by ``iface`` (default: found in impl's class).

        Only the interface's declared methods are callable. Handlers may be async (run on the
        event loop) or plain functions (run in a thread); streams are async generators.
        """
        if self._running:
            raise RuntimeError("register objects before run()")
        spec = spec_of(iface if iface is not None else impl).resolve()
        if spec.module != self.module:
            raise InterfaceError(
                f"{spec.cls.__name__} belongs to module {spec.module!r}, not {self.module!r}"
            )
        if spec.object.name == STATUS_OBJECT and spec.object.version == STATUS_VERSION:
            raise InterfaceError("object id is reserved")
        key = str(spec.object)
        if key in self._objects:
            raise InterfaceError("object already exists")
        reg = _Registered(spec, impl)
        for m in spec.methods.values():
            handler = getattr(impl, m.py_name, None)
            if handler is None or not callable(handler):
                raise InterfaceError(f"{type(impl).__name__} has no method {m.py_name} ({m})")
            if getattr(handler, "__func__", None) is m.func:
                raise InterfaceError(f"{type(impl).__name__} does not implement {m.py_name} ({m})")
            reg.handlers[m.go_name] = handler
        self._objects[key] = reg

    # lifecycle ----------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask ``run()`` to return: stop popping, let in-flight calls finish (``grace``)."""
        self._stop_requested = True
        if self._stop is not None:
            self._stop.set()

    async def run(self) -> None:
        """Serve until stop() is called or the task is cancelled."""
        if self._running:
            raise RuntimeError("server is already running")
        self._running = True
        self._stop = asyncio.Event()
        self._out_lock = asyncio.Lock()  # bound to this run's loop
        if self._stop_requested:
            self._stop.set()
        self._workers = [_Worker(i) for i in range(self.workers)]
        free: asyncio.Queue[_Worker] = asyncio.Queue()
        for w in self._workers:
            free.put_nowait(w)
        dispatcher = asyncio.create_task(self._dispatch(free), name=f"zbus-{self.module}-dispatch")
        status = asyncio.create_task(self._status_loop(), name=f"zbus-{self.module}-status")
        workers = [
            asyncio.create_task(self._work(w, free), name=f"zbus-{self.module}-worker-{w.index}")
            for w in self._workers
        ]
        streams = [
            asyncio.create_task(self._stream(reg, m), name=f"zbus-{m.channel}")
            for reg in self._objects.values()
            for m in reg.spec.methods.values()
            if m.is_stream
        ]
        stopper = asyncio.create_task(self._stop.wait())
        try:
            done, _ = await asyncio.wait(
                [stopper, dispatcher, status, *workers], return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                if task is not stopper and not task.cancelled() and task.exception() is not None:
                    raise RuntimeError(
                        f"zbus server task {task.get_name()} failed"
                    ) from task.exception()
        finally:
            self._stop.set()
            # The dispatcher and the status task notice within one poll interval.
            await asyncio.wait([dispatcher, status], timeout=self.poll_interval + 0.1)
            busy = [t for w, t in zip(self._workers, workers, strict=True) if w.state == "busy"]
            if busy:
                await asyncio.wait(busy, timeout=self.grace)
            rest = [stopper, dispatcher, status, *workers, *streams]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)
            if self._out is not None:
                self._out.close()
                self._out = None
            self._running = False
            self._stop_requested = False

    # dispatching --------------------------------------------------------------------------

    async def _dispatch(self, free: asyncio.Queue[_Worker]) -> None:
        assert self._stop is not None
        queues = [reg.spec.queue for reg in self._objects.values()]
        if not queues:
            await self._stop.wait()
            return
        rotation = 0
        popper = _Popper(self)
        try:
            while not self._stop.is_set():
                worker = await free.get()  # never pop more than a worker can take
                while not self._stop.is_set():
                    keys = queues[rotation:] + queues[:rotation]
                    rotation = (rotation + 1) % len(queues)
                    item = await popper.pop(keys)
                    if item is not None:
                        worker.inbox.put_nowait(item)
                        break
                else:
                    free.put_nowait(worker)
        finally:
            popper.close()

    async def _sleep_unless_stopped(self, seconds: float) -> None:
        assert self._stop is not None
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel that
        # lands just as the stop event fires
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stop.wait()

    async def _work(self, w: _Worker, free: asyncio.Queue[_Worker]) -> None:
        while True:
            raw = await w.inbox.get()
            reply: tuple[str, Response] | None = None
            try:
                reply = await self._handle(raw, w)
            except asyncio.CancelledError:
                # Shutdown cut a call short: tell its caller instead of letting it time out.
                if w.state == "busy" and w.reply_to:
                    await self._send_cancelled(w)
                raise
            finally:
                w.state, w.start_time, w.action = "free", GO_ZERO_TIME, ""
            if reply is not None and reply[0]:
                await self._reply(*reply)
            free.put_nowait(w)

    async def _send_cancelled(self, w: _Worker) -> None:
        try:
            async with asyncio.timeout(0.2):
                await self._reply(w.reply_to, Response(w.request_id, protocol_error=w.cancel_text))
        except Exception:  # best effort: the server is going down
            pass

    async def _handle(self, raw: bytes, w: _Worker) -> tuple[str, Response] | None:
        try:
            req = parse_request(raw)
        except BadRequest as exc:
            log.warning("zbus %s: dropping a bad request: %s", self.module, exc.reason)
            if exc.reply_to:
                return exc.reply_to, Response(exc.id or "", protocol_error=exc.reason)
            return None
        return req.reply_to, await self._call(req, w)

    async def _call(self, req: Request, w: _Worker) -> Response:
        reg = self._objects.get(str(req.object))
        if reg is None:
            return Response(req.id, protocol_error=UNKNOWN_OBJECT)
        m = reg.spec.methods.get(req.method)
        if m is None or m.is_stream:
            return Response(req.id, protocol_error=NOT_A_FUNCTION)
        args, problem = _decode_arguments(m, req.inputs)
        if problem is not None:
            return Response(req.id, protocol_error=problem)
        w.state, w.start_time = "busy", datetime.now(UTC)
        w.action = f"[{req.object}].{req.method}()"
        w.reply_to, w.request_id = req.reply_to, req.id
        w.cancel_text = panic_error(req.object, req.method, "server shutting down")
        handler = reg.handlers[m.go_name]
        try:
            if inspect.iscoroutinefunction(handler):
                result = await handler(*args)
            else:
                result = await asyncio.to_thread(handler, *args)
            if inspect.isawaitable(result):
                result = await result
        except m.raises as exc:
            return Response(
                req.id, data=_zero_data(m.returns), call_error=str(exc) or type(exc).__name__
            )
        except Exception as exc:
            log.exception("zbus %s: %s() raised", self.module, m)
            return Response(req.id, protocol_error=panic_error(req.object, req.method, exc))
        try:
            data = _encode_returns(m.returns, result)
        except CodecError as exc:
            log.error(
                "zbus %s: %s() returned a value that does not encode: %s", self.module, m, exc
            )
            return Response(
                req.id,
                protocol_error=f"remote method call {req.object}.{req.method}() returned an "
                f"unencodable value: {exc}",
            )
        return Response(req.id, data=data)

    async def _output(self) -> RespConnection:
        conn = self._out
        if conn is None or conn.closed:
            async with self._out_lock:
                conn = self._out
                if conn is None or conn.closed:
                    conn = self._out = await RespConnection.open(self.broker)
        return conn

    async def _reply(self, reply_to: str, response: Response) -> None:
        payload = response.encode()
        try:
            conn = await self._output()
            results = await asyncio.gather(
                *conn.send((b"RPUSH", reply_to, payload), (b"EXPIRE", reply_to, RESPONSE_TTL)),
                return_exceptions=True,
            )
        except OSError as exc:
            log.error("zbus %s: cannot reply to %s: %s", self.module, reply_to, exc)
            return
        for result in results:
            if isinstance(result, BaseException):
                log.error("zbus %s: reply to %s failed: %s", self.module, reply_to, result)
                break

    # status and streams -------------------------------------------------------------------

    def status(self) -> Status:
        return Status(
            objects=[
                ObjectStatus(reg.spec.object.name, reg.spec.object.version)
                for reg in self._objects.values()
            ],
            workers=[w.status() for w in self._workers],
        )

    async def _status_loop(self) -> None:
        assert self._stop is not None
        key = status_object().queue(self.module)
        popper = _Popper(self)
        try:
            while not self._stop.is_set():
                item = await popper.pop([key])
                if item is not None:
                    await self._answer_status(item)
        finally:
            popper.close()

    async def _answer_status(self, item: bytes) -> None:
        try:
            req = parse_request(item)
        except BadRequest as exc:
            if exc.reply_to:
                await self._reply(exc.reply_to, Response(exc.id or "", protocol_error=exc.reason))
            return
        if req.reply_to:
            data = encode(self.status(), Status)
            await self._reply(req.reply_to, Response(req.id, data=data))

    async def _stream(self, reg: _Registered, m: MethodSpec) -> None:
        codec = m.returns[0]
        try:
            async for value in reg.handlers[m.go_name]():
                out = bytearray()
                try:
                    codec.encode(value, out)
                except CodecError as exc:
                    log.error("zbus stream %s: skipping an unencodable value: %s", m.channel, exc)
                    continue
                try:
                    conn = await self._output()
                    await conn.execute(b"PUBLISH", m.channel, bytes(out))
                except (OSError, RespError) as exc:
                    log.error("zbus stream %s: cannot publish: %s", m.channel, exc)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("zbus stream %s ended with an error", m.channel)


class _Popper:
    """BLPOP on a dedicated connection, with a short timeout so stop() is noticed quickly;
    reconnects (after a second) when redis goes away."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.conn: RespConnection | None = None
        self.timeout = f"{server.poll_interval:.3f}"

    async def pop(self, keys: list[str]) -> bytes | None:
        try:
            if self.conn is None or self.conn.closed:
                self.conn = await RespConnection.open(self.server.broker)
            item = await self.conn.execute(b"BLPOP", *keys, self.timeout)
        except (OSError, RespError) as exc:
            log.error("zbus %s: broker unavailable (%s), retrying", self.server.module, exc)
            self.close()
            await self.server._sleep_unless_stopped(1.0)
            return None
        return None if item is None else cast(bytes, item[1])

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _decode_arguments(m: MethodSpec, inputs: list[Any]) -> tuple[list[Any], str | None]:
    fixed = len(m.params)
    if len(inputs) < fixed or (m.variadic is None and len(inputs) != fixed):
        return [], arity_error(fixed, len(inputs))
    args: list[Any] = []
    for i, raw in enumerate(inputs):
        variadic = i >= fixed
        param = m.variadic if variadic else m.params[i]
        assert param is not None
        try:
            if isinstance(raw, str):
                raw = raw.encode("utf-8", "surrogateescape")
            if not isinstance(raw, bytes):
                raise CodecError("input is not bin")
            args.append(decode_with(param.codec, raw))
        except CodecError:
            if variadic:
                return [], variadic_argument_error(i, param.codec.go_name)
            return [], argument_error(i, param.codec.go_name)
    return args, None


def _encode_returns(codecs: list[Codec], result: Any) -> bytes | None:
    if not codecs:
        return None
    out = bytearray()
    if len(codecs) == 1:
        codecs[0].encode(result, out)
        return bytes(out)
    if not isinstance(result, tuple | list) or len(result) != len(codecs):
        raise CodecError(f"expecting a tuple of {len(codecs)} values, got {result!r:.60}")
    write_array_header(out, len(codecs))
    for codec, value in zip(codecs, result, strict=True):
        codec.encode(value, out)
    return bytes(out)


def _zero_data(codecs: list[Codec]) -> bytes | None:
    if not codecs:
        return None
    out = bytearray()
    if len(codecs) == 1:
        codecs[0].encode_zero(out)
    else:
        write_array_header(out, len(codecs))
        for codec in codecs:
            codec.encode_zero(out)
    return bytes(out)


async def serve(
    server: Server, *, signals: Iterable[signal.Signals] = (signal.SIGTERM, signal.SIGINT)
) -> None:
    """Run ``server`` until one of ``signals`` arrives (then stop within about a second)."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in signals:
        loop.add_signal_handler(sig, server.stop)
        installed.append(sig)
    try:
        await server.run()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
