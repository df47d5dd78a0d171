"""Block stores by URL (spec §2): ``dir://``, ``http(s)://`` (read-only), ``zdb://``, routers."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Mapping

from ..errors import UnsupportedStoreError
from ..reader import Route
from .base import Store, strip_password
from .router import NotRoutableError, RoutedStore, Router

# The store implementations are imported on use: redis and httpx take most of a second to
# import, which every `zos-flist` invocation would otherwise pay.

__all__ = [
    "NotRoutableError",
    "RoutedStore",
    "Router",
    "Store",
    "open_router",
    "open_store",
    "parse_route_spec",
    "router_from_routes",
    "strip_password",
]

_SPEC = re.compile(r"([0-9a-f]{2})-([0-9a-f]{2})=(.+)", re.DOTALL)


def open_store(url: str) -> Store:
    """A store for ``url``; unknown schemes give ``unknown store type '<scheme>'``."""
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme == "dir":
        from .dirstore import DirStore

        return DirStore(url)
    if scheme in ("http", "https"):
        from .httpstore import HTTPStore

        return HTTPStore(url)
    if scheme == "zdb":
        from .zdbstore import ZdbStore

        return ZdbStore(url)
    if scheme in ("s3", "s3s", "s3+tls", "s3s+tls", "server"):
        raise UnsupportedStoreError(f"store type '{scheme}' is not supported by zos-flist")
    raise UnsupportedStoreError(f"unknown store type '{scheme}'")


def parse_route_spec(spec: str) -> tuple[int, int, str]:
    """``xx-yy=URL`` (inclusive lowercase hex range) or a bare URL meaning ``00-ff``."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in spec):
        raise ValueError(f"invalid store {spec!r}: control characters")
    match = _SPEC.fullmatch(spec)
    if match:
        start, end = int(match.group(1), 16), int(match.group(2), 16)
        if start > end:
            raise ValueError(f"route {spec!r}: start {start:02x} is after end {end:02x}")
        return start, end, match.group(3)
    if "://" not in spec:
        raise ValueError(f"invalid store {spec!r}: expected URL or xx-yy=URL")
    return 0, 255, spec


def open_router(specs: Iterable[str]) -> Router:
    routes = []
    for spec in specs:
        start, end, url = parse_route_spec(spec)
        routes.append(RoutedStore(start, end, open_store(url)))
    if not routes:
        raise ValueError("no store given")
    return Router(routes)


def router_from_routes(routes: Iterable[Route], rewrite: Mapping[str, str] | None = None) -> Router:
    """The router of a `.fl` file's ``route`` table; ``rewrite`` maps URL prefixes (tests)."""
    built = []
    for route in routes:
        url = route.url
        for old, new in (rewrite or {}).items():
            if url.startswith(old):
                url = new + url[len(old) :]
                break
        built.append(RoutedStore(route.start, route.end, open_store(url)))
    if not built:
        raise UnsupportedStoreError("flist has no routes: cannot fetch its blocks")
    return Router(built)
