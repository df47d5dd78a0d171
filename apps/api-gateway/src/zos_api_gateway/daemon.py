"""api-gateway: learn the node key from identityd, serve `BusGateway` on zbus until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Sequence

import zos_zbus as zbus
from zos_chain.api import MODULE, ChainBackend, base58_decode
from zos_chain.client import ChainClient
from zos_chain.devchain import DevChain
from zos_chain.gateway import BusGateway, ChainGateway
from zos_identity.api import IdentityManager

log = logging.getLogger("api-gateway")


async def node_public_key(bus: zbus.Client, attempts: int = 60) -> bytes:
    """The node's public key, from identityd (waits for it to come up)."""
    identity = bus.stub(IdentityManager, timeout=5)
    for attempt in range(attempts):
        try:
            return base58_decode(await identity.node_id())
        except (zbus.CallTimeout, zbus.BusUnavailable) as exc:
            log.info("waiting for identityd (%s)", exc)
            await asyncio.sleep(min(0.5 * (attempt + 1), 5))
    raise SystemExit("api-gateway: identityd does not answer")


async def run(args: argparse.Namespace) -> None:
    backend: ChainBackend = (ChainClient(args.chain_url) if args.chain_url
                             else DevChain(args.chain_db))
    async with zbus.Client(args.broker, timeout=30) as bus:
        signer = await node_public_key(bus)
    server = zbus.Server(MODULE, args.broker)
    server.register(BusGateway(ChainGateway(backend, signer)))
    log.info("serving the chain gateway on %s for key %s", args.broker, signer.hex())
    await zbus.serve(server)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="api-gateway", description=__doc__)
    parser.add_argument("--broker", default=zbus.DEFAULT_BROKER)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--chain-url", help="the development chain service")
    source.add_argument("--chain-db", help="a development chain file, opened in-process")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s api-gateway %(message)s")
    asyncio.run(run(args))
    return 0
