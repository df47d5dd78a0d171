"""noded: register the node, report uptime, serve `registrar` and `node`, forward events."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
from zos_storage.api import DeviceType, StorageModule
from zos_zbus.events import EventProducer

log = logging.getLogger("noded")

MAX_BACKOFF = 120.0
REREGISTER_INTERVAL = 24 * 3600.0


async def storage_totals(
    bus: zbus.Client, root: Path, deadline: float = 10.0
) -> tuple[int, int]:
    """(sru, hru) from storaged over zbus: ``Total(ssd)`` and ``Total(hdd)``.

    When storaged does not answer (a development node without it), the filesystem holding
    ``root`` stands in as the SSD capacity.
    """
    storage = bus.stub(StorageModule, timeout=deadline)
    try:
        return int(await storage.total(DeviceType.SSD)), int(await storage.total(DeviceType.HDD))
    except zbus.ZbusError as exc:
        log.warning("storaged capacity unavailable (%s); using the host's", exc)
        return await host.host_storage_totals(root)()


async def node_info(
    bus: zbus.Client, farm_id: int, root: Path, location: Location, storage_timeout: float
) -> NodeInfo:
    sru, hru = await storage_totals(bus, root, storage_timeout)
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
                    info = await node_info(bus, farm_id, root, location,
                                           args.storage_timeout)
                    return await register(gateway, public_key, info)

                result = await retry_forever("registration", attempt)
                registrar.set(result.node_id, result.twin_id)
                log.info("node %d, twin %d (%s)", result.node_id, result.twin_id,
                         "created" if result.created else "updated" if result.updated
                         else "unchanged")
                await next_registration(args.reregister_interval, args.address_poll)

        async def after_registration() -> None:
            await registrar.registered.wait()
            tasks = [uptime_loop(gateway)]
            if args.chain_url and registrar.node is not None:
                farm = await identity.farm_id()
                forwarder = EventForwarder(ChainClient(args.chain_url),
                                           EventProducer(args.broker), registrar.node, farm,
                                           root / "events.position")
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


async def next_registration(interval: float, poll: float) -> None:
    """Return when the node must register again: ``interval`` seconds passed (upstream's 24 h
    timer, which upstream never lets fire) or the ``zos`` interface's addresses changed."""
    before = host.interfaces()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + interval
    while (remaining := deadline - loop.time()) > 0:
        await asyncio.sleep(min(poll, remaining))
        if host.interfaces() != before:
            log.info("zos interface addresses changed; registering again")
            return


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="noded", description=__doc__)
    parser.add_argument("--broker", default=zbus.DEFAULT_BROKER)
    parser.add_argument("--root", default="/var/cache/modules/noded")
    parser.add_argument("--chain-url", default="", help="chain service, for its event feed")
    parser.add_argument("--city", default="")
    parser.add_argument("--country", default="")
    parser.add_argument("--monitor-interval", type=float, default=2.0)
    parser.add_argument("--address-poll", type=float, default=60.0,
                        help="how often to check the zos interface's addresses")
    parser.add_argument("--storage-timeout", type=float, default=10.0,
                        help="how long to wait for storaged's capacity figures")
    parser.add_argument("--reregister-interval", type=float, default=REREGISTER_INTERVAL)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s noded %(message)s")
    Path(args.root).mkdir(parents=True, exist_ok=True)
    asyncio.run(run(args))
    return 0
