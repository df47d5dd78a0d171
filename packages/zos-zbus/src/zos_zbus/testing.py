"""A private redis-server for tests: on a unix socket in a temporary folder, stopped by pid.

Other packages' tests use it through the pytest fixtures ``zbus_redis`` / ``zbus_broker``
(registered automatically by this package's pytest plugin) or directly::

    with RedisServer() as redis:
        server = Server("storage", redis.url)
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self


class RedisServer:
    """A redis-server child process listening only on ``<folder>/redis.sock``."""

    def __init__(
        self,
        folder: str | os.PathLike[str] | None = None,
        *,
        executable: str = "redis-server",
        password: str | None = None,
    ) -> None:
        self._own_folder = folder is None
        self.folder = (
            Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="zbus-redis-"))
        )
        self.socket_path = self.folder / "redis.sock"
        self.executable = executable
        self.password = password
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The zbus broker URL (``unix:///...``)."""
        if self.password:
            return f"unix://{self.password}@{self.socket_path}"
        return f"unix://{self.socket_path}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("redis-server is not running")
        return self.process.pid

    def start(self, timeout: float = 10.0) -> Self:
        if shutil.which(self.executable) is None:
            raise RuntimeError(f"{self.executable} not found (Debian package redis-server)")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                self.executable,
                "--port",
                "0",
                "--unixsocket",
                str(self.socket_path),
                "--unixsocketperm",
                "700",
                "--dir",
                str(self.folder),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
                "--logfile",
                str(self.folder / "redis.log"),
                *(["--requirepass", self.password] if self.password else []),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"redis-server exited with {self.process.returncode}: {err}")
            if self._ping():
                return self
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on {self.socket_path} within {timeout}s")

    def _ping(self) -> bool:
        if not self.socket_path.exists():
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(1.0)
                s.connect(str(self.socket_path))
                if self.password:
                    s.sendall(b"AUTH %s\r\n" % self.password.encode())
                    if not s.recv(16).startswith(b"+OK"):
                        return False
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server (by pid) and remove its folder if this object created it."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
        if process is not None and process.stderr is not None:
            process.stderr.close()
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
