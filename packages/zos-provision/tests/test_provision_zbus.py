"""The provision and statistics objects over a real zbus broker (module provision, 0.0.1)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

import zos_zbus as zbus
from zos_provision.api import (
    GoDeployment,
    ProvisionCallError,
    ProvisionInterface,
    StatisticsInterface,
)
from zos_provision.capacity import GiB, Memory
from zos_provision.engine import Engine, EngineConfig
from zos_provision.objects import ProvisionObject, StatisticsObject
from zos_provision.store import Store
from zos_provision.testing import MemoryChain, RecordingManager, StandInRules


async def test_objects_over_zbus(tmp_path: Path, zbus_broker: str) -> None:
    rules, chain = StandInRules(), MemoryChain()
    store = Store(tmp_path / "z.db")
    engine = Engine(
        store,
        rules,
        chain,
        {"volume": RecordingManager()},
        EngineConfig(node_id=1),
        memory=lambda: Memory(16 * GiB, 12 * GiB),
    )
    server = zbus.Server("provision", zbus_broker)
    server.register(ProvisionObject(engine))
    server.register(StatisticsObject(engine, interval=0.05))
    tasks = [asyncio.create_task(server.run()), asyncio.create_task(engine.run())]
    try:
        async with zbus.Client(zbus_broker, timeout=10) as bus:
            provision = bus.stub(ProvisionInterface)
            stats = bus.stub(StatisticsInterface)
            # the stand-in rules hash the JSON as sent: sign what the node receives (every
            # Go field present)
            dep = GoDeployment.from_json(
                {
                    "version": 0,
                    "twin_id": 42,
                    "contract_id": 8,
                    "workloads": [
                        {"version": 0, "name": "v", "type": "volume", "data": {"size": GiB}}
                    ],
                }
            ).to_json()
            rules.sign(dep, 42, chain.key_of(42))
            chain.create_contract(8, 42, 1, rules.challenge_hash(dep))
            await provision.create_or_update(42, GoDeployment.from_json(dep), False)
            with pytest.raises(zbus.RemoteCallError, match="exists"):
                await provision.create_or_update(42, GoDeployment.from_json(dep), False)
            await asyncio.wait_for(engine.wait_idle(), 5)
            got = await provision.get(42, 8)
            assert got.workloads[0].result.state == "ok"
            assert got.to_json()["workloads"][0]["data"] == {"size": GiB}
            assert [d.contract_id for d in await provision.list_deployments(42)] == [8]
            assert len(await provision.changes(42, 8)) == 2
            assert await provision.get_workload_status("42-8-v") == ("ok", True)
            assert await provision.get_workload_status("42-8-nope") == ("", False)
            counters = await stats.get_counters()
            assert counters.users.workloads == 1 and counters.used.sru >= GiB
            assert (await stats.total()).mru == 16 * GiB
            assert await stats.workloads() == 1
            await provision.decommission_cached("42-8-v", "crashed")
            await asyncio.sleep(0.05)
            await asyncio.wait_for(engine.wait_idle(), 5)
            assert await provision.get_workload_status("42-8-v") == ("error", True)
            with pytest.raises(zbus.RemoteCallError, match="deployment not found"):
                await provision.get(42, 9)
            async with bus.subscribe(StatisticsInterface.reserved_stream) as reserved:
                async for used in reserved:
                    assert used.mru >= 2 * GiB  # the system reserve at least
                    break
    finally:
        server.stop()
        tasks[1].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tasks[1]
        await tasks[0]
        store.close()
    assert ProvisionCallError.__mro__[1] is zbus.CallError
