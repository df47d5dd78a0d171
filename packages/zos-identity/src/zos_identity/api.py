"""The identity contract: upstream's `pkg.IdentityManager` (zbus ``identityd``/``manager``).

The node's key is ed25519 from a 32-byte seed kept in the versioned seed file (see
`zos_identity.seed`). Its node id is the base58 of the public key; its chain account is the SS58
address of the same key. Numeric node and twin ids come from the chain, not from here.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator

from pydantic import BaseModel, Field

import zos_zbus as zbus

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


@zbus.interface(module=MODULE, object=OBJECT, version=VERSION)
class IdentityManager:
    """What identityd serves to the other modules (upstream's `pkg.IdentityManager`)."""

    @zbus.method("NodeID")
    async def node_id(self) -> str:
        """The node identity string: base58 of the ed25519 public key."""
        raise NotImplementedError

    @zbus.method("Address", raises=IdentityError)
    async def address(self) -> str:
        """The chain account: SS58 address of the public key."""
        raise NotImplementedError

    @zbus.method("FarmID", raises=IdentityError)
    async def farm_id(self) -> zbus.U32:
        """The farm id from the kernel command line (``farmer_id``)."""
        raise NotImplementedError

    @zbus.method("Farm", raises=IdentityError)
    async def farm(self) -> str:
        """The farm's name, from the chain."""
        raise NotImplementedError

    @zbus.method("FarmSecret", raises=IdentityError)
    async def farm_secret(self) -> str:
        """The farm secret from the kernel command line (may be empty)."""
        raise NotImplementedError

    @zbus.method("StoreKind")
    async def store_kind(self) -> str:
        """Where the seed is kept: ``"file"`` (or ``"tpm"`` upstream)."""
        raise NotImplementedError

    @zbus.method("PrivateKey")
    async def private_key(self) -> bytes:
        """The 64-byte ed25519 private key (seed + public key, as Go's ed25519)."""
        raise NotImplementedError

    @zbus.method("Sign", raises=IdentityError)
    async def sign(self, message: bytes) -> bytes:
        """A 64-byte ed25519 signature of ``message``."""
        raise NotImplementedError

    @zbus.method("Verify", raises=IdentityError)
    async def verify(self, message: bytes, signature: bytes) -> None:
        """Fail unless ``signature`` is this node's signature of ``message``."""
        raise NotImplementedError

    @zbus.method("Encrypt", raises=IdentityError)
    async def encrypt(self, message: bytes) -> bytes:
        """A NaCl sealed box to this node's key (curve25519 from the ed25519 key)."""
        raise NotImplementedError

    @zbus.method("Decrypt", raises=IdentityError)
    async def decrypt(self, message: bytes) -> bytes:
        """Open a sealed box made to this node's key."""
        raise NotImplementedError

    @zbus.method("EncryptECDH", raises=IdentityError)
    async def encrypt_ecdh(self, message: bytes, public_key: bytes) -> bytes:
        """NaCl secretbox with the X25519 shared secret of this node and ``public_key`` (an
        ed25519 key); the 24-byte nonce is prepended."""
        raise NotImplementedError

    @zbus.method("DecryptECDH", raises=IdentityError)
    async def decrypt_ecdh(self, message: bytes, public_key: bytes) -> bytes:
        """Open a message made by `encrypt_ecdh` on either side."""
        raise NotImplementedError


class PRVersion(BaseModel):
    """blang/semver `PRVersion`: one pre-release identifier."""

    VersionStr: str = ""
    VersionNum: zbus.U64 = 0
    IsNum: bool = False


class SemVer(BaseModel):
    """blang/semver `Version` (the wire shape of upstream's version monitor)."""

    Major: zbus.U64 = 0
    Minor: zbus.U64 = 0
    Patch: zbus.U64 = 0
    Pre: list[PRVersion] = Field(default_factory=list)
    Build: list[str] = Field(default_factory=list)

    @classmethod
    def parse(cls, text: str) -> SemVer:
        match = re.match(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$",
                         text.strip())
        if match is None:
            raise ValueError(f"not a semantic version: {text!r}")
        major, minor, patch, pre, build = match.groups()
        pres = [PRVersion(VersionNum=int(p), IsNum=True) if p.isdigit()
                else PRVersion(VersionStr=p) for p in (pre.split(".") if pre else [])]
        return cls(Major=int(major), Minor=int(minor), Patch=int(patch), Pre=pres,
                   Build=build.split(".") if build else [])

    def __str__(self) -> str:
        text = f"{self.Major}.{self.Minor}.{self.Patch}"
        if self.Pre:
            text += "-" + ".".join(str(p.VersionNum) if p.IsNum else p.VersionStr
                                   for p in self.Pre)
        if self.Build:
            text += "+" + ".".join(self.Build)
        return text


@zbus.interface(module=MODULE, object="monitor", version=VERSION)
class VersionMonitor:
    """Upstream's `pkg.VersionMonitor`: the node's software version."""

    @zbus.method("GetVersion")
    async def get_version(self) -> SemVer:
        raise NotImplementedError

    @zbus.stream("Version")
    def version(self) -> AsyncGenerator[SemVer, None]:
        raise NotImplementedError


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
