"""pytest fixtures for any package that needs a zbus broker (auto-registered via pytest11).

- ``zbus_redis``: a private :class:`~zos_zbus.testing.RedisServer` for the test.
- ``zbus_broker``: its broker URL (``unix:///tmp/.../redis.sock``).
- ``zbus_shared_redis`` / ``zbus_shared_broker``: one redis-server for the whole test session
  (faster; tests must use unique module names and clean up the keys they create).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .testing import RedisServer


@pytest.fixture
def zbus_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    folder: Path = tmp_path_factory.mktemp("zbus-redis")
    server = RedisServer(folder).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def zbus_broker(zbus_redis: RedisServer) -> str:
    return zbus_redis.url


@pytest.fixture(scope="session")
def zbus_shared_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("zbus-shared-redis")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def zbus_shared_broker(zbus_shared_redis: RedisServer) -> str:
    return zbus_shared_redis.url
