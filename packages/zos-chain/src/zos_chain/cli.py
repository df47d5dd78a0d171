"""``zos-chain`` (and ``zos chain``): run the development chain service and drive it.

Every command but ``serve`` works on the service (``--url``, or ``$ZOS_CHAIN_URL``), directly
on a chain file (``--db``, or ``$ZOS_CHAIN_DB``), or else on the chain of the running development
node whose state folder is ``--state`` (default `zos_chain.devnode.default_state_dir`, as
``zos node``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mnemonic import Mnemonic
from pydantic import BaseModel

from zos_chain.api import (
    IP,
    ChainBackend,
    OptionDomain,
    OptionIP,
    PublicConfig,
    PublicIP,
    SubstrateError,
    ss58_address,
)
from zos_chain.client import ChainClient
from zos_chain.devchain import DevChain
from zos_chain.devnode import DevNodeError, default_state_dir, running_chain_url
from zos_chain.service import ChainServer
from zos_gridtypes import KeyPair
from zos_gridtypes.errors import ValidationError

Handler = Callable[[argparse.Namespace, ChainBackend], int]


def _backend(args: argparse.Namespace) -> ChainBackend:
    url = args.url or os.environ.get("ZOS_CHAIN_URL")
    db = args.db or os.environ.get("ZOS_CHAIN_DB")
    if url:
        return ChainClient(url)
    if db:
        return DevChain(db)
    try:
        return ChainClient(running_chain_url(args.state))
    except DevNodeError as exc:
        raise SystemExit(f"zos chain: {exc} (or give --url or --db)") from None


def _print(value: Any, as_json: bool) -> None:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, list):
        value = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    print(json.dumps(value, indent=2) if as_json else value)


def _account(backend: ChainBackend, twin_id: int) -> bytes:
    return backend.get_twin(twin_id).account


# --- handlers ---------------------------------------------------------------------------------


def _twin_create(args: argparse.Namespace, backend: ChainBackend) -> int:
    mnemonic = args.mnemonic
    if args.generate:
        mnemonic = str(Mnemonic("english").generate(strength=128))
        print(f"mnemonic: {mnemonic}")
    if mnemonic:
        try:
            account = KeyPair.from_mnemonic(mnemonic, args.key_type).public_key
        except ValidationError as exc:
            raise SystemExit(f"--mnemonic: {exc}") from None
    else:
        try:
            account = bytes.fromhex(args.key.removeprefix("0x"))
        except ValueError:
            raise SystemExit(f"--key must be hex, got {args.key!r}") from None
        if len(account) != 32:
            raise SystemExit(f"--key must be a 32-byte public key, got {len(account)} bytes")
    twin_id = backend.create_twin(account, relay=args.relay, key_type=args.key_type)
    print(f"twin {twin_id} account {ss58_address(account)}")
    return 0


def _twin_kyc(args: argparse.Namespace, backend: ChainBackend) -> int:
    backend.set_kyc_verified(args.twin, not args.revoke)
    return 0


def _farm_create(args: argparse.Namespace, backend: ChainBackend) -> int:
    ips = []
    for item in args.ip:
        ip, _, gateway = item.partition(",")
        ips.append(PublicIP(ip=ip, gateway=gateway))
    farm_id = backend.create_farm(_account(backend, args.twin), args.name, ips)
    print(f"farm {farm_id}")
    return 0


def _contract_create(args: argparse.Namespace, backend: ChainBackend) -> int:
    contract_id = backend.create_node_contract(
        _account(backend, args.twin), args.node, args.hash, args.data, args.public_ips,
        args.solution_provider)
    print(f"contract {contract_id}")
    return 0


def _contract_update(args: argparse.Namespace, backend: ChainBackend) -> int:
    owner = backend.get_contract(args.id).twin_id
    backend.update_node_contract(_account(backend, owner), args.id, args.hash, args.data)
    return 0


def _contract_cancel(args: argparse.Namespace, backend: ChainBackend) -> int:
    owner = args.twin or backend.get_contract(args.id).twin_id
    backend.cancel_contract(_account(backend, owner), args.id)
    return 0


def _contract_name(args: argparse.Namespace, backend: ChainBackend) -> int:
    print(f"contract {backend.create_name_contract(_account(backend, args.twin), args.name)}")
    return 0


def _contract_rent(args: argparse.Namespace, backend: ChainBackend) -> int:
    print(f"contract {backend.create_rent_contract(_account(backend, args.twin), args.node)}")
    return 0


def _grace_start(args: argparse.Namespace, backend: ChainBackend) -> int:
    backend.grace_period_start(args.id)
    return 0


def _grace_end(args: argparse.Namespace, backend: ChainBackend) -> int:
    backend.grace_period_end(args.id)
    return 0


def _node_public_config(args: argparse.Namespace, backend: ChainBackend) -> int:
    config = None
    if not args.clear:
        if not args.ip4 or not args.gw4:
            raise SystemExit("give --ip4 and --gw4 (or --clear)")
        config = PublicConfig(
            ip4=IP(ip=args.ip4, gw=args.gw4),
            ip6=OptionIP(has_value=bool(args.ip6), as_value=IP(ip=args.ip6 or "",
                                                               gw=args.gw6 or "")),
            domain=OptionDomain(has_value=bool(args.domain), as_value=args.domain or ""),
        )
    backend.set_node_public_config(args.id, config)
    return 0


def _node_power_target(args: argparse.Namespace, backend: ChainBackend) -> int:
    backend.set_power_target(args.id, args.target == "up")
    return 0


def _ping(args: argparse.Namespace, backend: ChainBackend) -> int:
    """Readiness check: exit 0 when the chain answers."""
    print(f"block {backend.get_block()}")
    return 0


def _list(args: argparse.Namespace, backend: ChainBackend) -> int:
    what = args.what
    listings: dict[str, Callable[[], list[Any]]] = {
        "twins": backend.list_twins,
        "farms": backend.list_farms,
        "nodes": backend.list_nodes,
        "contracts": backend.list_contracts,
        "events": lambda: backend.events(limit=10_000),
    }
    chosen = [what] if what != "all" else list(listings)
    if args.json:
        _print({name: [item.model_dump(mode="json") for item in listings[name]()]
                for name in chosen}, True)
        return 0
    for name in chosen:
        items = listings[name]()
        print(f"{name} ({len(items)}):")
        for item in items:
            print("  " + _summary(name, item))
    return 0


def _summary(kind: str, item: Any) -> str:
    if kind == "twins":
        relay = item.twin.relay.as_value or "-"
        kyc = "kyc" if item.kyc_verified else "no-kyc"
        return f"{item.twin.id}: {item.address} {item.key_type} relay={relay} {kyc}"
    if kind == "farms":
        ips = ", ".join(f"{ip.ip}({ip.contract_id or 'free'})" for ip in item.public_ips)
        return f"{item.id}: {item.name} twin={item.twin_id} ips=[{ips}]"
    if kind == "nodes":
        r = item.resources
        return (f"{item.id}: farm={item.farm_id} twin={item.twin_id} cru={r.cru} mru={r.mru} "
                f"sru={r.sru} hru={r.hru} public_config={item.public_config.has_value}")
    if kind == "contracts":
        state = ("deleted" if item.state.is_deleted else
                 f"grace@{item.state.as_grace_period_block_number}"
                 if item.state.is_grace_period else "created")
        kinds = item.contract_type
        if kinds.is_node_contract:
            what = (f"node node={kinds.node_contract.node_id} "
                    f"hash={kinds.node_contract.deployment_hash} "
                    f"ips={kinds.node_contract.public_ips_count}")
        elif kinds.is_name_contract:
            what = f"name {kinds.name_contract.name}"
        else:
            what = f"rent node={kinds.rent_contract.node_id}"
        return f"{item.contract_id}: twin={item.twin_id} {state} {what}"
    return (f"{item.seq}: block={item.block} {item.kind} node={item.node_id} "
            f"contract={item.contract_id}")


# --- parser -----------------------------------------------------------------------------------


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s chain %(message)s")
    chain = DevChain(args.db)
    server = ChainServer(chain, args.listen)
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"listening on {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        chain.close()
    return 0


def _with_backend(handler: Handler) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        backend = _backend(args)
        try:
            return handler(args, backend)
        except SubstrateError as exc:
            field = getattr(exc, "field", None)
            print(f"zos chain: {exc.message}" + (f" (field {field})" if field else ""),
                  file=sys.stderr)
            return 1
    return run


def build_parser(parser: argparse.ArgumentParser) -> None:
    """Add the chain commands to ``parser`` (``zos-chain`` itself or ``zos chain``)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", help="chain service URL (default $ZOS_CHAIN_URL)")
    common.add_argument("--db", help="chain sqlite file (default $ZOS_CHAIN_DB)")
    common.add_argument(
        "--state", type=Path, default=None,
        help="else: the chain of the development node with this state folder "
             f"(default {default_state_dir()})")
    commands = parser.add_subparsers(dest="chain_command", required=True)

    serve = commands.add_parser("serve", help="run the chain HTTP JSON service")
    serve.add_argument("--db", required=True, help="sqlite file (created if missing)")
    serve.add_argument("--listen", default="127.0.0.1:8844", help="HOST:PORT (port 0: any)")
    serve.set_defaults(func=_serve)

    def leaf(
        sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, handler: Handler,
        help: str,
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help)
        p.set_defaults(func=_with_backend(handler))
        return p

    twin = commands.add_parser("twin", help="twins").add_subparsers(dest="sub", required=True)
    p = leaf(twin, "create", _twin_create, "create a twin from a key or a mnemonic")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--key", help="32-byte ed25519 public key, hex")
    source.add_argument("--mnemonic", help="BIP39 words (substrate derivation)")
    source.add_argument("--generate", action="store_true", help="new random mnemonic")
    p.add_argument("--key-type", choices=["ed25519", "sr25519"], default="sr25519",
                   help="the account's key type (default sr25519, as grid clients)")
    p.add_argument("--relay", default="", help="relay address of the twin")
    p = leaf(twin, "kyc", _twin_kyc, "mark a twin KYC-verified")
    p.add_argument("twin", type=int)
    p.add_argument("--revoke", action="store_true")

    farm = commands.add_parser("farm", help="farms").add_subparsers(dest="sub", required=True)
    p = leaf(farm, "create", _farm_create, "create a farm")
    p.add_argument("--twin", type=int, required=True, help="owner twin id")
    p.add_argument("--name", required=True)
    p.add_argument("--ip", action="append", default=[], metavar="IP/CIDR,GATEWAY",
                   help="a public IP of the farm (repeatable)")

    contract = commands.add_parser("contract", help="contracts").add_subparsers(
        dest="sub", required=True)
    p = leaf(contract, "create", _contract_create, "create a node contract")
    p.add_argument("--twin", type=int, required=True)
    p.add_argument("--node", type=int, required=True)
    p.add_argument("--hash", required=True, help="deployment hash (32 hex characters)")
    p.add_argument("--data", default="")
    p.add_argument("--public-ips", type=int, default=0)
    p.add_argument("--solution-provider", type=int, default=None)
    p = leaf(contract, "update", _contract_update, "update a node contract's hash")
    p.add_argument("id", type=int)
    p.add_argument("--hash", required=True)
    p.add_argument("--data", default="")
    p = leaf(contract, "cancel", _contract_cancel, "cancel a contract")
    p.add_argument("id", type=int)
    p.add_argument("--twin", type=int, default=0, help="signer (default: the owner)")
    p = leaf(contract, "name", _contract_name, "register a name contract")
    p.add_argument("--twin", type=int, required=True)
    p.add_argument("name")
    p = leaf(contract, "rent", _contract_rent, "rent a node")
    p.add_argument("--twin", type=int, required=True)
    p.add_argument("--node", type=int, required=True)
    p = leaf(contract, "grace-start", _grace_start, "put a contract in its grace period")
    p.add_argument("id", type=int)
    p = leaf(contract, "grace-end", _grace_end, "end a contract's grace period")
    p.add_argument("id", type=int)

    node = commands.add_parser("node", help="nodes (farmer side)").add_subparsers(
        dest="sub", required=True)
    p = leaf(node, "public-config", _node_public_config, "set or clear a node's public config")
    p.add_argument("id", type=int)
    p.add_argument("--ip4")
    p.add_argument("--gw4")
    p.add_argument("--ip6")
    p.add_argument("--gw6")
    p.add_argument("--domain")
    p.add_argument("--clear", action="store_true")
    p = leaf(node, "power-target", _node_power_target, "set a node's power target")
    p.add_argument("id", type=int)
    p.add_argument("target", choices=["up", "down"])

    leaf(commands, "ping", _ping, "check that the chain answers (readiness probe)")

    p = leaf(commands, "list", _list, "list what is on the chain")
    p.add_argument("what", nargs="?", default="all",
                   choices=["all", "twins", "farms", "nodes", "contracts", "events"])
    p.add_argument("--json", action="store_true")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Entry point of ``zos.commands``: adds ``zos chain ...``."""
    build_parser(subparsers.add_parser("chain", help="the development chain"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="zos-chain", description=__doc__)
    build_parser(parser)
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)


if __name__ == "__main__":
    sys.exit(main())
