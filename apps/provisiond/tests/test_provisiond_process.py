"""provisiond as a process: real redis, zbus, the development chain over HTTP, a file-backed
storaged, and the `zos deploy` client library. Deploy, update, cancel; kill -9 with jobs
queued; node restart; chain down at boot."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import msgpack  # type: ignore[import-untyped]
import pytest
from redis.asyncio import Redis

from zos_chain.api import Node
from zos_chain.client import ChainClient
from zos_chain.devchain import DevChain
from zos_chain.service import ChainServer
from zos_provision.client import DeploySpec, Identity, NodeClient
from zos_provision.testing import FileStorage
from zos_zbus.testing import RedisServer

HERE = Path(__file__).parent
GiB = 1024**3


@dataclass
class Node_:
    tmp: Path
    broker: str
    chain: DevChain
    chain_url: str
    node_id: int
    storage_delay: float = 0.0
    provisiond: subprocess.Popen[bytes] | None = None
    storaged: subprocess.Popen[bytes] | None = None

    @property
    def marker(self) -> Path:
        return self.tmp / "run" / "provisiond.booted"

    @property
    def files(self) -> FileStorage:
        return FileStorage(self.tmp / "storage")

    def start_storaged(self) -> None:
        self.storaged = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "provisiond_fake_storaged.py"),
                self.broker,
                str(self.tmp / "storage"),
                str(self.storage_delay),
            ]
        )

    def start(self, *extra: str, bare: bool = False) -> None:
        """provisiond with --chain-url and --node-id, or ``bare`` (zbus gateway, registrar)."""
        argv = [sys.executable, "-m", "zos_provisiond", "--broker", self.broker]
        argv += ["--root", str(self.tmp / "provisiond"), "--boot-marker", str(self.marker)]
        if not bare:
            argv += ["--chain-url", self.chain_url, "--node-id", str(self.node_id)]
            argv += ["--chain-retry-limit", "30"]
        self.provisiond = subprocess.Popen(
            [*argv, *extra],
            stdout=subprocess.DEVNULL,
            stderr=(self.tmp / "provisiond.log").open("ab"),
        )

    def kill(self) -> None:
        assert self.provisiond is not None
        os.kill(self.provisiond.pid, signal.SIGKILL)
        self.provisiond.wait()

    def stop(self) -> None:
        for proc in (self.provisiond, self.storaged):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait()

    def client(self, seed: int = 7) -> NodeClient:
        return NodeClient(
            redis=Redis(unix_socket_path=self.broker.removeprefix("unix://")),
            chain=ChainClient(self.chain_url),
            identity=Identity(bytes([seed]) * 32),
            node_id=self.node_id,
            poll_interval=0.1,
            rpc_expiration=5.0,
        )


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node_]:
    redis = RedisServer(tmp_path / "redis").start()
    chain = DevChain(tmp_path / "chain.db")
    server = ChainServer(chain).start()
    farmer = b"\x22" * 32
    chain.create_twin(farmer)
    farm = chain.create_farm(farmer, name="farm")
    node_key = b"\x11" * 32
    twin = chain.create_twin(node_key)
    node_id = chain.create_node(node_key, Node(farm_id=farm, twin_id=twin))
    n = Node_(tmp_path, redis.url, chain, server.url, node_id)
    n.start_storaged()
    try:
        yield n
    finally:
        n.stop()
        server.stop()
        redis.stop()


@pytest.fixture
async def client(node: Node_) -> AsyncIterator[NodeClient]:
    c = node.client()
    yield c
    await c.close()


SPEC = DeploySpec.parse(
    {
        "workloads": [
            {"name": "disk", "type": "zmount", "size": "2GiB"},
            {"name": "data", "type": "volume", "data": {"size": GiB}},
        ]
    }
)
GROWN = DeploySpec.parse(
    {
        "workloads": [
            {"name": "disk", "type": "zmount", "size": "3GiB"},
            {"name": "data", "type": "volume", "data": {"size": GiB}},
        ]
    }
)


async def until(predicate: object, limit: float = 60.0) -> None:
    # generous: on a loaded 2-core machine the processes under test start slowly
    assert callable(predicate)
    for _ in range(int(limit / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def test_deploy_update_cancel(node: Node_, client: NodeClient) -> None:
    node.start()
    outcome = await client.deploy(SPEC)
    assert outcome.ok, outcome.deployment
    cid = outcome.contract_id
    twin = await client.twin()
    assert node.files.names() == {f"{twin}-{cid}-disk", f"{twin}-{cid}-data"}
    grown = await client.update(cid, GROWN)
    assert grown.ok and grown.deployment["version"] == 1
    assert (node.files.disks / f"{twin}-{cid}-disk").stat().st_size == 3 * GiB
    disk = next(w for w in grown.deployment["workloads"] if w["name"] == "disk")
    assert disk["version"] == 1 and disk["result"]["data"] == {"volume_id": f"{twin}-{cid}-disk"}
    assert [d["contract_id"] for d in await client.list_deployments()] == [cid]
    states = [(w["name"], w["result"]["state"]) for w in await client.changes(cid)]
    assert states.count(("disk", "ok")) == 2 and states.count(("data", "ok")) == 1
    # cancel on the chain; noded forwards the event on the node event bus
    await client.cancel(cid)
    body = msgpack.packb({"Contract": cid, "TwinId": twin})
    await client.redis.xadd("stream:contract-cancelled", {"body": body})
    await until(lambda: not node.files.names())
    assert await client.list_deployments() == []


async def test_sync_removes_a_cancelled_contract_without_event(
    node: Node_, client: NodeClient
) -> None:
    node.start("--sync-interval", "0.5")
    outcome = await client.deploy(SPEC)
    await client.cancel(outcome.contract_id)
    await until(lambda: not node.files.names())


async def test_kill_9_with_queued_jobs_then_node_restart(node: Node_) -> None:
    node.stop()
    node.storage_delay = 0.15
    node.start_storaged()
    node.start()
    clients = [node.client(seed) for seed in range(1, 7)]
    try:
        deploys = [asyncio.create_task(c.deploy(SPEC, max_wait=120)) for c in clients]
        log = node.tmp / "storage" / "calls.log"
        await until(lambda: log.exists() and len(log.read_text().splitlines()) >= 3)
        node.kill()
        await asyncio.sleep(0.5)
        node.start()
        outcomes = await asyncio.gather(*deploys)
        assert all(o.ok for o in outcomes)
        expected = set()
        for c, o in zip(clients, outcomes, strict=True):
            twin = await c.twin()
            expected |= {f"{twin}-{o.contract_id}-disk", f"{twin}-{o.contract_id}-data"}
            log_states = Counter(
                (w["name"], w["result"]["state"]) for w in await c.changes(o.contract_id)
            )
            assert log_states == {
                ("disk", "init"): 1,
                ("disk", "ok"): 1,
                ("data", "init"): 1,
                ("data", "ok"): 1,
            }
        assert node.files.names() == expected
        # node restart: the store survives, every active workload is provisioned again
        node.provisiond.terminate()  # type: ignore[union-attr]
        node.provisiond.wait()  # type: ignore[union-attr]
        node.marker.unlink()
        node.chain.set_reachable(False)  # and the chain is down at boot
        node.start()
        c, o = clients[0], outcomes[0]
        await until(lambda: node.marker.exists())

        async def oks() -> int:
            log = await c.changes(o.contract_id)
            return sum(w["result"]["state"] == "ok" for w in log)

        for _ in range(1200):
            if await oks() == 4:
                break
            await asyncio.sleep(0.05)
        assert await oks() == 4  # each workload got a new ok after the boot
        for c, o in zip(clients, outcomes, strict=True):
            dep = await c.get(o.contract_id)
            assert {w["result"]["state"] for w in dep["workloads"]} == {"ok"}
        assert node.files.names() == expected
        node.chain.set_reachable(True)
    finally:
        for c in clients:
            await c.close()


def _zos(argv: list[str]) -> int:
    import argparse

    from zos_provision.cli import register

    parser = argparse.ArgumentParser(prog="zos")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


async def test_zos_deploy_command(node: Node_, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    node.start()
    spec = node.tmp / "disks.yaml"
    spec.write_text(
        "description: my disks\n"
        "workloads:\n"
        "  - {name: disk, type: zmount, size: 1GiB}\n"
        "  - {name: data, type: volume, size: 512MiB}\n"
    )
    common = [
        "--broker",
        node.broker,
        "--chain-url",
        node.chain_url,
        "--identity",
        str(node.tmp / "me.json"),
    ]
    code = await asyncio.to_thread(
        _zos, ["deploy", str(spec), "--node", str(node.node_id), "--json", *common]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["ok"] is True
    assert (node.tmp / "me.json").exists()  # identity created on first use
    cid = out["contract_id"]
    code = await asyncio.to_thread(_zos, ["deployment", "list", *common])
    assert code == 0 and str(cid) in capsys.readouterr().out
    spec.write_text(spec.read_text().replace("size: 1GiB", "size: 2GiB"))
    code = await asyncio.to_thread(_zos, ["deploy", str(spec), "--update", str(cid), *common])
    out_text = capsys.readouterr().out
    assert code == 0 and "version 1" in out_text, out_text
    code = await asyncio.to_thread(_zos, ["deployment", "changes", str(cid), "--json", *common])
    assert len(json.loads(capsys.readouterr().out)) == 5  # 2 init, 2 ok, 1 grown
    code = await asyncio.to_thread(_zos, ["contract", "cancel", str(cid), *common])
    assert code == 0
    # bad input: a clear message and exit status 2
    spec.write_text("workloads:\n  - {name: disk, type: zmount, size: lots}\n")
    code = await asyncio.to_thread(_zos, ["deploy", str(spec), *common])
    err = capsys.readouterr().err
    assert code == 2 and "workloads[0] (disk): invalid size 'lots'" in err


async def test_through_api_gateway_and_registrar(node: Node_) -> None:
    """No --chain-url, no --node-id: the chain over zbus (api-gateway), the node id from
    noded's registrar, the farmer twin from the farm; usage reported to the chain."""
    import zos_zbus as zbus
    from zos_chain.gateway import BusGateway, ChainGateway
    from zos_provision.daemon import Registrar

    class FakeRegistrar(Registrar):
        async def node_id(self) -> int:
            return node.node_id

    gateway = zbus.Server("api-gateway", node.broker)
    gateway.register(BusGateway(ChainGateway(node.chain, b"\x11" * 32)))
    registrar = zbus.Server("registrar", node.broker)
    registrar.register(FakeRegistrar())
    servers = [asyncio.create_task(s.run()) for s in (gateway, registrar)]
    node.start(bare=True)
    client = node.client(9)
    try:
        outcome = await client.deploy(SPEC, max_wait=60)
        assert outcome.ok, outcome.deployment
        reports = []
        for _ in range(100):
            reports = node.chain.consumption_reports(outcome.contract_id)
            if reports:
                break
            await asyncio.sleep(0.05)
        assert reports, "no usage report reached the chain"
        from zos_provision.msgbus import MsgbusClient, RemoteError

        farmer_twin = node.chain.get_farm(1).twin_id
        farmer = MsgbusClient(client.redis, farmer_twin, node.node_id)
        for _ in range(100):  # resolved in the background at start
            try:
                assert "lo" in await farmer.call("zos.admin.interfaces")
                break
            except RemoteError:
                await asyncio.sleep(0.05)
        else:
            raise AssertionError("the farmer twin was never resolved")
    finally:
        await client.close()
        node.stop()
        for s in (gateway, registrar):
            s.stop()
        await asyncio.gather(*servers)


async def test_failed_deploy_is_rolled_back(node: Node_, client: NodeClient) -> None:
    from zos_provision.client import SpecError

    node.start()
    zdb = DeploySpec.parse(
        {
            "workloads": [
                {
                    "name": "db",
                    "type": "zdb",
                    "data": {"size": GiB, "mode": "user", "password": "x"},
                }
            ]
        }
    )
    outcome = await client.deploy(zdb)
    assert not outcome.ok and outcome.rolled_back
    assert outcome.results == {"db": ("error", "workload type 'zdb' is not supported on this node")}
    assert node.chain.get_contract(outcome.contract_id).state.is_deleted
    first = await client.deploy(SPEC)
    assert first.ok
    with pytest.raises(SpecError, match="an identical deployment is already active on node"):
        await client.deploy(SPEC)


async def test_only_kyc_verified_twins_deploy(node: Node_, client: NodeClient) -> None:
    from zos_provision.msgbus import RemoteError

    node.start("--kyc-url", node.chain_url + "/kyc/v1/status/{address}")
    twin = await client.twin()
    with pytest.raises(RemoteError) as info:
        await client.deploy(SPEC, max_wait=30)
    assert str(info.value) == f"user with twin id {twin} is not verified"
    assert node.files.names() == set()
    node.chain.set_kyc_verified(twin, True)
    outcome = await client.deploy(SPEC, max_wait=30)
    assert outcome.ok


async def test_refused_update_keeps_the_running_deployment(node: Node_, client: NodeClient) -> None:
    node.start()
    outcome = await client.deploy(SPEC)
    assert outcome.ok
    client.chain.update_node_contract = lambda *args: 0  # type: ignore[method-assign]
    refused = await client.update(outcome.contract_id, GROWN, max_wait=30)
    assert not refused.ok
    assert refused.results["disk"] == ("unchanged", "contract hash does not match deployment hash")
    dep = await client.get(outcome.contract_id)
    assert dep["version"] == 0
    assert {w["result"]["state"] for w in dep["workloads"]} == {"ok"}
    twin = await client.twin()
    assert (node.files.disks / f"{twin}-{outcome.contract_id}-disk").stat().st_size == 2 * GiB
