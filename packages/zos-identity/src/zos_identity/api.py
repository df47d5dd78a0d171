"""The identity contract: upstream's `pkg.IdentityManager` (zbus ``identityd``/``manager``).

The node's key is ed25519 from a 32-byte seed kept in the versioned seed file (see
`zos_identity.seed`). Its node id is the base58 of the public key; its chain account is the SS58
address of the same key. Numeric node and twin ids come from the chain, not from here.
"""

from __future__ import annotations

from typing import Protocol

MODULE = "identityd"
OBJECT = "manager"
VERSION = "0.0.1"


class IdentityError(Exception):
    """An identity operation failed (the zbus call error)."""


class SeedError(IdentityError):
    """The seed file exists but cannot be used. identityd stops; it never makes a new key."""


class SignatureError(IdentityError):
    """A signature does not verify."""


class DecryptionError(IdentityError):
    """A message cannot be decrypted with this node's key."""


class IdentityManager(Protocol):
    """What identityd serves to the other modules."""

    def node_id(self) -> str:
        """The node identity string: base58 of the ed25519 public key."""

    def address(self) -> str:
        """The chain account: SS58 address of the public key."""

    def farm_id(self) -> int:
        """The farm id from the kernel command line (``farmer_id``)."""

    def farm(self) -> str:
        """The farm's name, from the chain."""

    def farm_secret(self) -> str:
        """The farm secret from the kernel command line (may be empty)."""

    def store_kind(self) -> str:
        """Where the seed is kept: ``"file"`` (or ``"tpm"`` upstream)."""

    def private_key(self) -> bytes:
        """The 64-byte ed25519 private key (seed + public key, as Go's ed25519)."""

    def sign(self, message: bytes) -> bytes:
        """A 64-byte ed25519 signature of ``message``."""

    def verify(self, message: bytes, signature: bytes) -> None:
        """Raise `SignatureError` unless ``signature`` is this node's signature of it."""

    def encrypt(self, message: bytes) -> bytes:
        """A NaCl sealed box to this node's key (curve25519 from the ed25519 key)."""

    def decrypt(self, message: bytes) -> bytes:
        """Open a sealed box made by `encrypt` (or any client with the node's public key)."""

    def encrypt_ecdh(self, message: bytes, public_key: bytes) -> bytes:
        """NaCl secretbox with the X25519 shared secret of this node and ``public_key``
        (an ed25519 key); the 24-byte nonce is prepended."""

    def decrypt_ecdh(self, message: bytes, public_key: bytes) -> bytes:
        """Open a message made by `encrypt_ecdh` on either side."""


GO_METHODS: dict[str, str] = {
    "NodeID": "node_id",
    "Address": "address",
    "FarmID": "farm_id",
    "Farm": "farm",
    "FarmSecret": "farm_secret",
    "StoreKind": "store_kind",
    "PrivateKey": "private_key",
    "Sign": "sign",
    "Verify": "verify",
    "Encrypt": "encrypt",
    "Decrypt": "decrypt",
    "EncryptECDH": "encrypt_ecdh",
    "DecryptECDH": "decrypt_ecdh",
}
"""Go method name (the zbus wire) -> `IdentityManager` method."""
