"""The RMB peer's redis-side protocol (spec §14.6): serve commands, send requests.

The RMB peer verifies and decrypts envelopes and pushes each request as JSON on
``msgbus.<command>``; a handler pops it, runs, and pushes the response on the request's
``ret`` queue (``msgbus.system.reply`` for requests that came through the peer). The caller
is the request's ``src`` twin: handlers never trust a twin named in the payload.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

PREFIX = "msgbus."
REPLY_QUEUE = "msgbus.system.reply"
LOCAL_QUEUE = "msgbus.system.local"
SCHEMA_JSON = "application/json"


class MsgbusError(Exception):
    """A malformed message on a msgbus queue."""


@dataclass(frozen=True)
class Caller:
    twin: int
    connection: str | None = None

    @classmethod
    def parse(cls, src: str) -> Caller:
        twin, _, connection = str(src).partition(":")
        if not (twin.isascii() and twin.isdigit()):
            raise MsgbusError(f"invalid source '{src}': expected '<twin>' or '<twin>:<connection>'")
        return cls(int(twin), connection or None)

    def __str__(self) -> str:
        return f"{self.twin}:{self.connection}" if self.connection else str(self.twin)


@dataclass
class Request:
    ref: str
    src: str
    cmd: str
    exp: int
    dat: bytes
    tag: str | None
    ret: str
    shm: str
    now: int

    @classmethod
    def decode(cls, raw: bytes | str) -> Request:
        try:
            obj = json.loads(raw)
        except ValueError as err:
            raise MsgbusError(f"request is not JSON: {err}") from err
        if not isinstance(obj, dict):
            raise MsgbusError("request must be a JSON object")
        try:
            dat = base64.b64decode(obj.get("dat") or "", validate=True)
        except (binascii.Error, TypeError, ValueError) as err:
            raise MsgbusError(f"field 'dat' is not base64: {err}") from err
        for key in ("ref", "cmd", "ret"):
            if not isinstance(obj.get(key), str) or not obj[key]:
                raise MsgbusError(f"field '{key}' must be a non-empty string")
        numbers = {}
        for key in ("exp", "now"):
            value = obj.get(key) or 0
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise MsgbusError(f"field '{key}' must be a number of seconds")
            numbers[key] = int(value)
        return cls(
            ref=obj["ref"],
            src=str(obj.get("src", "")),
            cmd=obj["cmd"],
            exp=numbers["exp"],
            dat=dat,
            tag=obj.get("tag"),
            ret=obj["ret"],
            shm=str(obj.get("shm") or ""),
            now=numbers["now"],
        )

    def expired(self, now: float) -> bool:
        return self.exp > 0 and self.now > 0 and now > self.now + self.exp


def response(request_ref: str, dst: str, payload: bytes | None, err: tuple[int, str] | None) -> str:
    return json.dumps(
        {
            "ver": 1,
            "ref": request_ref,
            "dat": base64.b64encode(payload or b"").decode(),
            "dst": dst,
            "shm": SCHEMA_JSON,
            "now": int(time.time()),
            "err": None if err is None else {"code": err[0], "message": err[1]},
        }
    )


Handler = Callable[[Caller, bytes], Awaitable[Any]]


class Router:
    """Command name → handler; serves every registered command from redis."""

    def __init__(self, redis: Redis, concurrency: int = 32) -> None:
        self.redis = redis
        self.handlers: dict[str, Handler] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self.served = 0

    def register(self, cmd: str, handler: Handler) -> None:
        self.handlers[cmd] = handler

    async def dispatch(self, req: Request) -> tuple[bytes | None, tuple[int, str] | None]:
        """Run one request; the result is the JSON payload or an error (code 0, text)."""
        if req.shm and req.shm != SCHEMA_JSON:
            return None, (0, f"unsupported schema '{req.shm}', expected '{SCHEMA_JSON}'")
        handler = self.handlers.get(req.cmd)
        if handler is None:
            return None, (0, "function is not found")
        try:
            caller = Caller.parse(req.src)
            result = await handler(caller, req.dat)
        except Exception as err:
            if not isinstance(err, (ValueError, LookupError)) and type(err).__module__ not in (
                "zos_provision.api",
            ):
                log.info("%s from %s failed: %s", req.cmd, req.src, err)
            return None, (0, str(err) or type(err).__name__)
        # never an empty payload: the TS client only resolves non-empty responses
        return json.dumps(result).encode(), None

    async def _serve_one(self, raw: bytes | str) -> None:
        try:
            req = Request.decode(raw)
        except MsgbusError as bad:
            log.warning("dropping malformed msgbus request: %s", bad)
            return
        if req.expired(time.time()):
            log.info("dropping expired request %s (%s)", req.ref, req.cmd)
            return
        async with self._slots:
            payload, failure = await self.dispatch(req)
        await self.redis.lpush(req.ret, response(req.ref, req.src, payload, failure))
        self.served += 1

    async def serve(self) -> None:
        """Pop requests of every registered command and handle them concurrently."""
        queues = [PREFIX + cmd for cmd in sorted(self.handlers)]
        try:
            while True:
                item = await self.redis.brpop(queues, timeout=1)  # type: ignore[arg-type,unused-ignore]
                if item is None:
                    continue
                task = asyncio.create_task(self._serve_one(item[1]))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        finally:
            for task in list(self._tasks):
                task.cancel()


class RemoteError(Exception):
    """The remote handler answered with an error; ``str()`` is its message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class MsgbusClient:
    """Send requests and wait for their responses.

    ``direct`` (development node, same redis as the node): push straight onto the node's
    ``msgbus.<cmd>`` queue as twin ``twin``. Otherwise go through a local RMB peer
    (``msgbus.system.local``), which signs and routes the request to ``destination``.
    """

    def __init__(self, redis: Redis, twin: int, destination: int, direct: bool = True) -> None:
        self.redis = redis
        self.twin = twin
        self.destination = destination
        self.direct = direct

    async def call(self, cmd: str, payload: Any = None, expiration: float = 20.0) -> Any:
        ref = str(uuid.uuid4())
        ret = f"msgbus.client.{ref}"
        body: dict[str, Any] = {
            "ver": 1,
            "ref": ref,
            "cmd": cmd,
            "exp": int(expiration),
            "dat": base64.b64encode(json.dumps(payload).encode()).decode(),
            "tag": None,
            "ret": ret,
            "shm": SCHEMA_JSON,
            "now": int(time.time()),
        }
        if self.direct:
            body["src"] = str(self.twin)
            queue = PREFIX + cmd
        else:
            body["dst"] = [self.destination]
            queue = LOCAL_QUEUE
        await self.redis.lpush(queue, json.dumps(body))
        try:
            item = await self.redis.brpop([ret], timeout=max(int(expiration), 1))
        except RedisTimeoutError:  # the socket gave up just before redis did
            item = None
        finally:
            await self.redis.delete(ret)
        if item is None:
            if self.direct:  # nobody took it: do not leave it for a later server
                await self.redis.lrem(queue, 1, json.dumps(body))
            raise TimeoutError(f"no response to {cmd} within {expiration:.0f}s")
        answer = json.loads(item[1])
        failure = answer.get("err")
        if failure:
            raise RemoteError(int(failure.get("code") or 0), str(failure.get("message") or ""))
        data = base64.b64decode(answer.get("dat") or "")
        return json.loads(data) if data else None


async def stop_task(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def decode_json(payload: bytes) -> Any:
    try:
        return json.loads(payload) if payload else None
    except ValueError as err:
        raise ValueError(f"invalid JSON payload: {err}") from err


def field(obj: Any, name: str, kind: type) -> Any:
    if not isinstance(obj, Mapping) or name not in obj:
        raise ValueError(f"missing field '{name}'")
    value = obj[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ValueError(f"field '{name}' must be of type {kind.__name__}")
    return value
