"""Fixtures: a private redis-server per test (unix socket under tmp_path, stopped by pid)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from zos_zbus.testing import RedisServer


@pytest.fixture
def redis_socket(tmp_path: Path) -> Iterator[Path]:
    with RedisServer(tmp_path) as server:
        yield server.socket_path


@pytest.fixture
async def redis(redis_socket: Path) -> AsyncIterator[Redis]:
    client = Redis(unix_socket_path=str(redis_socket))
    yield client
    await client.aclose()
