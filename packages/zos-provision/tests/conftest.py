"""Fixtures: a private redis-server per test (unix socket under tmp_path, stopped by pid)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis


@pytest.fixture
def redis_socket(tmp_path: Path) -> Iterator[Path]:
    sock = tmp_path / "redis.sock"
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not sock.exists():
        assert proc.poll() is None, "redis-server exited"
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.01)
    yield sock
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, 9)
        proc.wait()


@pytest.fixture
async def redis(redis_socket: Path) -> AsyncIterator[Redis]:
    client = Redis(unix_socket_path=str(redis_socket))
    yield client
    await client.aclose()
