"""The async client of the supervisor's socket (works with upstream zinit v0.2.x as well)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zos_zinit.errors import ProtocolError, ZinitError, error_from_body
from zos_zinit.protocol import format_request
from zos_zinit.state import State, StateKind

DEFAULT_SOCKET = Path("/var/run/zinit.sock")


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    pid: int
    state: str
    """The exact state text, e.g. ``Running`` or ``Error(Exited(Pid(42), 1))``."""
    target: str
    after: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> StateKind:
        return State.parse(self.state).kind

    @property
    def is_down(self) -> bool:
        """Stopped as the upgrader understands it: target Down and no process."""
        return self.target == "Down" and self.pid == 0


class Client:
    """One connection per request, as the protocol wants.

    Every method raises a :class:`~zos_zinit.errors.ZinitError` subclass for an error reply
    (e.g. ``UnknownServiceError``, ``AlreadyMonitoredError``), OSError when the socket cannot
    be reached, TimeoutError after ``timeout`` seconds.
    """

    def __init__(self, socket: str | Path = DEFAULT_SOCKET, timeout: float = 10.0) -> None:
        self.socket = Path(socket)
        self.timeout = timeout

    async def request(self, command: str, *args: str) -> Any:
        """Send one command; the ok body or an exception."""
        return await asyncio.wait_for(self._request(command, *args), self.timeout)

    async def _request(self, command: str, *args: str) -> Any:
        reader, writer = await asyncio.open_unix_connection(str(self.socket))
        try:
            writer.write(format_request(command, *args))
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        try:
            reply = json.loads(raw)
            state, body = reply["state"], reply["body"]
        except (ValueError, KeyError, TypeError):
            raise ProtocolError(f"bad reply to {command!r}: {raw[:200]!r}") from None
        if state == "ok":
            return body
        if state == "error":
            raise error_from_body(str(body))
        raise ProtocolError(f"bad reply state {state!r} to {command!r}")

    async def list(self) -> dict[str, str]:
        """Service name -> state text."""
        body = await self.request("list")
        return {str(k): str(v) for k, v in (body or {}).items()}

    async def status(self, name: str) -> ServiceStatus:
        body = await self.request("status", name)
        return ServiceStatus(
            name=str(body["name"]),
            pid=int(body["pid"]),
            state=str(body["state"]),
            target=str(body["target"]),
            after={str(k): str(v) for k, v in (body.get("after") or {}).items()},
        )

    async def start(self, name: str) -> None:
        await self.request("start", name)

    async def stop(self, name: str) -> None:
        await self.request("stop", name)

    async def forget(self, name: str) -> None:
        await self.request("forget", name)

    async def monitor(self, name: str) -> None:
        """Load ``<config dir>/<name>.yaml`` and start supervising it."""
        await self.request("monitor", name)

    async def kill(self, name: str, signal: str = "SIGTERM") -> None:
        await self.request("kill", name, signal)

    async def shutdown(self) -> None:
        await self.request("shutdown")

    async def reboot(self) -> None:
        await self.request("reboot")

    async def restart(self, name: str, *, interval: float = 1.0, attempts: int = 20) -> None:
        """zinit's client-side restart: stop, wait until down, else SIGKILL; then start."""
        await self.stop(name)
        for _ in range(attempts):
            if (await self.status(name)).is_down:
                break
            await asyncio.sleep(interval)
        else:
            with contextlib.suppress(ZinitError):  # it may have exited meanwhile
                await self.kill(name, "SIGKILL")
        await self.start(name)

    async def wait_for(
        self,
        name: str,
        kinds: Iterable[StateKind] = (StateKind.RUNNING,),
        *,
        within: float = 30.0,
        interval: float = 0.1,
    ) -> ServiceStatus:
        """Poll ``status`` until the service's state is one of ``kinds``; TimeoutError else."""
        wanted = set(kinds)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            status = await self.status(name)
            if status.kind in wanted:
                return status
            if loop.time() >= deadline:
                raise TimeoutError(
                    f"service {name!r} is {status.state}, not {sorted(k.value for k in wanted)}"
                    f" after {within}s"
                )
            await asyncio.sleep(interval)

    async def logs(self, *, follow: bool = False) -> AsyncIterator[str]:
        """The ring's lines (without newline); with ``follow``, then every new line forever."""
        reader, writer = await asyncio.open_unix_connection(str(self.socket))
        try:
            writer.write(format_request("log") if follow else format_request("log", "snapshot"))
            await writer.drain()
            while True:
                raw = await reader.readline()
                if not raw:
                    return
                if not raw.endswith(b"\n"):
                    # Only an error reply comes without a newline.
                    with contextlib.suppress(ValueError):
                        reply = json.loads(raw)
                        if isinstance(reply, dict) and reply.get("state") == "error":
                            raise error_from_body(str(reply.get("body")))
                yield raw.decode(errors="replace").rstrip("\n")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
