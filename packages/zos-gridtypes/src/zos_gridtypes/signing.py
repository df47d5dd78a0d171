"""Signing a deployment (client side) and checking its signatures (node side)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ._gocodec import DecodeError, decode_hex
from .errors import SignatureError
from .keys import KeyPair, verify_signature
from .workload_data import NetworkLightVariant

if TYPE_CHECKING:
    from .deployment import Deployment

POLKA_WALLET = "polka-wallet"


def signed_message(challenge_hash: bytes, style: str) -> bytes:
    """What is signed: the raw MD5, or ``<Bytes>hex</Bytes>`` for the polka-wallet style."""
    if style == POLKA_WALLET:
        return b"<Bytes>" + challenge_hash.hex().encode() + b"</Bytes>"
    return challenge_hash


def sign_deployment(
    deployment: Deployment, twin_id: int, secret: bytes | KeyPair, key_type: str = "ed25519"
) -> None:
    from .deployment import Signature

    key = secret if isinstance(secret, KeyPair) else KeyPair(key_type, secret)
    requirement = deployment.signature_requirement
    message = signed_message(deployment.challenge_hash(), requirement.signature_style)
    signature = key.sign(message).hex()
    for existing in requirement.signatures:
        if existing.twin_id == twin_id:
            # Go keeps the old signature_type here; a client must replace both.
            existing.signature = signature
            existing.signature_type = key.key_type
            return
    requirement.signatures.append(
        Signature(twin_id=twin_id, signature=signature, signature_type=key.key_type)
    )


def verify_deployment(
    deployment: Deployment,
    public_key: Callable[[int], bytes],
    require_all_listed_signers: bool = True,
    variant: NetworkLightVariant = "wg",
) -> None:
    from .deployment import Signature

    requirement = deployment.signature_requirement
    message = signed_message(deployment.challenge_hash(variant), requirement.signature_style)
    signatures: dict[int, Signature] = {}
    for given in requirement.signatures:
        signatures.setdefault(given.twin_id, given)
    originator_seen = False
    weight = 0
    for request in requirement.requests:
        required = request.required
        if request.twin_id == deployment.twin_id:
            originator_seen = True
            required = True
        signature = signatures.get(request.twin_id)
        if signature is None:
            if required:
                raise SignatureError(f"missing required signature for twin '{request.twin_id}'")
            if not require_all_listed_signers:
                continue
            # The node verifies the empty signature (and fails): every listed twin must sign.
            signature = Signature(twin_id=request.twin_id)
        try:
            key = public_key(request.twin_id)
        except Exception as e:
            raise SignatureError(
                f"failed to get public key for twin '{request.twin_id}': {e}"
            ) from e
        try:
            raw = decode_hex(signature.signature)
        except DecodeError as e:
            raise SignatureError(f"invalid signature: {e.problem}") from None
        if not verify_signature(signature.signature_type, bytes(key), message, raw):
            raise SignatureError("failed to verify signature")
        weight += request.weight
    if not originator_seen:
        raise SignatureError("originator twin id must be in the signature requests")
    if weight < requirement.weight_required:
        raise SignatureError("required signature weight is not reached")
