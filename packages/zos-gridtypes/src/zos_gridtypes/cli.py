"""``zos-gridtypes``: hash, validate, sign and verify deployment files; print the JSON Schema.

    zos-gridtypes hash FILE [--legacy-light] [--challenge]
    zos-gridtypes validate FILE
    zos-gridtypes sign FILE --twin N (--seed HEX | --mnemonic WORDS) [--key-type sr25519]
                       [--output OUT | --in-place]
    zos-gridtypes verify FILE --key TWIN=HEXPUB [--key ...] [--legacy-light]
    zos-gridtypes schema

FILE ``-`` is standard input. Secrets may also come from ``ZOS_SEED``/``ZOS_MNEMONIC``, so they
stay out of the process list. Exit status: 0 success, 1 invalid input or failed check, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import gateway, machine, network, storage
from .deployment import (
    Deployment,
    Result,
    Signature,
    SignatureRequest,
    SignatureRequirement,
    Workload,
)
from .errors import SignatureError, ValidationError
from .keys import KeyPair
from .units import Capacity
from .workload_data import WORKLOAD_TYPES, NetworkLightVariant

_ = (machine, network, storage, gateway)  # the modules that register the workload types


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise ValidationError(f"cannot read {path}: {e.strerror}") from None


def _load(path: str) -> Deployment:
    return Deployment.model_validate_json(_read(path))


def _variant(args: argparse.Namespace) -> NetworkLightVariant:
    return "legacy" if args.legacy_light else "wg"


def _cmd_hash(args: argparse.Namespace) -> int:
    deployment = _load(args.file)
    if args.challenge:
        sys.stdout.buffer.write(deployment.challenge(_variant(args)) + b"\n")
    print(deployment.challenge_hash(_variant(args)).hex())
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    _load(args.file).valid()
    print("valid")
    return 0


def _key_from_args(args: argparse.Namespace) -> KeyPair:
    seed = args.seed or os.environ.get("ZOS_SEED")
    words = args.mnemonic or os.environ.get("ZOS_MNEMONIC")
    if seed:
        text = seed[2:] if seed.startswith("0x") else seed
        try:
            secret = bytes.fromhex(text)
        except ValueError:
            raise SignatureError("--seed must be hex") from None
        return KeyPair(args.key_type, secret)
    if words:
        return KeyPair.from_mnemonic(words, args.key_type)
    raise SignatureError("a key is needed: --seed, --mnemonic, ZOS_SEED or ZOS_MNEMONIC")


def _cmd_sign(args: argparse.Namespace) -> int:
    deployment = _load(args.file)
    deployment.valid()
    key = _key_from_args(args)
    from .signing import sign_deployment

    sign_deployment(deployment, args.twin, key)
    out = deployment.model_dump_json()
    target = args.file if args.in_place else args.output
    if target and target != "-":
        Path(target).write_text(out + "\n")
    else:
        print(out)
    print(deployment.challenge_hash().hex(), file=sys.stderr)
    return 0


def _parse_keys(items: Sequence[str]) -> dict[int, bytes]:
    keys: dict[int, bytes] = {}
    for item in items:
        twin, sep, hex_key = item.partition("=")
        try:
            if not sep:
                raise ValueError
            keys[int(twin)] = bytes.fromhex(hex_key.removeprefix("0x"))
        except ValueError:
            raise SignatureError(f"--key wants TWIN=HEXPUBLICKEY, got '{item}'") from None
    return keys


def _cmd_verify(args: argparse.Namespace) -> int:
    deployment = _load(args.file)
    keys = _parse_keys(args.key or [])

    def public_key(twin: int) -> bytes:
        if twin not in keys:
            raise LookupError(f"no --key given for twin {twin}")
        return keys[twin]

    deployment.verify(public_key, variant=_variant(args))
    print("verified")
    return 0


def schemas() -> dict[str, Any]:
    """JSON Schema of every type: the deployment, its parts, each workload data and result."""
    out: dict[str, Any] = {}
    for cls in (Deployment, Workload, Result, SignatureRequirement, SignatureRequest, Signature):
        out[cls.__name__] = cls.model_json_schema()
    out["Capacity"] = Capacity.model_json_schema()
    for name, data_cls in sorted(WORKLOAD_TYPES.items()):
        entry: dict[str, Any] = {"data": data_cls.model_json_schema()}
        if data_cls.result_type is not None:
            entry["result"] = data_cls.result_type.model_json_schema()
        out[f"workload:{name}"] = entry
    return out


def _cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(schemas(), indent=2, sort_keys=True))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zos-gridtypes", description="Hash, validate, sign and verify grid deployments."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("hash", help="print the challenge hash (hex) of a deployment")
    p.add_argument("file")
    p.add_argument("--challenge", action="store_true", help="print the challenge text first")
    p.add_argument("--legacy-light", action="store_true", help="network-light before Sep 2025")
    p.set_defaults(run=_cmd_hash)

    p = sub.add_parser("validate", help="check a deployment like the node (not signatures)")
    p.add_argument("file")
    p.set_defaults(run=_cmd_validate)

    p = sub.add_parser("sign", help="sign a deployment as a twin; prints the signed JSON")
    p.add_argument("file")
    p.add_argument("--twin", type=int, required=True)
    p.add_argument("--seed", help="32-byte hex seed (or ZOS_SEED)")
    p.add_argument("--mnemonic", help="BIP39 words (or ZOS_MNEMONIC)")
    p.add_argument("--key-type", choices=("ed25519", "sr25519"), default="ed25519")
    p.add_argument("--output", "-o", help="write the signed deployment here")
    p.add_argument("--in-place", action="store_true", help="overwrite FILE")
    p.set_defaults(run=_cmd_sign)

    p = sub.add_parser("verify", help="check a deployment's signatures like the node")
    p.add_argument("file")
    p.add_argument("--key", action="append", metavar="TWIN=HEXPUB", help="a twin's public key")
    p.add_argument("--legacy-light", action="store_true", help="network-light before Sep 2025")
    p.set_defaults(run=_cmd_verify)

    p = sub.add_parser("schema", help="print the JSON Schema of every type")
    p.set_defaults(run=_cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (ValidationError, SignatureError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
