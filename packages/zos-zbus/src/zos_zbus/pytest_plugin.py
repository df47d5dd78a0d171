"""pytest fixtures for any package that needs a zbus broker (auto-registered via pytest11).

- ``zbus_redis``: a private :class:`~zos_zbus.testing.RedisServer` for the test.
- ``zbus_broker``: its broker URL (``unix:///tmp/.../redis.sock``).
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
