"""Broker URLs (``unix:///path``, ``tcp://host:port``) and redis connections to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    import redis.asyncio as aioredis

DEFAULT_BROKER = "unix:///var/run/redis.sock"


@dataclass(frozen=True)
class Broker:
    url: str
    unix_path: str | None = None
    host: str | None = None
    port: int = 6379
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> Broker:
        """Parse a zbus broker URL; a user part is the redis password (like upstream)."""
        parts = urlsplit(url)
        password = unquote(parts.username) if parts.username else None
        if parts.password:
            password = unquote(parts.password)
        if parts.scheme == "unix":
            if not parts.path:
                raise ValueError(f"broker URL {url!r}: unix:// needs a socket path")
            return cls(url, unix_path=parts.path, password=password)
        if parts.scheme in ("tcp", "redis"):
            if not parts.hostname:
                raise ValueError(f"broker URL {url!r}: tcp:// needs a host")
            return cls(url, host=parts.hostname, port=parts.port or 6379, password=password)
        raise ValueError(f"broker URL {url!r}: unknown scheme, expecting unix:// or tcp://")

    def connection_kwargs(self) -> dict[str, Any]:
        import redis.asyncio as aioredis  # late: redis-py takes a second to import

        # No socket_timeout: with one, redis-py sends every command through asyncio.wait_for,
        # which on Python 3.11 swallows a cancel that lands just as the send completes (the
        # task then carries on, e.g. into the next blocking XREADGROUP, and never ends).
        # Callers bound their blocking reads with asyncio.timeout instead.
        kwargs: dict[str, Any] = {"password": self.password, "socket_timeout": None}
        if self.unix_path is not None:
            kwargs["connection_class"] = aioredis.UnixDomainSocketConnection
            kwargs["path"] = self.unix_path
        else:
            kwargs["host"] = self.host
            kwargs["port"] = self.port
        return kwargs

    def pool(self, max_connections: int = 100) -> aioredis.BlockingConnectionPool:
        """A connection pool; at most ``max_connections``, further users wait for one."""
        import redis.asyncio as aioredis

        return aioredis.BlockingConnectionPool(
            max_connections=max_connections, timeout=None, **self.connection_kwargs()
        )

    def redis(self, max_connections: int = 100) -> aioredis.Redis:
        """A redis-py asyncio client on this broker."""
        import redis.asyncio as aioredis

        return aioredis.Redis(connection_pool=self.pool(max_connections))
