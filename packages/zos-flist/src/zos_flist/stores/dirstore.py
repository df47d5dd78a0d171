"""``dir:///path``: blobs as files ``<path>/<hh>/<hex>`` (legacy flat ``<path>/<hex>`` readable)."""

from __future__ import annotations

import os
import threading
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
        self._root = path.rstrip("/") or "/"
        self._folders: set[str] = set()
        """``<hh>`` folders known to exist (saves a mkdir per block)."""

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

    def set(self, block_id: bytes, blob: bytes | memoryview) -> None:
        # Plain os calls on str paths: this runs once per packed block, and pathlib's objects
        # and the mkdir per call cost more than the encoding of a compressible block.
        hexid = block_id.hex()
        folder = f"{self._root}/{hexid[:2]}"
        final = f"{folder}/{hexid}"
        if os.path.exists(final):  # noqa: PTH110 - str paths on the hot path
            return
        try:
            if folder not in self._folders:
                os.makedirs(folder, exist_ok=True)  # noqa: PTH103
                self._folders.add(folder)
            # A unique temporary name and a rename: a crash never leaves a short blob.
            tmp = f"{folder}/.{hexid}.{os.getpid()}.{threading.get_ident():x}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
            try:
                view = memoryview(blob)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            os.rename(tmp, final)  # noqa: PTH104
        except OSError as exc:
            raise StoreUnavailableError(self.name, f"write {final}: {exc.strerror}") from None
