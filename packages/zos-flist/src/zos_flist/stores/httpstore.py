"""``http(s)`` stores (read-only): GET ``<prefix>/<hh>/<hex>``, else ``<prefix>/<hex>``."""

from __future__ import annotations

import threading

import httpx

from ..errors import BlockNotFoundError, StoreUnavailableError, UnsupportedStoreError
from .base import Store


class HTTPStore(Store):
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        super().__init__(url)
        self.base = url.rstrip("/")
        self._timeout = timeout
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._clients_lock = threading.Lock()

    def _client(self) -> httpx.Client:
        # One client per thread: pooled keep-alive connections, no cross-thread sharing worries.
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(timeout=self._timeout)
            self._local.client = client
            with self._clients_lock:
                self._clients.append(client)
        return client

    def get(self, block_id: bytes) -> bytes:
        hexid = block_id.hex()
        for url in (f"{self.base}/{hexid[:2]}/{hexid}", f"{self.base}/{hexid}"):
            try:
                response = self._client().get(url)
            except httpx.HTTPError as exc:
                raise StoreUnavailableError(self.name, f"GET {url}: {exc}") from None
            if response.status_code == 200:
                return response.content
            if response.status_code != 404:
                raise StoreUnavailableError(
                    self.name, f"GET {url}: HTTP {response.status_code}"
                )
        raise BlockNotFoundError(self.name, f"block {hexid} not found")

    def set(self, block_id: bytes, blob: bytes | memoryview) -> None:
        raise UnsupportedStoreError(f"store {self.name}: http stores are read-only")

    def close(self) -> None:
        with self._clients_lock:
            for client in self._clients:
                client.close()
            self._clients.clear()
