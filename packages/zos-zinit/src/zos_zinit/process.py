"""Spawning children in their own process groups, reaping every child, capturing output.

The supervisor reaps with ``waitpid(-1)`` on SIGCHLD (it must also reap orphans it inherits
as PID 1 or child subreaper), so it cannot use asyncio's subprocess machinery, which waits
for its own pids only. ``Popen`` is used for the spawn itself (cwd, env, process group, and
exec errors raised in the parent); its ``returncode`` is filled in by the reaper so Popen
never waits on a pid that was already reaped and maybe reused.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence

log = logging.getLogger("zos_zinit.process")

_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Adopt orphaned descendants (so they are reaped and killed with us); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


class Reaper:
    """Reaps every child on SIGCHLD and resolves the futures of the pids someone waits for."""

    def __init__(self) -> None:
        self._waiters: dict[int, asyncio.Future[int]] = {}
        self._popens: dict[int, subprocess.Popen[bytes]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        loop.add_signal_handler(signal.SIGCHLD, self.reap)

    def uninstall(self) -> None:
        if self._loop is not None:
            self._loop.remove_signal_handler(signal.SIGCHLD)
            self._loop = None

    def track(self, popen: subprocess.Popen[bytes]) -> asyncio.Future[int]:
        """A future of the raw wait status of ``popen``'s process."""
        assert self._loop is not None, "Reaper.install() first"
        future: asyncio.Future[int] = self._loop.create_future()
        self._waiters[popen.pid] = future
        self._popens[popen.pid] = popen
        # The child may have exited before SIGCHLD was handled: reap now as well.
        self._loop.call_soon(self.reap)
        return future

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            popen = self._popens.pop(pid, None)
            if popen is not None:
                popen.returncode = os.waitstatus_to_exitcode(status)
            future = self._waiters.pop(pid, None)
            if future is not None and not future.done():
                future.set_result(status)
            elif future is None:
                log.debug("reaped orphan %d", pid)


class LineReader(asyncio.Protocol):
    """Splits a pipe's bytes into lines for ``sink`` (partial last line flushed at EOF)."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        self._sink = sink
        self._buffer = b""
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            self._sink(line.decode(errors="replace").rstrip("\r"))
        if len(self._buffer) > 65536:  # a never-ending line: emit it in pieces
            self._sink(self._buffer.decode(errors="replace"))
            self._buffer = b""

    def eof_received(self) -> bool | None:
        if self._buffer:
            self._sink(self._buffer.decode(errors="replace"))
            self._buffer = b""
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


def spawn(
    argv: Sequence[str],
    *,
    cwd: str,
    env: Mapping[str, str],
    output: str,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new process group with stdin /dev/null.

    ``output``: ``ring`` (pipes, read with :func:`attach_output`), ``stdout`` (inherit ours)
    or ``none`` (/dev/null). Raises OSError / SubprocessError when it cannot be started.
    """
    if not argv:
        raise ValueError("empty command line")
    out: int | None
    if output == "ring":
        out = subprocess.PIPE
    elif output == "stdout":
        out = None
    else:
        out = subprocess.DEVNULL
    return subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=out,
        cwd=cwd,
        env=dict(env),
        process_group=0,
        close_fds=True,
    )


async def attach_output(popen: subprocess.Popen[bytes], sink: Callable[[str, bool], None]) -> None:
    """Feed a ring-mode child's stdout/stderr lines to ``sink(text, is_stderr)``."""
    loop = asyncio.get_running_loop()
    for pipe, is_stderr in ((popen.stdout, False), (popen.stderr, True)):
        if pipe is None:
            continue

        def make(flag: bool = is_stderr) -> LineReader:
            return LineReader(lambda text: sink(text, flag))

        await loop.connect_read_pipe(make, pipe)


def killpg(pid: int, sig: int) -> bool:
    """Signal the process group led by ``pid``; False if it no longer exists."""
    try:
        os.killpg(pid, sig)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        log.warning("not allowed to signal process group %d", pid)
        return False


def child_pids() -> list[int]:
    """Our direct children (including adopted orphans), from /proc."""
    me = os.getpid()
    children: list[int] = []
    try:
        # Linux >= 3.5 lists the children of each thread.
        with open(f"/proc/{me}/task/{me}/children") as f:
            children = [int(p) for p in f.read().split()]
    except OSError:
        pass
    return children
