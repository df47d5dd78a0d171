"""provisiond's zbus objects: ``provision`` and ``statistics`` (module ``provision``, 0.0.1).

Method names are upstream's. Deployments and workloads cross the bus as their grid JSON
objects (msgpack maps with the JSON keys), which is what Python callers want; Go's gob-like
struct maps are not reproduced for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

import zos_zbus as zbus
from zos_provision.api import (
    MODULE,
    PROVISION_OBJECT,
    STATISTICS_OBJECT,
    VERSION,
    ProvisionError,
)
from zos_provision.api import Capacity as CapacityData
from zos_provision.engine import Engine
from zos_provision.model import parse_workload_id
from zos_zbus import U32, U64, GoName


class ProvisionCallError(zbus.CallError):
    """A provision call failed; the message is the engine's error text."""


@dataclass
class Capacity:
    cru: Annotated[U64, GoName("CRU")] = 0
    sru: Annotated[U64, GoName("SRU")] = 0
    hru: Annotated[U64, GoName("HRU")] = 0
    mru: Annotated[U64, GoName("MRU")] = 0
    ipv4u: Annotated[U64, GoName("IPV4U")] = 0

    @classmethod
    def of(cls, cap: CapacityData) -> Capacity:
        return cls(cap.cru, cap.sru, cap.hru, cap.mru, cap.ipv4u)


@dataclass
class Users:
    deployments: Annotated[U64, GoName("Deployments")] = 0
    workloads: Annotated[U64, GoName("Workloads")] = 0
    last_deployment_timestamp: Annotated[U64, GoName("LastDeploymentTimestamp")] = 0


@dataclass
class Counters:
    total: Annotated[Capacity, GoName("Total")] = field(default_factory=Capacity)
    used: Annotated[Capacity, GoName("Used")] = field(default_factory=Capacity)
    system: Annotated[Capacity, GoName("System")] = field(default_factory=Capacity)
    users: Annotated[Users, GoName("Users")] = field(default_factory=Users)
    open_connections: Annotated[int, GoName("OpenConnecions")] = 0  # sic, upstream's name


@zbus.interface(module=MODULE, object=PROVISION_OBJECT, version=VERSION)
class ProvisionInterface:
    @zbus.method("CreateOrUpdate", raises=ProvisionCallError)
    async def create_or_update(self, twin: U32, deployment: Any, update: bool) -> None:
        raise NotImplementedError

    @zbus.method("Get", raises=ProvisionCallError)
    async def get(self, twin: U32, contract: U64) -> Any:
        raise NotImplementedError

    @zbus.method("List", raises=ProvisionCallError)
    async def list_deployments(self, twin: U32) -> Any:
        raise NotImplementedError

    @zbus.method("Changes", raises=ProvisionCallError)
    async def changes(self, twin: U32, contract: U64) -> Any:
        raise NotImplementedError

    @zbus.method("ListPublicIPs", raises=ProvisionCallError)
    async def list_public_ips(self) -> list[str]:
        raise NotImplementedError

    @zbus.method("ListPrivateIPs", raises=ProvisionCallError)
    async def list_private_ips(self, twin: U32, network: str) -> list[str]:
        raise NotImplementedError

    @zbus.method("GetWorkloadStatus", raises=ProvisionCallError)
    async def get_workload_status(self, id: str) -> tuple[str, bool]:
        raise NotImplementedError

    @zbus.method("DecommissionCached", raises=ProvisionCallError)
    async def decommission_cached(self, id: str, reason: str) -> None:
        raise NotImplementedError


@zbus.interface(module=MODULE, object=STATISTICS_OBJECT, version=VERSION)
class StatisticsInterface:
    @zbus.method("Total")
    async def total(self) -> Capacity:
        raise NotImplementedError

    @zbus.method("Current")
    async def current(self) -> Capacity:
        raise NotImplementedError

    @zbus.method("Workloads")
    async def workloads(self) -> int:
        raise NotImplementedError

    @zbus.method("GetCounters")
    async def get_counters(self) -> Counters:
        raise NotImplementedError

    @zbus.method("ListGPUs")
    async def list_gpus(self) -> Any:
        raise NotImplementedError


class ProvisionObject(ProvisionInterface):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def create_or_update(self, twin: int, deployment: Any, update: bool) -> None:
        try:
            await self.engine.create_or_update(twin, deployment, update)
        except ProvisionError as err:
            raise ProvisionCallError(str(err)) from err

    async def get(self, twin: int, contract: int) -> Any:
        try:
            return self.engine.get(twin, contract).to_json()
        except ProvisionError as err:
            raise ProvisionCallError(str(err)) from err

    async def list_deployments(self, twin: int) -> Any:
        return [d.to_json() for d in self.engine.list_deployments(twin)]

    async def changes(self, twin: int, contract: int) -> Any:
        try:
            return [w.to_json() for w in self.engine.changes(twin, contract)]
        except ProvisionError as err:
            raise ProvisionCallError(str(err)) from err

    async def list_public_ips(self) -> list[str]:
        ips: list[str] = []
        for dep in self.engine.store.deployments():
            for wl in dep.workloads:
                data = wl.result.data if isinstance(wl.result.data, dict) else {}
                if wl.type in ("ip", "ipv4") and wl.result.state == "ok" and data.get("ip"):
                    ips.append(str(data["ip"]))
        return ips

    async def list_private_ips(self, twin: int, network: str) -> list[str]:
        ips: list[str] = []
        for dep in self.engine.store.deployments(twin):
            for wl in dep.workloads:
                if wl.type in ("zmachine", "zmachine-light") and wl.result.state not in (
                    "deleted",
                    "error",
                ):
                    net = (wl.data or {}).get("network") or {}
                    for iface in net.get("interfaces") or []:
                        if iface.get("network") == network and iface.get("ip"):
                            ips.append(str(iface["ip"]))
        return ips

    async def get_workload_status(self, id: str) -> tuple[str, bool]:
        try:
            twin, contract, name = parse_workload_id(id)
        except ValueError as err:
            raise ProvisionCallError(str(err)) from err
        return self.engine.store.workload_status(twin, contract, name)

    async def decommission_cached(self, id: str, reason: str) -> None:
        try:
            self.engine.decommission(id, reason)
        except (ProvisionError, ValueError) as err:
            raise ProvisionCallError(str(err)) from err


class StatisticsObject(StatisticsInterface):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def total(self) -> Capacity:
        return Capacity.of((await self.engine.counters()).total)

    async def current(self) -> Capacity:
        return Capacity.of((await self.engine.counters()).used)

    async def workloads(self) -> int:
        return (await self.engine.counters()).users.workloads

    async def get_counters(self) -> Counters:
        c = await self.engine.counters()
        return Counters(
            total=Capacity.of(c.total),
            used=Capacity.of(c.used),
            system=Capacity.of(c.system),
            users=Users(c.users.deployments, c.users.workloads, c.users.last_deployment_timestamp),
            open_connections=c.open_connections,
        )

    async def list_gpus(self) -> Any:
        return []
