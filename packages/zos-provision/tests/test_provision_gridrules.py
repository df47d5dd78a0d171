"""Admission with the real grid rules (zos-gridtypes): hashes, signatures, upstream texts."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from zos_gridtypes import Deployment, KeyPair, Volume, Workload, ZMount
from zos_provision.api import ProvisionError
from zos_provision.capacity import GiB, Memory
from zos_provision.engine import Engine, EngineConfig
from zos_provision.gridrules import GridtypesRules
from zos_provision.managers.storage import VolumeManager, ZMountManager
from zos_provision.store import Store
from zos_provision.testing import FileStorage, MemoryChain

TWIN, NODE = 42, 1
USER = KeyPair.from_seed(bytes(range(32)))
OTHER = KeyPair.from_seed(bytes(range(1, 33)))


class Env:
    def __init__(self, tmp: Path) -> None:
        self.chain = MemoryChain(keys={TWIN: USER.public_key, 77: OTHER.public_key})
        self.store = Store(tmp / "g.db")
        self.storage = FileStorage(tmp / "storage")
        self.engine = Engine(
            self.store,
            GridtypesRules(),
            self.chain,
            {"volume": VolumeManager(self.storage), "zmount": ZMountManager(self.storage)},
            EngineConfig(node_id=NODE),
            memory=lambda: Memory(16 * GiB, 12 * GiB),
        )

    def build(
        self,
        contract: int,
        version: int = 0,
        size: int = GiB,
        twin: int = TWIN,
        key: KeyPair = USER,
        chain: bool = True,
        vol_version: int = 0,
    ) -> dict[str, Any]:
        dep = Deployment.new(
            twin,
            [
                Workload.new("disk", ZMount(size=GiB)),
                Workload.new("vol", Volume(size=size), version=vol_version),
            ],
            contract_id=contract,
            version=version,
        )
        dep.sign(twin, bytes(range(32)) if key is USER else bytes(range(1, 33)))
        if chain:
            hash_hex = dep.challenge_hash_hex()
            if contract in self.chain.contracts:
                self.chain.contracts[contract].deployment_hash = hash_hex
            else:
                self.chain.create_contract(contract, twin, NODE, hash_hex)
        return json.loads(dep.model_dump_json())  # type: ignore[no-any-return]


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    e = Env(tmp_path)
    task = asyncio.create_task(e.engine.run())
    yield e
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    e.store.close()


async def test_deploy_and_grow_with_real_hashes(env: Env) -> None:
    await env.engine.create_or_update(TWIN, env.build(10), update=False)
    await asyncio.wait_for(env.engine.wait_idle(), 10)
    got = env.engine.get(TWIN, 10)
    assert [(w.name, w.result.state) for w in got.workloads] == [("disk", "ok"), ("vol", "ok")]
    update = env.build(10, version=1, size=2 * GiB, vol_version=1)
    await env.engine.create_or_update(TWIN, update, update=True)
    await asyncio.wait_for(env.engine.wait_idle(), 10)
    assert (await env.storage.volume_lookup("42-10-vol")).Usage.Size == 2 * GiB
    assert env.engine.get(TWIN, 10).version == 1


async def test_upstream_error_texts(env: Env) -> None:
    dep = env.build(11)
    dep["description"] = "tampered"
    with pytest.raises(ProvisionError, match=r"^failed to verify signature$"):
        await env.engine.create_or_update(TWIN, dep, update=False)
    signed_by_other = env.build(12, key=OTHER)  # claims twin 42, signed with 77's key
    with pytest.raises(ProvisionError, match=r"^failed to verify signature$"):
        await env.engine.create_or_update(TWIN, signed_by_other, update=False)
    with pytest.raises(ProvisionError) as info:
        await env.engine.create_or_update(77, env.build(13), update=False)
    assert str(info.value) == "twin id mismatch (deployment: 42, message: 77)"
    bad = env.build(14)
    bad["workloads"][0]["name"] = "bad-name"
    with pytest.raises(ProvisionError) as info:
        await env.engine.create_or_update(TWIN, bad, update=False)
    assert str(info.value) == "name 'bad-name' is invalid: unsupported character in workload name"
    await env.engine.create_or_update(TWIN, env.build(15), update=False)
    await asyncio.wait_for(env.engine.wait_idle(), 10)
    skip = env.build(15, version=2, vol_version=2)
    with pytest.raises(ProvisionError) as info:
        await env.engine.create_or_update(TWIN, skip, update=True)
    assert str(info.value) == "expecting deployment version 1, got 2: upgrade validation error"
    # another twin's contract id: the contract's hash is theirs, so the hash check refuses it
    theirs = env.build(16, twin=77, key=OTHER)
    mine = env.build(16, chain=False)
    await env.engine.create_or_update(77, theirs, update=False)
    await env.engine.create_or_update(TWIN, mine, update=False)
    await asyncio.wait_for(env.engine.wait_idle(), 10)
    assert {w.result.message for w in env.engine.get(TWIN, 16).workloads} == {
        "contract hash does not match deployment hash"
    }
    assert {w.result.state for w in env.engine.get(77, 16).workloads} == {"ok"}
    assert "42-16-vol" not in env.storage.names()
