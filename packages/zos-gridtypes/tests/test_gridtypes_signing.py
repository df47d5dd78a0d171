"""Signing and the node's signature check (spec sections 8 and 9), and update plans (10)."""

from __future__ import annotations

import hashlib
import json

import pytest

from zos_gridtypes import (
    Deployment,
    GiB,
    KeyPair,
    Signature,
    SignatureError,
    SignatureRequest,
    SignatureRequirement,
    ValidationError,
    Workload,
    ZMount,
    generate_mnemonic,
    mini_secret_from_mnemonic,
    node_upgrade_plan,
    signed_message,
)

KEYS = {
    twin: KeyPair.from_seed(hashlib.sha256(f"twin-{twin}".encode()).digest()) for twin in (1, 2, 3)
}
SR = {
    twin: KeyPair(key_type="sr25519", secret=hashlib.sha256(f"sr-{twin}".encode()).digest())
    for twin in (1, 2, 3)
}


def public_ed(twin: int) -> bytes:
    return KEYS[twin].public_key


def deployment(
    *requests: tuple[int, bool, int], weight_required: int = 1, style: str = ""
) -> Deployment:
    return Deployment(
        twin_id=1,
        contract_id=5,
        signature_requirement=SignatureRequirement(
            requests=[SignatureRequest(twin_id=t, required=r, weight=w) for t, r, w in requests],
            weight_required=weight_required,
            signature_style=style,
        ),
        workloads=[Workload.new("disk", ZMount(size=GiB))],
    )


def secret_of(key: KeyPair) -> bytes:
    return key._sr_secret if key.key_type == "sr25519" else bytes(key._ed)  # type: ignore[arg-type]


def error_of(d: Deployment, public_key: object = public_ed, **kwargs: object) -> str | None:
    try:
        d.verify(public_key, **kwargs)  # type: ignore[arg-type]
    except SignatureError as e:
        return str(e)
    return None


def test_ed25519_round_trip_and_message() -> None:
    d = deployment((1, False, 1))
    d.sign(1, secret_of(KEYS[1]))
    assert error_of(d) is None
    sig = bytes.fromhex(d.signature_requirement.signatures[0].signature)
    assert KEYS[1].verify(d.challenge_hash(), sig)  # the raw 16 bytes are signed
    assert signed_message(b"\x01" * 16, "polka-wallet") == b"<Bytes>" + b"01" * 16 + b"</Bytes>"


def test_sr25519_and_mixed_signers() -> None:
    d = deployment((1, True, 1), (2, False, 1), weight_required=2)
    d.sign(1, secret_of(SR[1]), key_type="sr25519")
    d.sign(2, secret_of(KEYS[2]))
    keys = {1: SR[1].public_key, 2: KEYS[2].public_key}
    assert error_of(d, keys.__getitem__) is None
    assert [s.signature_type for s in d.signature_requirement.signatures] == ["sr25519", "ed25519"]
    # sr25519 signatures are randomised, but any of them verifies.
    first = d.signature_requirement.signatures[0].signature
    d.sign(1, secret_of(SR[1]), key_type="sr25519")
    assert d.signature_requirement.signatures[0].signature != first
    assert error_of(d, keys.__getitem__) is None


def test_polka_wallet_style_with_sr25519() -> None:
    d = deployment((1, False, 1), style="polka-wallet")
    d.sign(1, secret_of(SR[1]), key_type="sr25519")
    assert error_of(d, {1: SR[1].public_key}.__getitem__) is None
    d.signature_requirement.signature_style = ""
    assert error_of(d, {1: SR[1].public_key}.__getitem__) == "failed to verify signature"


def test_resigning_replaces_signature_and_type() -> None:
    d = deployment((1, False, 1))
    d.sign(1, secret_of(SR[1]), key_type="sr25519")
    d.sign(1, secret_of(KEYS[1]))
    assert len(d.signature_requirement.signatures) == 1
    assert d.signature_requirement.signatures[0].signature_type == "ed25519"
    assert error_of(d) is None


def test_missing_required_signature() -> None:
    d = deployment((1, False, 1), (2, True, 1))
    d.sign(1, secret_of(KEYS[1]))
    assert error_of(d) == "missing required signature for twin '2'"
    # The originator is always required.
    assert error_of(deployment((1, False, 1))) == "missing required signature for twin '1'"


def test_every_listed_twin_must_sign_by_default() -> None:
    d = deployment((1, False, 1), (2, False, 1), weight_required=1)
    d.sign(1, secret_of(KEYS[1]))
    assert error_of(d) == "failed to verify signature"
    assert error_of(d, require_all_listed_signers=False) is None
    heavier = deployment((1, False, 1), (2, False, 1), weight_required=2)
    heavier.sign(1, secret_of(KEYS[1]))
    assert error_of(heavier, require_all_listed_signers=False) == (
        "required signature weight is not reached"
    )


def test_originator_must_be_requested() -> None:
    d = deployment((2, False, 1))
    d.sign(2, secret_of(KEYS[2]))
    assert error_of(d) == "originator twin id must be in the signature requests"


def test_weight_must_be_reached() -> None:
    d = deployment((1, False, 1), weight_required=2)
    d.sign(1, secret_of(KEYS[1]))
    assert error_of(d) == "required signature weight is not reached"


def test_signatures_of_unlisted_twins_are_ignored() -> None:
    d = deployment((1, False, 1))
    d.sign(1, secret_of(KEYS[1]))
    d.signature_requirement.signatures.append(Signature(twin_id=3, signature="zz"))
    assert error_of(d) is None


def test_key_and_signature_problems() -> None:
    d = deployment((1, False, 1))
    d.sign(1, secret_of(KEYS[1]))

    def no_key(twin: int) -> bytes:
        raise LookupError("twin not found on chain")

    assert error_of(d, no_key) == "failed to get public key for twin '1': twin not found on chain"
    assert error_of(d, lambda twin: b"\x01" * 31) == "failed to verify signature"
    assert error_of(d, lambda twin: b"") == "failed to verify signature"
    d.signature_requirement.signatures[0].signature = "abc"
    assert error_of(d) == "invalid signature: encoding/hex: odd length hex string"
    d.signature_requirement.signatures[0].signature = "00" * 10
    assert error_of(d) == "failed to verify signature"
    d.signature_requirement.signatures[0].signature_type = "sr25519"
    assert error_of(d) == "failed to verify signature"


def test_verify_uses_the_selected_light_variant() -> None:
    d = Deployment.new(
        1,
        [
            Workload.model_validate(
                {"name": "n", "type": "network-light", "data": {"subnet": "10.1.1.0/24"}}
            )
        ],
    )
    message = d.challenge_hash(variant="legacy")
    d.signature_requirement.signatures.append(
        Signature(twin_id=1, signature=KEYS[1].sign(message).hex(), signature_type="ed25519")
    )
    assert error_of(d) == "failed to verify signature"
    assert error_of(d, variant="legacy") is None


def test_bad_secrets() -> None:
    with pytest.raises(SignatureError):
        deployment((1, False, 1)).sign(1, b"short")
    with pytest.raises(SignatureError):
        deployment((1, False, 1)).sign(1, b"\x00" * 32, key_type="rsa")
    with pytest.raises(ValidationError, match="invalid mnemonic"):
        mini_secret_from_mnemonic("bottom drive obey lake curtain smoke basket hold race")
    words = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"
    fresh = generate_mnemonic()
    assert len(fresh.split()) == 12 and len(mini_secret_from_mnemonic(fresh)) == 32
    assert KeyPair.from_secret(words).public_key == KeyPair.from_mnemonic(words).public_key
    seed = "0x" + "11" * 32
    assert KeyPair.from_secret(seed).public_key == KeyPair.from_seed(b"\x11" * 32).public_key
    sr = KeyPair("sr25519", b"\x11" * 32)
    assert KeyPair("sr25519", sr._sr_secret).public_key == sr.public_key


def _disk(name: str, size: int, version: int) -> dict[str, object]:
    return {"version": version, "name": name, "type": "zmount", "data": {"size": size}}


def _dep(version: int, *workloads: dict[str, object], contract: int = 7) -> Deployment:
    return Deployment.model_validate_json(
        json.dumps(
            {
                "version": version,
                "twin_id": 1,
                "contract_id": contract,
                "workloads": list(workloads),
            }
        )
    )


def test_upgrade_plan() -> None:
    old = _dep(1, _disk("a", 1, 0), _disk("b", 1, 1), _disk("c", 1, 0))
    old.workloads[0].result.state = "ok"
    old.workloads[0].result.created = 5
    new = _dep(2, _disk("a", 1, 0), _disk("b", 2, 2), _disk("d", 1, 2))
    ops = old.upgrade(new)
    assert [(op.kind, op.name) for op in ops] == [("update", "b"), ("add", "d"), ("remove", "c")]
    assert [op.workload_id for op in ops] == ["1-7-b", "1-7-d", "1-7-c"]
    assert new.workloads[0].result.state == "ok"  # carried over from the stored deployment


def test_upgrade_errors() -> None:
    old = _dep(0, _disk("a", 1, 0))
    with pytest.raises(ValidationError) as e:
        old.upgrade(_dep(1, _disk("a", 0, 1)))
    assert str(e.value) == "new deployment is invalid: invalid size"
    with pytest.raises(ValidationError) as e:
        node_upgrade_plan(old, _dep(5, _disk("a", 1, 1)))
    assert str(e.value) == "expecting deployment version 1, got 5: upgrade validation error"
    ip_old = _dep(0, {"name": "i", "type": "ip", "data": {"v4": True}})
    ip_new = _dep(1, {"version": 1, "name": "i", "type": "ip", "data": {"v6": True}})
    assert [op.kind for op in ip_old.upgrade(ip_new)] == ["update"]
    with pytest.raises(ValidationError) as e:
        node_upgrade_plan(ip_old, ip_new)
    assert str(e.value) == "workload 'ip' does not support upgrade: upgrade validation error"


def test_contract_hash_check() -> None:
    d = deployment((1, False, 1))
    d.check_contract_hash(d.challenge_hash_hex())
    d.check_contract_hash(d.challenge_hash_hex().encode())  # as stored on chain: ASCII text
    with pytest.raises(ValidationError) as e:
        d.check_contract_hash(d.challenge_hash_hex().upper())
    assert str(e.value) == "contract hash does not match deployment hash"
