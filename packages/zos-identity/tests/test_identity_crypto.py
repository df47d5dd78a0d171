"""Node id, address and upstream's crypto operations."""

from __future__ import annotations

import nacl.public
import nacl.signing
import pytest

from zos_chain.api import base58_decode, ss58_decode
from zos_identity import KeyPair, NodeIdentityManager, encrypt, verify
from zos_identity.api import DecryptionError, IdentityError, SignatureError

SEED_A = bytes(range(32))
SEED_B = bytes(range(32, 64))


def test_ids_and_keys() -> None:
    keys = KeyPair(SEED_A)
    assert base58_decode(keys.identity()) == keys.public_key
    assert ss58_decode(keys.address()) == keys.public_key
    assert keys.private_key == SEED_A + keys.public_key
    assert keys.public_key == bytes(nacl.signing.SigningKey(SEED_A).verify_key)


def test_sign_verify() -> None:
    keys = KeyPair(SEED_A)
    signature = keys.sign(b"msg")
    assert len(signature) == 64
    keys.verify(b"msg", signature)
    verify(keys.public_key, b"msg", signature)
    with pytest.raises(SignatureError):
        keys.verify(b"other", signature)
    with pytest.raises(SignatureError):
        verify(keys.public_key, b"msg", b"short")


def test_sealed_box_round_trip_and_interop() -> None:
    keys = KeyPair(SEED_A)
    sealed = encrypt(b"secret", keys.public_key)
    assert keys.decrypt(sealed) == b"secret"
    assert keys.decrypt(keys.encrypt(b"x")) == b"x"
    # a libsodium sealed box to the converted key opens too (what Go's box.Seal produces)
    curve = nacl.signing.VerifyKey(keys.public_key).to_curve25519_public_key()
    assert keys.decrypt(nacl.public.SealedBox(curve).encrypt(b"from go")) == b"from go"
    with pytest.raises(DecryptionError):
        KeyPair(SEED_B).decrypt(sealed)


def test_ecdh_both_ways() -> None:
    a, b = KeyPair(SEED_A), KeyPair(SEED_B)
    assert a.shared_secret(b.public_key) == b.shared_secret(a.public_key)
    message = a.encrypt_ecdh(b"hello", b.public_key)
    assert len(message) == 24 + 16 + 5
    assert b.decrypt_ecdh(message, a.public_key) == b"hello"
    with pytest.raises(DecryptionError):
        b.decrypt_ecdh(message[:-1] + bytes([message[-1] ^ 1]), a.public_key)
    with pytest.raises(DecryptionError):
        b.decrypt_ecdh(b"short", a.public_key)
    with pytest.raises(IdentityError):
        a.encrypt_ecdh(b"x", b"\x01" * 5)


async def test_manager_methods() -> None:
    async def farm_name(farm: int) -> str:
        return f"farm-{farm}"

    manager = NodeIdentityManager(KeyPair(SEED_A), farm_id=7, farm_secret="s",
                                  farm_name=farm_name)
    assert manager.farm_id() == 7 and await manager.farm_async() == "farm-7"
    assert manager.farm_secret() == "s" and manager.store_kind() == "file"
    assert len(manager.private_key()) == 64
    with pytest.raises(IdentityError, match="farmer_id"):
        NodeIdentityManager(KeyPair(SEED_A)).farm_id()
