"""``zdb://[user[:password]@]host[:port]/[namespace]`` or ``zdb:///path/to/sock``: 0-db over RESP.

On every new connection, a namespace other than ``default`` is selected with
``SELECT <ns> [<password>]`` (0-db's namespace command; there is no AUTH). Keys are the raw
32-byte ids; ``SET`` only after ``EXISTS`` says the key is absent.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..errors import BlockNotFoundError, StoreUnavailableError
from .base import Store

DEFAULT_PORT = 9900
POOL_SIZE = 20


class _NamespaceConnection(redis.Connection):
    """A connection that selects a 0-db namespace right after connecting."""

    def __init__(self, *, zdb_namespace: str = "", zdb_password: str = "", **kw: Any) -> None:
        super().__init__(**kw)  # type: ignore[no-untyped-call]
        self._zdb_namespace = zdb_namespace
        self._zdb_password = zdb_password

    def on_connect_check_health(self, check_health: bool = True) -> None:
        super().on_connect_check_health(check_health)
        if self._zdb_namespace and self._zdb_namespace != "default":
            args = [self._zdb_namespace] + ([self._zdb_password] if self._zdb_password else [])
            self.send_command("SELECT", *args)  # type: ignore[no-untyped-call]
            self.read_response()


def parse_zdb_url(url: str) -> dict[str, Any]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "zdb":
        raise ValueError(f"not a zdb URL: {url!r}")
    if not parts.hostname:
        if not parts.path:
            raise ValueError(f"zdb URL without host or socket path: {url!r}")
        return {"unix_socket": parts.path, "namespace": "", "password": ""}
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ValueError(f"zdb URL has an invalid port: {url!r}") from None
    return {
        "host": parts.hostname,
        "port": port,
        "namespace": urllib.parse.unquote(parts.path.strip("/")),
        "password": urllib.parse.unquote(parts.password or ""),
    }


class ZdbStore(Store):
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        super().__init__(url)
        conf = parse_zdb_url(url)
        common: dict[str, Any] = {
            "max_connections": POOL_SIZE,
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            "retry": Retry(NoBackoff(), 1),  # fail fast: the router tries the next store
        }
        pool: redis.ConnectionPool
        if "unix_socket" in conf:
            pool = redis.ConnectionPool(
                connection_class=redis.UnixDomainSocketConnection,
                path=conf["unix_socket"],
                **common,
            )
        else:
            pool = redis.ConnectionPool(
                connection_class=_NamespaceConnection,
                host=conf["host"],
                port=conf["port"],
                zdb_namespace=conf["namespace"],
                zdb_password=conf["password"],
                **common,
            )
        self._redis = redis.Redis(connection_pool=pool)

    def get(self, block_id: bytes) -> bytes:
        try:
            value = self._redis.get(block_id)
        except redis.RedisError as exc:
            raise StoreUnavailableError(self.name, f"GET: {exc}") from None
        if value is None:
            raise BlockNotFoundError(self.name, f"block {block_id.hex()} not found")
        if not isinstance(value, bytes) or not value:
            raise StoreUnavailableError(self.name, f"block {block_id.hex()}: empty value")
        return value

    def set(self, block_id: bytes, blob: bytes | memoryview) -> None:
        try:
            if not self._redis.exists(block_id):
                self._redis.set(block_id, blob)
        except redis.RedisError as exc:
            raise StoreUnavailableError(self.name, f"SET: {exc}") from None

    def close(self) -> None:
        self._redis.close()
        self._redis.connection_pool.disconnect()
