"""noded: register the node, report uptime, serve `registrar` and `node`, forward events."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

import zos_zbus as zbus
from zos_chain.api import Location, SubstrateGateway, base58_decode
from zos_chain.client import ChainClient
from zos_identity.api import IdentityManager
from zos_noded import host
from zos_noded.api import NODE_MODULE, REGISTRAR_MODULE
from zos_noded.events import EventForwarder
from zos_noded.monitor import NodeMonitor, RegistrationState, UptimeMonitor
from zos_noded.registration import NodeInfo, register
from zos_noded.uptime import uptime_loop

log = logging.getLogger("noded")

MAX_BACKOFF = 120.0
REREGISTER_INTERVAL = 24 * 3600.0


async def storage_totals(bus: zbus.Client, root: Path) -> tuple[int, int]:
    """(sru, hru) from storaged over zbus: ``Total(ssd)`` and ``Total(hdd)``.

    STORAGED: the `zos_storage` api is imported by name so noded runs before that package is
    installed; without it (or without storaged answering) the host's figures stand in.
    """
    try:
        api: Any = importlib.import_module("zos_storage.api")
    except ImportError:
        return await host.host_storage_totals(root)()
    try:
        storage = bus.stub(api.StorageModule, timeout=10)
        return (int(await storage.total(api.DeviceType.SSD)),
                int(await storage.total(api.DeviceType.HDD)))
    except (zbus.ZbusError, AttributeError) as exc:
        log.warning("storaged capacity unavailable (%s); using the host's", exc)
        return await host.host_storage_totals(root)()


async def node_info(bus: zbus.Client, farm_id: int, root: Path, location: Location) -> NodeInfo:
    sru, hru = await storage_totals(bus, root)
    resources = await host.capacity(_fixed(sru, hru))
    return NodeInfo(farm_id=farm_id, resources=resources, location=location,
                    interfaces=host.interfaces(), secure_boot=host.secure_boot(),
                    virtualized=host.virtualized(), board_serial=host.board_serial())


def _fixed(sru: int, hru: int) -> host.StorageTotals:
    async def totals() -> tuple[int, int]:
        return sru, hru

    return totals


async def retry_forever(what: str, call: Any) -> Any:
    """Upstream's registration retry: forever, exponential backoff up to 2 minutes."""
    delay = 1.0
    while True:
        try:
            return await call()
        except Exception as exc:
            log.warning("%s failed (%s); retrying in %.0f s", what, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)


def redis_of(broker: str) -> Redis:
    if broker.startswith("unix://"):
        return Redis(unix_socket_path=broker.removeprefix("unix://"))
    host_port = broker.removeprefix("tcp://").rsplit("@", 1)[-1]
    hostname, _, port = host_port.partition(":")
    return Redis(host=hostname, port=int(port or 6379))


async def run(args: argparse.Namespace) -> None:
    root = Path(args.root)
    registrar = RegistrationState()
    registrar_server = zbus.Server(REGISTRAR_MODULE, args.broker)
    registrar_server.register(registrar)
    node_server = zbus.Server(NODE_MODULE, args.broker)
    node_server.register(NodeMonitor(registrar, args.monitor_interval))
    node_server.register(UptimeMonitor(args.monitor_interval))
    location = Location(city=args.city, country=args.country)
    async with zbus.Client(args.broker, timeout=30) as bus:
        identity = bus.stub(IdentityManager, timeout=10)
        gateway = bus.stub(SubstrateGateway, timeout=60)

        async def registration_loop() -> None:
            public_key = base58_decode(await retry_forever("asking identityd", identity.node_id))
            farm_id = await retry_forever("asking the farm id", identity.farm_id)
            while True:
                async def attempt() -> Any:
                    info = await node_info(bus, farm_id, root, location)
                    return await register(gateway, public_key, info)

                result = await retry_forever("registration", attempt)
                registrar.set(result.node_id, result.twin_id)
                log.info("node %d, twin %d (%s)", result.node_id, result.twin_id,
                         "created" if result.created else "updated" if result.updated
                         else "unchanged")
                await asyncio.sleep(args.reregister_interval)

        async def after_registration() -> None:
            await registrar.registered.wait()
            tasks = [uptime_loop(gateway)]
            if args.chain_url and registrar.node is not None:
                farm = await identity.farm_id()
                forwarder = EventForwarder(ChainClient(args.chain_url), redis_of(args.broker),
                                           registrar.node, farm, root / "events.position")
                tasks.append(forwarder.run())
            await asyncio.gather(*tasks)

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        servers = [asyncio.create_task(registrar_server.run()),
                   asyncio.create_task(node_server.run())]
        background = [asyncio.create_task(registration_loop()),
                      asyncio.create_task(after_registration())]
        stopping = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopping, *servers, *background],
                                     return_when=asyncio.FIRST_COMPLETED)
        registrar_server.stop()
        node_server.stop()
        for task in (*background, stopping):
            task.cancel()
        await asyncio.gather(*servers, *background, stopping, return_exceptions=True)
        for task in done:
            if task is not stopping and not task.cancelled() and task.exception():
                raise task.exception()  # type: ignore[misc]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="noded", description=__doc__)
    parser.add_argument("--broker", default=zbus.DEFAULT_BROKER)
    parser.add_argument("--root", default="/var/cache/modules/noded")
    parser.add_argument("--chain-url", default="", help="chain service, for its event feed")
    parser.add_argument("--city", default="")
    parser.add_argument("--country", default="")
    parser.add_argument("--monitor-interval", type=float, default=2.0)
    parser.add_argument("--reregister-interval", type=float, default=REREGISTER_INTERVAL)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s noded %(message)s")
    Path(args.root).mkdir(parents=True, exist_ok=True)
    asyncio.run(run(args))
    return 0
