"""What every block store does: get and set blobs by their 32-byte id."""

from __future__ import annotations

import urllib.parse
from abc import ABC, abstractmethod


def strip_password(url: str) -> str:
    """``url`` without the password of its userinfo (spec §1.3: routes never carry secrets)."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


class Store(ABC):
    """A blob store named by a URL."""

    def __init__(self, url: str) -> None:
        self.url = url

    @property
    def name(self) -> str:
        """The URL without its password, for messages and routes."""
        return strip_password(self.url)

    @abstractmethod
    def get(self, block_id: bytes) -> bytes:
        """The blob stored under ``block_id``; BlockNotFoundError / StoreUnavailableError."""

    @abstractmethod
    def set(self, block_id: bytes, blob: bytes | memoryview) -> None:
        """Store ``blob`` under ``block_id`` (a no-op when it is already there).

        ``blob`` may be a view of a buffer the caller reuses: keep a copy, not the object."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"
