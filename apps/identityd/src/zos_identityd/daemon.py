"""identityd: load the seed, serve `IdentityService` on zbus until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import zos_zbus as zbus
from zos_chain.client import ChainClient
from zos_identity.api import MODULE, SeedError
from zos_identity.manager import NodeIdentityManager, parse_cmdline
from zos_identity.service import IdentityService, VersionService

log = logging.getLogger("identityd")

EXIT_BAD_SEED = 2


def farm_from_cmdline(path: Path = Path("/proc/cmdline")) -> tuple[int | None, str]:
    try:
        params = parse_cmdline(path.read_text())
    except OSError:
        return None, ""
    farm = params.get("farmer_id", "")
    return (int(farm) if farm.isdigit() else None), params.get("farm_secret", "")


def build_manager(args: argparse.Namespace) -> NodeIdentityManager:
    farm_id, secret = farm_from_cmdline()
    if args.farm_id is not None:
        farm_id = args.farm_id
    farm_name = None
    if args.chain_url:
        chain = ChainClient(args.chain_url)

        async def lookup(farm: int) -> str:
            return (await asyncio.to_thread(chain.get_farm, farm)).name

        farm_name = lookup
    return NodeIdentityManager.from_seed_file(Path(args.root) / "seed.txt", farm_id, secret,
                                              farm_name)


async def serve(args: argparse.Namespace, manager: NodeIdentityManager) -> None:
    server = zbus.Server(MODULE, args.broker)
    server.register(IdentityService(manager))
    server.register(VersionService(args.version))
    log.info("node %s (%s) serving on %s", manager.node_id(), manager.address(), args.broker)
    await zbus.serve(server)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="identityd", description=__doc__)
    parser.add_argument("--broker", default=zbus.DEFAULT_BROKER)
    parser.add_argument("--root", default="/var/cache/modules/identityd")
    parser.add_argument("--farm-id", type=int, default=None)
    parser.add_argument("--chain-url", default="", help="chain service, to name the farm")
    parser.add_argument("--version", default="0.1.0", help="the node's software version")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s identityd %(message)s")
    try:
        manager = build_manager(args)
    except SeedError as exc:
        print(f"identityd: {exc}", file=sys.stderr, flush=True)
        return EXIT_BAD_SEED
    asyncio.run(serve(args, manager))
    return 0
