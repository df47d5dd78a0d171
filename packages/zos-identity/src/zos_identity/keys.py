"""The node key pair and upstream's crypto (pkg/crypto): ed25519 signatures, sealed boxes to
the curve25519 twin of the ed25519 key, and secretbox with an X25519 shared secret."""

from __future__ import annotations

import nacl.bindings
import nacl.exceptions
import nacl.public
import nacl.secret
import nacl.signing
import nacl.utils

from zos_chain.api import base58_encode, ss58_address
from zos_identity.api import DecryptionError, IdentityError, SignatureError


def _curve_public(ed25519_public: bytes) -> bytes:
    if len(ed25519_public) != 32:
        raise IdentityError(f"an ed25519 public key is 32 bytes, got {len(ed25519_public)}")
    try:
        return bytes(nacl.bindings.crypto_sign_ed25519_pk_to_curve25519(ed25519_public))
    except (nacl.exceptions.RuntimeError, ValueError) as exc:
        raise IdentityError(f"not a valid ed25519 public key: {exc}") from None


class KeyPair:
    """An ed25519 key pair from a 32-byte seed."""

    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise ValueError(f"an ed25519 seed is 32 bytes, got {len(seed)}")
        self._signing = nacl.signing.SigningKey(seed)
        self.public_key = bytes(self._signing.verify_key)
        # Go's ed25519.PrivateKey: seed followed by the public key.
        self.private_key = bytes(seed) + self.public_key

    def identity(self) -> str:
        """Upstream's `KeyPair.Identity()`: base58 of the public key (the node id)."""
        return base58_encode(self.public_key)

    def address(self) -> str:
        return ss58_address(self.public_key)

    def sign(self, message: bytes) -> bytes:
        return bytes(self._signing.sign(bytes(message)).signature)

    def verify(self, message: bytes, signature: bytes) -> None:
        verify(self.public_key, message, signature)

    def _curve_private(self) -> bytes:
        return bytes(nacl.bindings.crypto_sign_ed25519_sk_to_curve25519(self.private_key))

    def encrypt(self, message: bytes) -> bytes:
        return encrypt(message, self.public_key)

    def decrypt(self, message: bytes) -> bytes:
        box = nacl.public.SealedBox(nacl.public.PrivateKey(self._curve_private()))
        try:
            return bytes(box.decrypt(bytes(message)))
        except (nacl.exceptions.CryptoError, ValueError, TypeError) as exc:
            raise DecryptionError(f"cannot decrypt message: {exc}") from None

    def shared_secret(self, public_key: bytes) -> bytes:
        """X25519 of this key and the curve25519 form of an ed25519 ``public_key``."""
        try:
            return bytes(nacl.bindings.crypto_scalarmult(self._curve_private(),
                                                         _curve_public(public_key)))
        except nacl.exceptions.RuntimeError as exc:
            raise IdentityError(f"no shared secret with that key: {exc}") from None

    def encrypt_ecdh(self, message: bytes, public_key: bytes) -> bytes:
        box = nacl.secret.SecretBox(self.shared_secret(public_key))
        nonce = nacl.utils.random(nacl.secret.SecretBox.NONCE_SIZE)
        return bytes(box.encrypt(bytes(message), nonce))  # nonce || ciphertext

    def decrypt_ecdh(self, message: bytes, public_key: bytes) -> bytes:
        if len(message) < nacl.secret.SecretBox.NONCE_SIZE + nacl.secret.SecretBox.MACBYTES:
            raise DecryptionError("message is shorter than a nonce and a MAC")
        box = nacl.secret.SecretBox(self.shared_secret(public_key))
        try:
            return bytes(box.decrypt(bytes(message)))
        except nacl.exceptions.CryptoError:
            raise DecryptionError("decryption error") from None


def verify(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Raise `SignatureError` unless ``signature`` is ``public_key``'s ed25519 signature."""
    try:
        nacl.signing.VerifyKey(bytes(public_key)).verify(bytes(message), bytes(signature))
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError) as exc:
        raise SignatureError(f"invalid signature: {exc}") from None


def encrypt(message: bytes, public_key: bytes) -> bytes:
    """A sealed box to the curve25519 form of an ed25519 ``public_key`` (upstream Encrypt)."""
    box = nacl.public.SealedBox(nacl.public.PublicKey(_curve_public(public_key)))
    return bytes(box.encrypt(bytes(message)))
