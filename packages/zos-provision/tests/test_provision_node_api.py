"""The zos.* API over the msgbus protocol, on a real redis-server."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from zos_provision.capacity import GiB, Memory
from zos_provision.engine import Engine, EngineConfig
from zos_provision.msgbus import MsgbusClient, RemoteError, Router, stop_task
from zos_provision.node_api import NodeAPI, NodeInfo
from zos_provision.store import Store
from zos_provision.testing import MemoryChain, RecordingManager, StandInRules

NODE, TWIN, FARMER = 3, 42, 9


class Node:
    def __init__(self, tmp: Path, redis: Redis) -> None:
        self.store = Store(tmp / "api.db")
        self.rules = StandInRules()
        self.chain = MemoryChain()
        self.engine = Engine(
            self.store,
            self.rules,
            self.chain,
            {"volume": RecordingManager()},
            EngineConfig(node_id=NODE),
            memory=lambda: Memory(16 * GiB, 12 * GiB),
        )
        self.router = Router(redis)
        NodeAPI(
            self.engine,
            NodeInfo(
                farmer_twin=FARMER, admin_twins=frozenset({FARMER}), features=["zmount", "volume"]
            ),
        ).register(self.router)
        self.redis = redis
        self.contract = 500

    def client(self, twin: int = TWIN) -> MsgbusClient:
        return MsgbusClient(self.redis, twin, NODE)

    def deployment(self, twin: int = TWIN, size: int = GiB) -> dict[str, Any]:
        self.contract += 1
        dep = {
            "version": 0,
            "twin_id": twin,
            "contract_id": self.contract,
            "workloads": [{"version": 0, "name": "v", "type": "volume", "data": {"size": size}}],
        }
        self.rules.sign(dep, twin, self.chain.key_of(twin))
        self.chain.create_contract(self.contract, twin, NODE, self.rules.challenge_hash(dep))
        return dep


@pytest.fixture
async def node(tmp_path: Path, redis: Redis) -> AsyncIterator[Node]:
    n = Node(tmp_path, redis)
    tasks = [asyncio.create_task(n.engine.run()), asyncio.create_task(n.router.serve())]
    yield n
    for task in tasks:
        await stop_task(task)
    n.store.close()


async def wait_state(client: MsgbusClient, contract: int, state: str) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while True:
        dep = await client.call("zos.deployment.get", {"contract_id": contract})
        if all(w["result"]["state"] == state for w in dep["workloads"]):
            return dep  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, dep
        await asyncio.sleep(0.05)


async def test_deploy_get_list_changes(node: Node) -> None:
    client = node.client()
    dep = node.deployment()
    assert await client.call("zos.deployment.deploy", dep) is None
    got = await wait_state(client, dep["contract_id"], "ok")
    assert got["workloads"][0]["data"] == {"size": GiB}
    listed = await client.call("zos.deployment.list")
    assert [d["contract_id"] for d in listed] == [dep["contract_id"]]
    changes = await client.call("zos.deployment.changes", {"contract_id": dep["contract_id"]})
    assert [c["result"]["state"] for c in changes] == ["init", "ok"]
    # another twin sees nothing of it
    other = node.client(77)
    assert await other.call("zos.deployment.list") == []
    with pytest.raises(RemoteError, match="deployment not found"):
        await other.call("zos.deployment.get", {"contract_id": dep["contract_id"]})
    stats = await client.call("zos.statistics.get")
    assert stats["users"]["deployments"] == 1
    assert stats["users"]["workloads"] == 1
    assert stats["used"]["sru"] == GiB


async def test_errors_come_back_at_once(node: Node) -> None:
    client = node.client()
    dep = node.deployment(twin=77)  # signed by 77 but sent by 42
    start = time.monotonic()
    with pytest.raises(RemoteError) as info:
        await client.call("zos.deployment.deploy", dep)
    assert str(info.value) == "twin id mismatch (deployment: 77, message: 42)"
    dep = node.deployment()
    dep["description"] = "changed after signing"
    with pytest.raises(RemoteError, match=r"^failed to verify signature$"):
        await client.call("zos.deployment.deploy", dep)
    with pytest.raises(RemoteError) as info:
        await client.call("zos.deployment.delete", {"contract_id": 1})
    assert str(info.value) == (
        "deletion over the api is disabled, please cancel your contract instead"
    )
    with pytest.raises(RemoteError, match="missing field 'contract_id'"):
        await client.call("zos.deployment.get", {})
    with pytest.raises(RemoteError, match="the deployment must be a JSON object"):
        await client.call("zos.deployment.deploy", [1])
    assert time.monotonic() - start < 2


async def test_processing_error_in_result_within_a_second(node: Node) -> None:
    client = node.client()
    dep = node.deployment()
    node.chain.contracts[dep["contract_id"]].deployment_hash = "f" * 32
    start = time.monotonic()
    await client.call("zos.deployment.deploy", dep)
    got = await wait_state(client, dep["contract_id"], "error")
    assert time.monotonic() - start < 1
    assert (
        got["workloads"][0]["result"]["message"] == "contract hash does not match deployment hash"
    )


async def test_unknown_function_schema_and_features(node: Node, redis: Redis) -> None:
    client = node.client()
    assert await client.call("zos.system.node_features_get") == ["zmount", "volume"]
    version = await client.call("zos.system.version")
    assert set(version) == {"zos", "zinit"}
    diag = await client.call("zos.system.diagnostics")
    assert diag["healthy"] is True and diag["provision_queue"]["length"] == 0
    # the router answers an unknown command on a queue it serves, and a non-JSON schema
    ret = "msgbus.test.reply"
    for cmd, shm in (("zos.nothing", "application/json"), ("zos.system.version", "text/plain")):
        req = {
            "ver": 1,
            "ref": cmd + shm,
            "src": "42",
            "cmd": cmd,
            "exp": 10,
            "dat": base64.b64encode(b"null").decode(),
            "tag": None,
            "ret": ret,
            "shm": shm,
            "now": int(time.time()),
        }
        await redis.lpush("msgbus.zos.system.version", json.dumps(req))
        item = await redis.brpop([ret], timeout=5)  # type: ignore[list-item]
        assert item is not None
        answer = json.loads(item[1])
        assert answer["ref"] == req["ref"] and answer["dst"] == "42"
        assert answer["err"]["code"] == 0
        assert answer["err"]["message"] in (
            "function is not found",
            "unsupported schema 'text/plain', expected 'application/json'",
        )


async def test_malformed_and_expired_requests_are_dropped(node: Node, redis: Redis) -> None:
    await redis.lpush("msgbus.zos.system.version", b"not json")
    expired = {
        "ver": 1,
        "ref": "old",
        "src": "42",
        "cmd": "zos.system.version",
        "exp": 5,
        "dat": "",
        "ret": "msgbus.test.expired",
        "shm": "",
        "now": int(time.time()) - 60,
    }
    await redis.lpush("msgbus.zos.system.version", json.dumps(expired))
    # the router keeps serving after both
    assert "zos" in await node.client().call("zos.system.version")
    assert await redis.llen("msgbus.test.expired") == 0


async def test_admin_commands_for_the_farmer_only(node: Node) -> None:
    with pytest.raises(RemoteError, match=r"^unauthorized$"):
        await node.client().call("zos.admin.interfaces")
    interfaces = await node.client(FARMER).call("zos.admin.interfaces")
    assert "lo" in interfaces
    with pytest.raises(RemoteError, match=r"^unauthorized$"):
        await node.client().call("zos.debug.deployment.list", {})
    assert await node.client(FARMER).call("zos.debug.deployment.list", {}) == []
