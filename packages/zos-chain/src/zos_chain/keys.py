"""Account keys for twins made by the chain CLI.

TODO(gridtypes): replace with the key pairs of `zos_gridtypes` (ed25519 and sr25519 from a seed
or a BIP39 mnemonic) once that package lands; until then only ed25519 is supported here.
"""

from __future__ import annotations

import hashlib

import nacl.signing
from mnemonic import Mnemonic


def seed_from_mnemonic(words: str, password: str = "") -> bytes:
    """Substrate's mini-secret: PBKDF2-SHA512 over the mnemonic's BIP39 entropy."""
    normalized = " ".join(words.split())
    try:
        entropy = bytes(Mnemonic("english").to_entropy(normalized))
    except (ValueError, LookupError) as exc:
        raise ValueError(f"not a valid BIP39 mnemonic: {exc}") from None
    salt = ("mnemonic" + password).encode()
    return hashlib.pbkdf2_hmac("sha512", entropy, salt, 2048)[:32]


def ed25519_public_key(seed: bytes) -> bytes:
    if len(seed) != 32:
        raise ValueError(f"an ed25519 seed is 32 bytes, got {len(seed)}")
    return bytes(nacl.signing.SigningKey(seed).verify_key)


def generate_mnemonic() -> str:
    return str(Mnemonic("english").generate(strength=128))
