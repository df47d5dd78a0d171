"""`NodeIdentityManager`: the `IdentityManager` that identityd serves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from zos_identity.api import IdentityError
from zos_identity.keys import KeyPair
from zos_identity.seed import load_or_create


def parse_cmdline(text: str) -> dict[str, str]:
    """Kernel command line ``key=value`` pairs (bare flags map to "")."""
    out: dict[str, str] = {}
    for item in text.split():
        key, _, value = item.partition("=")
        out[key] = value
    return out


class NodeIdentityManager:
    """The node's identity over its seed file; farm data from the boot parameters."""

    def __init__(
        self, keys: KeyPair, farm_id: int | None = None, farm_secret: str = "",
        farm_name: Callable[[int], Awaitable[str]] | None = None,
    ) -> None:
        self.keys = keys
        self._farm_id = farm_id
        self._farm_secret = farm_secret
        self._farm_name = farm_name
        self._farm_cache = ""

    @classmethod
    def from_seed_file(
        cls, path: Path, farm_id: int | None = None, farm_secret: str = "",
        farm_name: Callable[[int], Awaitable[str]] | None = None,
    ) -> NodeIdentityManager:
        """Load (or, only when absent, create) the seed; raises `SeedError` if unusable."""
        return cls(KeyPair(load_or_create(path).seed), farm_id, farm_secret, farm_name)

    def node_id(self) -> str:
        return self.keys.identity()

    def address(self) -> str:
        return self.keys.address()

    def farm_id(self) -> int:
        if self._farm_id is None:
            raise IdentityError("no farm id: boot the node with farmer_id=<id>")
        return self._farm_id

    async def farm_async(self) -> str:
        """The farm's name, looked up on the chain once (``farm_name``)."""
        if not self._farm_cache:
            if self._farm_name is None:
                raise IdentityError("no chain to look the farm up on")
            try:
                self._farm_cache = await self._farm_name(self.farm_id())
            except IdentityError:
                raise
            except Exception as exc:
                raise IdentityError(f"cannot look farm {self.farm_id()} up: {exc}") from exc
        return self._farm_cache

    def farm_secret(self) -> str:
        return self._farm_secret

    def store_kind(self) -> str:
        return "file"

    def private_key(self) -> bytes:
        return self.keys.private_key

    def sign(self, message: bytes) -> bytes:
        return self.keys.sign(message)

    def verify(self, message: bytes, signature: bytes) -> None:
        self.keys.verify(message, signature)

    def encrypt(self, message: bytes) -> bytes:
        return self.keys.encrypt(message)

    def decrypt(self, message: bytes) -> bytes:
        return self.keys.decrypt(message)

    def encrypt_ecdh(self, message: bytes, public_key: bytes) -> bytes:
        return self.keys.encrypt_ecdh(message, public_key)

    def decrypt_ecdh(self, message: bytes, public_key: bytes) -> bytes:
        return self.keys.decrypt_ecdh(message, public_key)
