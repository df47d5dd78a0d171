"""zmount and volume managers on storaged's semantics (FileStorage), through the engine."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from zos_provision.capacity import GiB, Memory
from zos_provision.engine import Engine, EngineConfig
from zos_provision.managers.storage import VolumeManager, ZMountManager
from zos_provision.store import Store
from zos_provision.testing import FileStorage, MemoryChain, StandInRules

TWIN, NODE = 42, 1


class Env:
    def __init__(self, tmp: Path) -> None:
        self.storage = FileStorage(tmp / "storage")
        self.store = Store(tmp / "m.db")
        self.rules, self.chain = StandInRules(), MemoryChain()
        self.engine = Engine(
            self.store,
            self.rules,
            self.chain,
            {"volume": VolumeManager(self.storage), "zmount": ZMountManager(self.storage)},
            EngineConfig(node_id=NODE),
            memory=lambda: Memory(16 * GiB, 12 * GiB),
        )

    async def send(self, dep: dict[str, Any], update: bool = False) -> dict[str, Any]:
        self.rules.sign(dep, TWIN, self.chain.key_of(TWIN))
        self.chain.create_contract(dep["contract_id"], TWIN, NODE, self.rules.challenge_hash(dep))
        await self.engine.create_or_update(TWIN, dep, update=update)
        await asyncio.wait_for(self.engine.wait_idle(), 10)
        return self.engine.get(TWIN, dep["contract_id"]).to_json()


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    e = Env(tmp_path)
    task = asyncio.create_task(e.engine.run())
    yield e
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    e.store.close()


def dep(version: int, disk: int, vol: int, vol_version: int = 0, disk_version: int = 0) -> Any:
    return {
        "version": version,
        "twin_id": TWIN,
        "contract_id": 5,
        "workloads": [
            {"version": disk_version, "name": "disk", "type": "zmount", "data": {"size": disk}},
            {"version": vol_version, "name": "vol", "type": "volume", "data": {"size": vol}},
        ],
    }


async def test_create_grow_shrink_delete(env: Env) -> None:
    got = await env.send(dep(0, GiB, GiB))
    assert [w["result"]["state"] for w in got["workloads"]] == ["ok", "ok"]
    assert got["workloads"][0]["result"]["data"] == {"volume_id": "42-5-disk"}
    assert got["workloads"][1]["result"]["data"] == {"id": "42-5-vol"}
    assert (env.storage.disks / "42-5-disk").stat().st_size == GiB
    got = await env.send(dep(1, 3 * GiB, 2 * GiB, 1, 1), update=True)
    assert [w["result"]["state"] for w in got["workloads"]] == ["ok", "ok"]
    assert (env.storage.disks / "42-5-disk").stat().st_size == 3 * GiB
    assert (await env.storage.volume_lookup("42-5-vol")).Usage.Size == 2 * GiB
    # shrinking a disk: unchanged, the disk keeps its size and its ok result
    (env.storage.volumes / "42-5-vol" / "data").write_bytes(b"x" * 4096)
    got = await env.send(dep(2, GiB, 1024, 2, 2), update=True)
    assert [w["result"]["state"] for w in got["workloads"]] == ["ok", "ok"]
    log = [
        (w["name"], w["result"]["state"], w["result"]["message"])
        for w in (x.to_json() for x in env.engine.changes(TWIN, 5))
    ][-2:]
    assert ("disk", "unchanged", f"cannot shrink disk from {3 * GiB} to {GiB} bytes") in log
    assert ("vol", "unchanged", "cannot shrink volume to 1024 bytes, 4096 bytes are in use") in log
    assert (env.storage.disks / "42-5-disk").stat().st_size == 3 * GiB
    env.engine.contract_cancelled(5, "contract canceled event received")
    await asyncio.wait_for(env.engine.wait_idle(), 10)
    assert env.storage.names() == set()
    assert not env.store.exists(TWIN, 5)


async def test_provision_is_idempotent(env: Env) -> None:
    """A replayed job finds the objects it created before a crash."""
    await env.storage.disk_create("42-5-disk", GiB)
    await env.storage.volume_create("42-5-vol", GiB)
    got = await env.send(dep(0, GiB, GiB))
    assert [w["result"]["state"] for w in got["workloads"]] == ["ok", "ok"]
