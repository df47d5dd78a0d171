"""Every reference vector of ``shared/vectors/gridtypes_*.json`` (spec section 13)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from zos_gridtypes import (
    Deployment,
    KeyPair,
    SignatureError,
    ValidationError,
    mini_secret_from_mnemonic,
    network_id,
    ss58_address,
    unique_name,
    verify_signature,
)


def _decode(doc: dict[str, Any]) -> Deployment:
    return Deployment.model_validate_json(json.dumps(doc))


def _keys(vectors: dict[str, Any]) -> dict[int, bytes]:
    return {int(t): bytes.fromhex(k["ed25519_public_hex"]) for t, k in vectors["keys"].items()}


def _seeds(vectors: dict[str, Any]) -> dict[int, bytes]:
    return {int(t): bytes.fromhex(k["seed_hex"]) for t, k in vectors["keys"].items()}


def test_every_deployment_vector(vectors: dict[str, Any]) -> None:
    assert len(vectors["deployments"]) == 13
    for case in vectors["deployments"]:
        go = case["go_zosbase"]
        d = _decode(case["deployment"])
        assert d.challenge().decode() == go["challenge"], case["id"]
        assert d.challenge_hash().hex() == go["challenge_hash"] == case["reference_challenge_hash"]
        assert d.challenge_hash_hex() == go["challenge_hash"]
        assert len(d.challenge_hash()) == 16
        legacy = case["go_zosbase_c9464e08_legacy"]
        assert d.challenge(variant="legacy").decode() == legacy["challenge"], case["id"]
        assert d.challenge_hash(variant="legacy").hex() == legacy["challenge_hash"]
        parent = case["go_zos_7921ea26_parent"]
        if parent.get("challenge_hash") and parent.get("challenge_error") is None:
            # Trees without the light types agree with the legacy variant.
            assert d.challenge_hash(variant="legacy").hex() == parent["challenge_hash"]
        assert d.deployment_id() == go["deployment_id"]
        if go["valid_error"] is None:
            d.valid()
        else:
            with pytest.raises(ValidationError) as e:
                d.valid()
            assert str(e.value) == go["valid_error"]
        assert d.capacity().model_dump() == go["total_capacity"], case["id"]


def test_every_workload_vector(vectors: dict[str, Any]) -> None:
    for case in vectors["deployments"]:
        d = _decode(case["deployment"])
        go_workloads = case["go_zosbase"]["workloads"]
        assert [w.name for w in d.workloads] == [w["name"] for w in go_workloads]
        for workload, go in zip(d.workloads, go_workloads, strict=True):
            assert workload.type == go["type"]
            assert workload.challenge().decode() == go["challenge"], (case["id"], go["name"])
            assert workload.capacity().model_dump() == go["capacity"], (case["id"], go["name"])
            wid = d.workload_id(workload.name)
            assert wid == go["workload_id"]
            assert unique_name(wid, "eth0") == go["unique_eth0"]
            assert d.unique_name(workload.name, "eth0") == go["unique_eth0"]
            assert workload.is_sharable() == go["sharable"]
            if "network_id" in go:
                assert network_id(d.twin_id, workload.name) == go["network_id"]


def test_spec_examples() -> None:
    assert network_id(42, "net1") == "7aH1SRREnwwbr"
    assert unique_name("42-1001-net1", "eth0") == "DrZmKE6kuuJL2"


def test_signatures_match_go(vectors: dict[str, Any], cases: dict[str, Any]) -> None:
    seeds = _seeds(vectors)
    keys = _keys(vectors)
    sign_with = {c["id"]: c["sign_with"] for c in cases["deployments"]}
    for case in vectors["deployments"]:
        go = case["go_zosbase"]
        d = _decode(case["deployment"])
        for twin in sign_with[case["id"]]:
            d.sign(twin, seeds[twin])
        got = [s.model_dump() for s in d.signature_requirement.signatures]
        assert got == go["signatures"], case["id"]
        d.verify(keys.__getitem__)
        # The Go re-encoding decodes to the same deployment and verifies too.
        signed = _decode(go["go_json_signed"])
        assert json.loads(signed.model_dump_json()) == go["go_json_signed"], case["id"]
        assert json.loads(d.model_dump_json()) == go["go_json_signed"], case["id"]
        if go["verify_error"] is None:
            signed.verify(keys.__getitem__)
        tampered = _decode(go["go_json_signed"])
        tampered.description += " tampered"
        with pytest.raises(SignatureError) as e:
            tampered.verify(keys.__getitem__)
        assert str(e.value) == go["verify_error_after_tamper"]
        if go.get("verify_error_without_middle_signer"):
            partial = _decode(go["go_json_signed"])
            middle = partial.signature_requirement.requests[1].twin_id
            partial.signature_requirement.signatures = [
                s for s in partial.signature_requirement.signatures if s.twin_id != middle
            ]
            with pytest.raises(SignatureError) as e:
                partial.verify(keys.__getitem__)
            assert str(e.value) == go["verify_error_without_middle_signer"]
            # With the switch off, the unsigned non-required request is skipped...
            partial.verify(keys.__getitem__, require_all_listed_signers=False)


def test_ts_client_signatures_agree_where_hashes_agree(vectors: dict[str, Any]) -> None:
    for case in vectors["deployments"]:
        if case["agree"].get("go_vs_ts_ed25519_signatures"):
            assert case["ts_grid_client"]["signatures_ed25519"] == case["go_zosbase"]["signatures"]


def _patched(vectors: dict[str, Any], upgrade: dict[str, Any]) -> tuple[Deployment, Deployment]:
    by_id = {c["id"]: c["deployment"] for c in vectors["deployments"]}
    old = _decode(by_id[upgrade["from"]])
    new_doc = copy.deepcopy(by_id[upgrade["to"]])
    if upgrade.get("to_patch"):
        new_doc.update(upgrade["to_patch"])
    if upgrade.get("to_patch_workload"):
        patch = dict(upgrade["to_patch_workload"])
        name = patch.pop("name")
        for workload in new_doc["workloads"]:
            if workload["name"] == name:
                workload.update(patch)
    return old, _decode(new_doc)


def test_upgrade_vectors(vectors: dict[str, Any]) -> None:
    assert len(vectors["upgrades"]) == 5
    for upgrade in vectors["upgrades"]:
        old, new = _patched(vectors, upgrade)
        if upgrade["error"] is None:
            ops = old.upgrade(new)
            got = sorted(
                ({"name": op.name, "op": op.kind, "workload_id": op.workload_id} for op in ops),
                key=lambda op: op["name"],
            )
            assert got == upgrade["ops_sorted_by_name"], upgrade["id"]
        else:
            with pytest.raises(ValidationError) as e:
                old.upgrade(new)
            assert str(e.value) == upgrade["error"], upgrade["id"]


def _validation_deployment(case: dict[str, Any]) -> Deployment:
    workloads = case.get("workloads") or [case["workload"]]
    doc = {
        "version": 0,
        "twin_id": 42,
        "contract_id": 1,
        "signature_requirement": {
            "requests": [{"twin_id": 42, "required": False, "weight": 1}],
            "weight_required": 1,
        },
        "workloads": workloads,
    }
    return _decode(doc)


def test_validation_vectors(vectors: dict[str, Any], cases: dict[str, Any]) -> None:
    inputs = {c["id"]: c for c in cases["invalid_workloads"]}
    assert len(vectors["validation_go_zosbase"]) == 38
    for expected in vectors["validation_go_zosbase"]:
        d = _validation_deployment(inputs[expected["id"]])
        if expected["valid_error"] is None:
            d.valid()
        else:
            with pytest.raises(ValidationError) as e:
                d.valid()
            assert str(e.value) == expected["valid_error"], expected["id"]


def test_signature_vectors(vectors: dict[str, Any]) -> None:
    s = {v["id"]: v for v in vectors["signature_vectors"]}

    s1 = s["s1_ed25519_seed"]
    key = KeyPair.from_seed(bytes.fromhex(s1["seed_hex"]))
    assert key.public_key.hex() == s1["public_key_hex"]
    assert key.sign(bytes.fromhex(s1["message_hex"])).hex() == s1["signature_hex"]

    s2 = s["s2_sr25519_seed"]
    sr = KeyPair.from_seed(bytes.fromhex(s2["seed_hex"]), "sr25519")
    assert sr.public_key.hex() == s2["public_key_hex"]
    message = bytes.fromhex(s2["message_hex"])
    assert verify_signature("sr25519", sr.public_key, message, bytes.fromhex(s2["signature_hex"]))
    assert sr.verify(message, sr.sign(message))
    assert not sr.verify(message + b"x", bytes.fromhex(s2["signature_hex"]))

    s3 = s["s3_ed25519_polka_wallet_style"]
    polka = KeyPair.from_seed(bytes.fromhex(s3["seed_hex"]))
    assert polka.sign(s3["message_utf8"].encode()).hex() == s3["signature_hex"]

    s4 = s["s4_mnemonic_ed25519"]
    assert mini_secret_from_mnemonic(s4["mnemonic"]).hex() == s4["mini_secret_hex"]
    ed = KeyPair.from_mnemonic(s4["mnemonic"])
    assert ed.public_key.hex() == s4["ed25519_public_key_hex"]
    assert ed.sign(bytes.fromhex(s4["message_hex"])).hex() == s4["ed25519_signature_hex"]
    sr4 = KeyPair.from_mnemonic(s4["mnemonic"], "sr25519")
    assert sr4.public_key.hex() == s4["sr25519_public_key_hex"]
    assert ss58_address(sr4.public_key) == s4["sr25519_ss58"]
    assert sr4.ss58_address() == s4["sr25519_ss58"]


def test_polka_wallet_deployment_signature(vectors: dict[str, Any]) -> None:
    s3 = next(v for v in vectors["signature_vectors"] if v["id"].startswith("s3"))
    d10 = next(c for c in vectors["deployments"] if c["id"].startswith("d10"))
    d = _decode(d10["deployment"])
    d.sign(42, bytes.fromhex(s3["seed_hex"]))
    assert d.signature_requirement.signatures[0].signature == s3["signature_hex"]
    d.verify(lambda twin: bytes.fromhex(s3["public_key_hex"]))
