"""Route blocks to stores by the first byte of their id (spec §2.3)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import BlockNotFoundError, StoreError, StoreUnavailableError
from .base import Store


@dataclass(frozen=True)
class RoutedStore:
    start: int
    end: int
    store: Store


class NotRoutableError(StoreError):
    pass


class Router(Store):
    """Writes go to every store whose range holds the id's first byte; reads to any of them."""

    def __init__(self, routes: Sequence[RoutedStore]) -> None:
        super().__init__(" ".join(f"{r.start:02x}-{r.end:02x}={r.store.name}" for r in routes))
        for r in routes:
            if not 0 <= r.start <= r.end <= 255:
                raise ValueError(f"invalid route range {r.start:02x}-{r.end:02x}")
        self.routes = list(routes)

    def matching(self, block_id: bytes) -> list[Store]:
        key = block_id[0]
        return [r.store for r in self.routes if r.start <= key <= r.end]

    def get(self, block_id: bytes) -> bytes:
        stores = self.matching(block_id)
        if not stores:
            raise NotRoutableError(self.name, f"key is not routable: block {block_id.hex()}")
        random.shuffle(stores)
        failures: list[StoreError] = []
        for store in stores:
            try:
                return store.get(block_id)
            except StoreError as exc:
                failures.append(exc)
        detail = "; ".join(str(f) for f in failures)
        if all(isinstance(f, BlockNotFoundError) for f in failures):
            raise BlockNotFoundError(self.name, f"block {block_id.hex()} not found: {detail}")
        raise StoreUnavailableError(self.name, f"block {block_id.hex()}: {detail}")

    def set(self, block_id: bytes, blob: bytes | memoryview) -> None:
        stores = self.matching(block_id)
        if not stores:
            raise NotRoutableError(self.name, f"key is not routable: block {block_id.hex()}")
        for store in stores:
            store.set(block_id, blob)

    def close(self) -> None:
        for r in self.routes:
            r.store.close()
