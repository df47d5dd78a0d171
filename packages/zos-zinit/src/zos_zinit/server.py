"""The unix-socket server and ``zinit init``: wiring the supervisor to the line protocol."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path
from typing import Any

from zos_zinit import protocol
from zos_zinit.errors import ZinitError
from zos_zinit.process import become_subreaper
from zos_zinit.ring import LogRing
from zos_zinit.supervisor import Supervisor, read_environment_file

log = logging.getLogger("zos_zinit.server")

MAX_REQUEST = 64 * 1024
REQUEST_TIMEOUT = 30.0


class Server:
    def __init__(self, supervisor: Supervisor, socket_path: Path) -> None:
        self.supervisor = supervisor
        self.socket_path = socket_path
        self._server: asyncio.Server | None = None
        self._followers: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        self.socket_path.parent.mkdir(parents=True, exist_ok=True)
        if self.socket_path.is_socket() or self.socket_path.is_symlink():
            self.socket_path.unlink()  # stale socket of a previous run
        self._server = await asyncio.start_unix_server(
            self._handle, path=str(self.socket_path), limit=MAX_REQUEST
        )

    async def close(self) -> None:
        for task in list(self._followers):
            task.cancel()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                raw = await asyncio.wait_for(reader.readline(), REQUEST_TIMEOUT)
            except (ValueError, asyncio.LimitOverrunError):
                writer.write(protocol.error_reply("request line too long"))
                return
            except TimeoutError:
                return
            line = raw.decode(errors="replace")
            try:
                request = protocol.parse_request(line)
                if request.command == "log":
                    await self._log(writer, request.follow)
                    return
                body = self._dispatch(request)
            except ZinitError as e:
                writer.write(protocol.error_reply(e))
            else:
                writer.write(protocol.ok_reply(body))
            await writer.drain()
        except (ConnectionError, BrokenPipeError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _dispatch(self, request: protocol.Request) -> Any:
        sup = self.supervisor
        cmd, args = request.command, request.args
        if cmd == "list":
            return sup.list_services()
        if cmd == "status":
            return sup.status(args[0])
        if cmd == "start":
            sup.start_service(args[0])
        elif cmd == "stop":
            sup.stop(args[0])
        elif cmd == "forget":
            sup.forget(args[0])
        elif cmd == "monitor":
            sup.monitor(args[0])
        elif cmd == "kill":
            sup.kill(args[0], args[1])
        elif cmd == "shutdown":
            sup.shutdown(reboot=False)
        elif cmd == "reboot":
            sup.shutdown(reboot=True)
        return None

    async def _log(self, writer: asyncio.StreamWriter, follow: bool) -> None:
        ring = self.supervisor.ring
        if not follow:
            for line in ring.snapshot():
                writer.write(line.encode() + b"\n")
            await writer.drain()
            return
        lines, queue = ring.follow()
        task = asyncio.current_task()
        assert task is not None
        self._followers.add(task)
        try:
            for line in lines:
                writer.write(line.encode() + b"\n")
            await writer.drain()
            while not writer.is_closing():
                line = await queue.get()
                writer.write(line.encode() + b"\n")
                await writer.drain()
        finally:
            ring.unfollow(queue)
            self._followers.discard(task)


async def run(
    socket_path: Path,
    config_dir: Path,
    *,
    buffer: int = 2000,
    container: bool = False,
) -> int:
    """``zinit init``: serve until a shutdown finished; the exit status.

    Both paths must be absolute (the supervisor changes into the config dir).
    """
    loop = asyncio.get_running_loop()
    is_init = os.getpid() == 1
    if not is_init and not become_subreaper():
        log.warning("cannot become a child subreaper: orphans will not be reaped by zinit")
    environ = dict(os.environ)
    environ.update(read_environment_file())
    supervisor = Supervisor(config_dir, LogRing(buffer), environ=environ, container=container)
    supervisor.start()
    # Signals start the shutdown in container mode; outside PID 1 we honour them as well
    # rather than leave the services orphaned.
    if container or not is_init:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, supervisor.shutdown)
    os.chdir(config_dir)
    server = Server(supervisor, socket_path)
    await server.start()
    log.info("listening on %s, config %s", socket_path, config_dir)
    supervisor.load_all()
    try:
        await supervisor.finished.wait()
    finally:
        await server.close()
        supervisor.reaper.uninstall()
    if is_init and not container:
        _reboot(supervisor.reboot_requested)
    return 0


def _reboot(restart: bool) -> None:  # pragma: no cover - only as PID 1 of a machine
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    # LINUX_REBOOT_CMD_RESTART / LINUX_REBOOT_CMD_POWER_OFF
    libc.reboot(0x01234567 if restart else 0x4321FEDC)
