"""Key pairs from a 32-byte seed or a BIP39 mnemonic, derived the way the grid client does.

A mnemonic's BIP39 entropy goes through PBKDF2-HMAC-SHA512 (password = entropy, salt
``"mnemonic"``, 2048 rounds); the first 32 bytes are the *mini-secret*: the ed25519 seed, or the
sr25519 mini-secret (expanded Ed25519-style, as substrate does). The public key is the twin's
on-chain account; :func:`ss58_address` prints it as the chain does.
"""

from __future__ import annotations

import hashlib
from typing import Literal

import nacl.bindings
import nacl.exceptions
import nacl.signing
import sr25519  # type: ignore[import-untyped]
from mnemonic import Mnemonic

from .errors import SignatureError, ValidationError
from .names import base58

KeyType = Literal["ed25519", "sr25519"]
KEY_TYPES: tuple[str, ...] = ("ed25519", "sr25519")

_SS58_PREFIX = b"SS58PRE"


def mini_secret_from_mnemonic(words: str, password: str = "") -> bytes:
    """The 32-byte mini-secret of a BIP39 English mnemonic (substrate-bip39)."""
    try:
        entropy = bytes(Mnemonic("english").to_entropy(" ".join(words.split())))
    except (ValueError, LookupError) as e:
        raise ValidationError(f"invalid mnemonic: {e}") from None
    salt = b"mnemonic" + password.encode()
    return hashlib.pbkdf2_hmac("sha512", entropy, salt, 2048)[:32]


def generate_mnemonic(strength: int = 128) -> str:
    """A new random BIP39 English mnemonic (12 words for 128 bits of entropy)."""
    return str(Mnemonic("english").generate(strength=strength))


def ss58_address(public_key: bytes, prefix: int = 42) -> str:
    """The SS58 text of an account key (prefix 42: generic substrate, as the grid uses)."""
    if not 0 <= prefix < 16384:
        raise ValueError("ss58 prefix must be in 0..16383")
    if prefix < 64:
        head = bytes([prefix])
    else:
        head = bytes(
            [((prefix & 0xFC) >> 2) | 0x40, (prefix >> 8) | ((prefix & 0x03) << 6)]
        )
    body = head + public_key
    checksum = hashlib.blake2b(_SS58_PREFIX + body, digest_size=64).digest()[:2]
    return base58(body + checksum)


class KeyPair:
    """A signing key: ``key_type`` (ed25519 or sr25519), ``public_key`` and the secret."""

    __slots__ = ("_ed", "_sr_secret", "key_type", "public_key")

    def __init__(self, key_type: str, secret: bytes) -> None:
        """``secret``: the 32-byte seed (ed25519), mini-secret or 64-byte key (sr25519)."""
        if key_type not in KEY_TYPES:
            raise SignatureError(f"unsupported key type '{key_type}'")
        secret = bytes(secret)
        self.key_type = key_type
        self._ed: nacl.signing.SigningKey | None = None
        self._sr_secret = b""
        if key_type == "ed25519":
            if len(secret) != 32:
                raise SignatureError("ed25519 seed must be 32 bytes")
            self._ed = nacl.signing.SigningKey(secret)
            self.public_key = bytes(self._ed.verify_key)
        elif len(secret) == 32:
            self.public_key, self._sr_secret = (bytes(x) for x in sr25519.pair_from_seed(secret))
        elif len(secret) == 64:
            self._sr_secret = secret
            self.public_key = bytes(sr25519.public_from_secret_key(secret))
        else:
            raise SignatureError("sr25519 secret must be a 32-byte mini-secret or 64 bytes")

    @classmethod
    def from_seed(cls, seed: bytes, key_type: str = "ed25519") -> KeyPair:
        return cls(key_type, seed)

    @classmethod
    def from_mnemonic(cls, words: str, key_type: str = "ed25519", password: str = "") -> KeyPair:
        return cls(key_type, mini_secret_from_mnemonic(words, password))

    @classmethod
    def from_secret(cls, secret: str, key_type: str = "ed25519") -> KeyPair:
        """From a mnemonic, or a hex seed (``0x`` optional) as the grid client accepts."""
        text = secret.strip()
        hex_text = text[2:] if text.startswith("0x") else text
        if len(hex_text) == 64:
            try:
                return cls(key_type, bytes.fromhex(hex_text))
            except ValueError:
                pass
        return cls.from_mnemonic(text, key_type)

    def sign(self, message: bytes) -> bytes:
        """A 64-byte signature (deterministic for ed25519, randomised for sr25519)."""
        if self._ed is not None:
            return bytes(self._ed.sign(message).signature)
        return bytes(sr25519.sign((self.public_key, self._sr_secret), message))

    def verify(self, message: bytes, signature: bytes) -> bool:
        return verify_signature(self.key_type, self.public_key, message, signature)

    def ss58_address(self, prefix: int = 42) -> str:
        return ss58_address(self.public_key, prefix)

    def __repr__(self) -> str:
        return f"KeyPair({self.key_type}, public_key={self.public_key.hex()})"


def verify_signature(key_type: str, public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is valid; keys or signatures of a wrong length are just invalid."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    if key_type == "sr25519":
        try:
            return bool(sr25519.verify(signature, message, public_key))
        except (ValueError, TypeError):
            return False
    try:
        nacl.bindings.crypto_sign_open(signature + message, public_key)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.CryptoError, ValueError, TypeError):
        return False
    return True
