"""`IdentityService`: the ``identityd``/``manager`` zbus object over a `NodeIdentityManager`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from zos_identity.api import IdentityManager, SemVer, VersionMonitor
from zos_identity.manager import NodeIdentityManager


class IdentityService(IdentityManager):
    """Every call is quick and CPU-bound (NaCl), so it runs on the event loop; only `farm`
    may ask the chain, and it does so once (then cached)."""

    def __init__(self, manager: NodeIdentityManager) -> None:
        self.manager = manager

    async def node_id(self) -> str:
        return self.manager.node_id()

    async def address(self) -> str:
        return self.manager.address()

    async def farm_id(self) -> int:
        return self.manager.farm_id()

    async def farm(self) -> str:
        return await self.manager.farm_async()

    async def farm_secret(self) -> str:
        return self.manager.farm_secret()

    async def store_kind(self) -> str:
        return self.manager.store_kind()

    async def private_key(self) -> bytes:
        return self.manager.private_key()

    async def sign(self, message: bytes) -> bytes:
        return self.manager.sign(message)

    async def verify(self, message: bytes, signature: bytes) -> None:
        self.manager.verify(message, signature)

    async def encrypt(self, message: bytes) -> bytes:
        return self.manager.encrypt(message)

    async def decrypt(self, message: bytes) -> bytes:
        return self.manager.decrypt(message)

    async def encrypt_ecdh(self, message: bytes, public_key: bytes) -> bytes:
        return self.manager.encrypt_ecdh(message, public_key)

    async def decrypt_ecdh(self, message: bytes, public_key: bytes) -> bytes:
        return self.manager.decrypt_ecdh(message, public_key)


class VersionService(VersionMonitor):
    """The ``identityd``/``monitor`` object: the node's version, and a stream of it."""

    def __init__(self, version: str, interval: float = 10.0) -> None:
        self.current = SemVer.parse(version)
        self.interval = interval

    async def get_version(self) -> SemVer:
        return self.current

    async def version(self) -> AsyncIterator[SemVer]:  # type: ignore[override]
        while True:
            yield self.current
            await asyncio.sleep(self.interval)
