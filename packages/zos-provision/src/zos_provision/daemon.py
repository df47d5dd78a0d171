"""provisiond: build the engine from its parts and serve it (zbus objects + the node API).

Startup follows upstream (spec §1) with the project's reboot rule (§9): on the first start
after a boot every active deployment is re-provisioned from the store, without waiting for
the chain (the node id and the contracts' last known state are kept in the store).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zos_zbus as zbus
from zos_chain.api import ContractResources, Resources, SubstrateGateway, ss58_address
from zos_provision import events
from zos_provision.api import MODULE
from zos_provision.api import Capacity as CapacityData
from zos_provision.chain import KycChecker, NoKyc
from zos_provision.chainlink import GatewayChainReader
from zos_provision.engine import Engine, EngineConfig
from zos_provision.gridrules import GridtypesRules
from zos_provision.kyc import HttpKyc
from zos_provision.managers.base import Manager
from zos_provision.managers.storage import VolumeManager, ZMountManager
from zos_provision.msgbus import Router
from zos_provision.node_api import NodeAPI, NodeInfo
from zos_provision.objects import ProvisionObject, StatisticsObject
from zos_provision.store import Store
from zos_provision.usage import Submit, UsageReporter
from zos_storage.api import DeviceType, StorageModule
from zos_zbus import U32

log = logging.getLogger("provisiond")

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
SYNC_INTERVAL = 3600.0


@zbus.interface(module="registrar", object="registrar", version="0.0.1")
class Registrar:
    """noded's registrar (client side): the node id once registration is done."""

    @zbus.method("NodeID")
    async def node_id(self) -> U32:
        raise NotImplementedError


@dataclass
class DaemonConfig:
    broker: str
    root: Path
    chain_url: str | None = None
    node_id: int | None = None
    farmer_twin: int | None = None
    admin_twins: frozenset[int] = frozenset()
    kyc_url: str | None = None
    boot_marker: Path = Path("/run/zos/provisiond.booted")
    chain_retry_limit: float = 600.0
    sync_interval: float = SYNC_INTERVAL
    extra: dict[str, Any] = field(default_factory=dict)


def first_start_after_boot(marker: Path) -> bool:
    """True when the marker is missing or names another kernel boot."""
    try:
        boot_id = BOOT_ID.read_text().strip()
    except OSError:
        boot_id = "unknown"
    try:
        return marker.read_text().strip() != boot_id
    except OSError:
        return True


def mark_booted(marker: Path) -> None:
    try:
        boot_id = BOOT_ID.read_text().strip()
    except OSError:
        boot_id = "unknown"
    marker.parent.mkdir(parents=True, exist_ok=True)
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(boot_id)
    tmp.replace(marker)


async def retry(what: str, fn: Callable[[], Awaitable[Any]], limit: float = 120.0) -> Any:
    """Call until it succeeds, with exponential backoff (max ``limit`` s between tries)."""
    delay = 1.0
    while True:
        try:
            return await fn()
        except Exception as err:
            log.warning("%s failed, retrying in %.0fs: %s", what, delay, err)
            await asyncio.sleep(delay)
            delay = min(delay * 2, limit)


async def resolve_node_id(cfg: DaemonConfig, store: Store, bus: zbus.Client) -> int:
    """The configured id, else the last known one, else noded's registrar (retried)."""
    if cfg.node_id is not None:
        return cfg.node_id
    known = store.meta_get("node_id")
    registrar = bus.stub(Registrar, timeout=10)
    if known is not None:
        return int(known)
    node_id = int(await retry("registrar NodeID", registrar.node_id))
    store.meta_set("node_id", str(node_id))
    return node_id


def chain_gateway(cfg: DaemonConfig, bus: zbus.Client) -> Any:
    """The chain through the api-gateway module on zbus, or a chain service's URL."""
    if cfg.chain_url is None:
        return bus.stub(SubstrateGateway, timeout=30)
    from zos_chain.client import ChainClient

    return ChainClient(cfg.chain_url)


def usage_submitter(cfg: DaemonConfig, gateway: Any) -> Submit | None:
    """Usage reports are signed by the node: only through the api-gateway module."""
    if cfg.chain_url is not None:
        return None

    async def submit(report: list[tuple[int, CapacityData]]) -> None:
        await gateway.set_contract_consumption(
            *[
                ContractResources(
                    contract_id=contract,
                    used=Resources(cru=used.cru, mru=used.mru, sru=used.sru, hru=used.hru),
                )
                for contract, used in report
            ]
        )

    return submit


async def resolve_farmer(info: NodeInfo, reader: GatewayChainReader, node_id: int) -> None:
    """The farm owner's twin, for the admin commands (farm → twin, spec §13)."""

    async def lookup() -> int:
        node = await reader.call(reader.gateway.get_node, node_id)
        farm = await reader.call(reader.gateway.get_farm, int(node.farm_id))
        return int(farm.twin_id)

    info.farmer_twin = int(await retry("farmer twin lookup", lookup))
    log.info("farmer twin %d", info.farmer_twin)


async def storage_pools(storage: Any) -> list[dict[str, Any]]:
    return [
        {"name": m.Name, "type": str(m.Type.value), "size": int(m.Size), "used": int(m.Used)}
        for m in await storage.metrics()
    ]


#: zbus modules whose health `zos.system.diagnostics` reports (those this node runs)
DIAGNOSED_MODULES = ("storage", "identityd", "api-gateway", "registrar", "node", "provision")


async def module_health(bus: zbus.Client) -> dict[str, str]:
    """Module name -> "" when it answers its zbus status, else why not."""

    async def one(name: str) -> str:
        try:
            await bus.status(name, timeout=2)
        except Exception as err:
            return str(err) or type(err).__name__
        return ""

    names = [n for n in DIAGNOSED_MODULES if n != MODULE]
    results = await asyncio.gather(*(one(n) for n in names))
    return dict(zip(names, results, strict=True))


async def periodic_sync(engine: Engine, interval: float, retry: float = 30.0) -> None:
    """At start and every ``interval``; after a failure (chain down at boot) every ``retry``."""
    while True:
        try:
            done = await engine.sync()
        except Exception:
            log.exception("sync with the chain failed")
            done = False
        await asyncio.sleep(interval if done else min(retry, interval))


async def run(cfg: DaemonConfig) -> None:
    cfg.root.mkdir(parents=True, exist_ok=True)
    store = Store(cfg.root / "provision.db")
    async with zbus.Client(cfg.broker, timeout=60) as bus:
        storage = bus.stub(StorageModule)
        managers: dict[str, Manager] = {
            "zmount": ZMountManager(storage),
            "volume": VolumeManager(storage),
        }

        async def disk_totals() -> tuple[int, int]:
            return int(await storage.total(DeviceType.SSD)), int(
                await storage.total(DeviceType.HDD)
            )

        async def cache_size() -> int:
            return int((await storage.cache()).Usage.Size)

        gateway = chain_gateway(cfg, bus)
        reader = GatewayChainReader(gateway)

        async def twin_address(twin: int) -> str:
            return ss58_address(await reader.get_twin_public_key(twin))

        kyc: KycChecker = HttpKyc(cfg.kyc_url, address=twin_address) if cfg.kyc_url else NoKyc()
        node_id = await resolve_node_id(cfg, store, bus)
        log.info("node id %d", node_id)
        engine = Engine(
            store,
            GridtypesRules(),
            reader,
            managers,
            EngineConfig(node_id=node_id, chain_retry_limit=cfg.chain_retry_limit),
            kyc=kyc,
            disk_totals=disk_totals,
            cache_size=cache_size,
        )
        for manager in managers.values():
            initialize = getattr(manager, "initialize", None)
            if initialize is not None:
                await initialize()
        if first_start_after_boot(cfg.boot_marker):
            count = engine.boot(True)
            log.info("first start after boot: re-provisioning %d deployments", count)
            mark_booted(cfg.boot_marker)
        router = Router(bus.redis)
        info = NodeInfo(
            farmer_twin=cfg.farmer_twin,
            admin_twins=cfg.admin_twins,
            features=sorted(managers),
            pools=lambda: storage_pools(storage),
            modules=lambda: module_health(bus),
        )
        NodeAPI(engine, info).register(router)
        background = []
        if info.farmer_twin is None:
            background.append(resolve_farmer(info, reader, node_id))
        submit = usage_submitter(cfg, gateway)
        if submit is not None:
            usage = UsageReporter(engine, submit)
            engine.on_job_done = usage.on_job_done
            usage.queue_all()
            background.append(usage.run())
        server = zbus.Server(MODULE, cfg.broker)
        server.register(ProvisionObject(engine))
        server.register(StatisticsObject(engine))
        tasks = [
            asyncio.create_task(engine.run(), name="engine"),
            asyncio.create_task(router.serve(), name="node-api"),
            asyncio.create_task(events.consume(bus.redis, engine), name="chain-events"),
            asyncio.create_task(periodic_sync(engine, cfg.sync_interval), name="sync"),
            *(asyncio.create_task(job) for job in background),
        ]
        try:
            await zbus.serve(server)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            store.close()
