"""Run a real supervisor from tests (this package's and others', e.g. bootstrap's).

``RunningZinit`` starts ``zinit init --container`` as a child process in a folder of its
own, writes service files and talks to it; ``stop()`` shuts it down by pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from zos_zinit.client import Client
from zos_zinit.state import StateKind


class RunningZinit:
    """One running supervisor, its config dir and a client."""

    def __init__(self, root: Path, buffer: int = 2000) -> None:
        self.root = root
        self.config = root / "cfg"
        self.config.mkdir()
        self.socket = root / "zinit.sock"
        self.buffer = buffer
        self.client = Client(self.socket, timeout=10)
        self.proc: subprocess.Popen[bytes] | None = None

    def write(self, name: str, **fields: Any) -> None:
        (self.config / f"{name}.yaml").write_text(yaml.safe_dump(fields))

    def write_text(self, name: str, text: str) -> None:
        (self.config / f"{name}.yaml").write_text(text)

    def command(self) -> list[str]:
        return [
            *(sys.executable, "-m", "zos_zinit", "-s", str(self.socket), "init"),
            *("-c", str(self.config), "-b", str(self.buffer), "--container"),
        ]

    def launch(self) -> subprocess.Popen[bytes]:
        with (self.root / "zinit.out").open("wb") as out:
            self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT)
        return self.proc

    async def start(self) -> None:
        """Launch and wait until the socket answers."""
        self.proc = self.launch()
        for _ in range(200):
            if self.socket.exists():
                with contextlib.suppress(OSError):
                    await self.client.list()
                    return
            if self.proc.poll() is not None:
                raise RuntimeError(f"zinit exited: {self.output()}")
            await asyncio.sleep(0.05)
        raise RuntimeError(f"zinit did not come up: {self.output()}")

    def output(self) -> str:
        return (self.root / "zinit.out").read_text(errors="replace")

    async def raw(self, line: bytes, *, eof: bool = False) -> bytes:
        """Send raw bytes as a request (then half-close with ``eof``); the reply, to EOF."""
        reader, writer = await asyncio.open_unix_connection(str(self.socket))
        writer.write(line)
        await writer.drain()
        if eof:
            writer.write_eof()
        data = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        return data

    async def wait_state(self, name: str, *kinds: StateKind, within: float = 10) -> str:
        status = await self.client.wait_for(name, kinds, within=within, interval=0.05)
        return status.state

    async def wait_exit(self, within: float = 20) -> int:
        assert self.proc is not None
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                return code
            await asyncio.sleep(0.05)
        raise TimeoutError(f"zinit still running after {within}s")

    def stop(self) -> None:
        """Teardown: shutdown via SIGTERM (container mode), SIGKILL by pid if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            # A hung supervisor: take its services' process groups down with it.
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
            with contextlib.suppress(OSError):
                for pid in children.read_text().split():
                    with contextlib.suppress(OSError):
                        os.killpg(int(pid), signal.SIGKILL)
            self.proc.kill()
            self.proc.wait()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    return False
