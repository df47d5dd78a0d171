"""provisiond's zbus objects: the engine behind `api.ProvisionInterface` and
`api.StatisticsInterface` (module ``provision``, 0.0.1).

Deployments and workloads cross the bus in Go's struct layout (`api.GoDeployment`,
`api.GoWorkload`), as upstream's Go clients send and expect them; the engine keeps grid JSON,
so the conversion happens here, through the zos-gridtypes models (Go JSON decoding rules: an
RFC 3339 ``expiration`` or a differently cased key stored as sent still reads right).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from zos_provision.api import (
    Capacity,
    Counters,
    GoDeployment,
    GoWorkload,
    ProvisionCallError,
    ProvisionError,
    ProvisionInterface,
    StatisticsInterface,
)
from zos_provision.engine import Engine
from zos_provision.model import parse_workload_id


class ProvisionObject(ProvisionInterface):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def create_or_update(self, twin: int, deployment: GoDeployment, update: bool) -> None:
        try:
            raw = deployment.to_json()  # ValueError: a workload's data is not JSON
            await self.engine.create_or_update(twin, raw, update)
        except (ProvisionError, ValueError) as err:
            raise ProvisionCallError(str(err)) from err

    async def get(self, twin: int, contract: int) -> GoDeployment:
        try:
            return GoDeployment.from_json(self.engine.get(twin, contract).to_json())
        except (ProvisionError, ValueError) as err:
            raise ProvisionCallError(str(err)) from err

    async def list_deployments(self, twin: int) -> list[GoDeployment]:
        try:
            return [GoDeployment.from_json(d.to_json()) for d in self.engine.list_deployments(twin)]
        except ValueError as err:
            raise ProvisionCallError(str(err)) from err

    async def changes(self, twin: int, contract: int) -> list[GoWorkload]:
        try:
            return [GoWorkload.from_json(w.to_json()) for w in self.engine.changes(twin, contract)]
        except (ProvisionError, ValueError) as err:
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
    def __init__(self, engine: Engine, interval: float = 120.0) -> None:
        self.engine = engine
        self.interval = interval

    async def total(self) -> Capacity:
        return (await self.engine.counters()).total

    async def current(self) -> Capacity:
        return (await self.engine.counters()).used

    async def workloads(self) -> int:
        return (await self.engine.counters()).users.workloads

    async def get_counters(self) -> Counters:
        return await self.engine.counters()

    async def list_gpus(self) -> Any:
        return []

    async def reserved_stream(self) -> AsyncIterator[Capacity]:
        while True:
            yield (await self.engine.counters()).used
            await asyncio.sleep(self.interval)
