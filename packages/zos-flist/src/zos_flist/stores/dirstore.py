"""``dir:///path``: blobs as files ``<path>/<hh>/<hex>`` (legacy flat ``<path>/<hex>`` readable)."""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

from ..errors import BlockNotFoundError, StoreUnavailableError
from .base import Store


class DirStore(Store):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        parts = urllib.parse.urlsplit(url)
        path = urllib.parse.unquote(parts.netloc + parts.path)
        if not path.startswith("/"):
            raise ValueError(f"dir store URL must hold an absolute path: {url!r}")
        self.root = Path(path)

    def path_of(self, block_id: bytes) -> Path:
        hexid = block_id.hex()
        return self.root / hexid[:2] / hexid

    def get(self, block_id: bytes) -> bytes:
        hexid = block_id.hex()
        for candidate in (self.path_of(block_id), self.root / hexid):
            try:
                return candidate.read_bytes()
            except FileNotFoundError:
                continue
            except OSError as exc:
                message = f"read {candidate}: {exc.strerror}"
                raise StoreUnavailableError(self.name, message) from None
        if not self.root.is_dir():
            raise StoreUnavailableError(self.name, f"directory {self.root} does not exist")
        raise BlockNotFoundError(self.name, f"block {hexid} not found")

    def set(self, block_id: bytes, blob: bytes) -> None:
        final = self.path_of(block_id)
        if final.exists():
            return
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            # A unique temporary name and a rename: a crash never leaves a short blob.
            tmp = final.with_name(f".{final.name}.{os.getpid()}.{id(blob):x}.tmp")
            with tmp.open("wb") as f:
                f.write(blob)
            tmp.replace(final)
        except OSError as exc:
            raise StoreUnavailableError(self.name, f"write {final}: {exc.strerror}") from None
