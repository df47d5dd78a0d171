"""End to end on real parts: redis, storaged on btrfs loop disks, the development chain,
provisiond, and the `zos deploy` client. Deploy a disk and a volume, grow the disk, cancel;
kill -9 provisiond with jobs queued and check storaged holds exactly the workloads' objects."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgpack  # type: ignore[import-untyped]
import pytest
from redis.asyncio import Redis

import zos_zbus as zbus
from zos_chain.api import Node
from zos_chain.client import ChainClient
from zos_chain.devchain import DevChain
from zos_chain.service import ChainServer
from zos_provision.client import DeploySpec, Identity, NodeClient
from zos_storage.api import StorageModule
from zos_storage.loopdisk import LoopDisk, attach, detach, unmount_under
from zos_zbus.testing import RedisServer

MiB, GiB = 1024**2, 1024**3


@dataclass
class RealNode:
    tmp: Path
    broker: str
    chain: DevChain
    chain_url: str
    node_id: int
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def spawn(self, name: str, argv: list[str]) -> None:
        log = (self.tmp / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)

    def start_provisiond(self) -> None:
        self.spawn(
            "provisiond",
            [
                sys.executable,
                "-m",
                "zos_provisiond",
                "--broker",
                self.broker,
                "--root",
                str(self.tmp / "provisiond"),
                "--chain-url",
                self.chain_url,
                "--node-id",
                str(self.node_id),
                "--boot-marker",
                str(self.tmp / "booted"),
            ],
        )

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()

    def client(self, seed: int) -> NodeClient:
        return NodeClient(
            redis=Redis(unix_socket_path=self.broker.removeprefix("unix://")),
            chain=ChainClient(self.chain_url),
            identity=Identity(bytes([seed]) * 32),
            node_id=self.node_id,
            poll_interval=0.1,
            rpc_expiration=5.0,
        )

    async def objects(self) -> set[str]:
        async with zbus.Client(self.broker, timeout=10) as bus:
            storage = bus.stub(StorageModule)
            volumes = {v.Name for v in await storage.volume_list()}
            disks = {d.name for d in await storage.disk_list()}
        return volumes | disks


def wait_storaged(broker: str, root: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "storaged exited"
        if os.path.ismount(root / "cache"):
            try:
                with zbus.SyncClient(broker, timeout=2) as bus:
                    bus.status("storage", timeout=1)
                return
            except zbus.ZbusError:
                pass
        time.sleep(0.1)
    raise AssertionError("storaged not ready")


@pytest.fixture
def node(tmp_path: Path) -> Iterator[RealNode]:
    tag = "zp" + secrets.token_hex(3)
    disks: list[LoopDisk] = []
    redis = RedisServer(tmp_path / "redis").start()
    chain = DevChain(tmp_path / "chain.db")
    server = ChainServer(chain).start()
    node_key = b"\x11" * 32
    chain.create_twin(b"\x22" * 32)
    farm = chain.create_farm(b"\x22" * 32, name="farm")
    node_id = chain.create_node(node_key, Node(farm_id=farm, twin_id=chain.create_twin(node_key)))
    n = RealNode(tmp_path, redis.url, chain, server.url, node_id)
    try:
        for name in ("ssd0", "ssd1"):
            disks.append(attach(tmp_path / "disks" / f"{tag}-{name}.img", 3 * GiB))
        root = tmp_path / "storaged"
        argv = [
            sys.executable,
            "-m",
            "zos_storaged",
            "--broker",
            redis.url,
            "--root",
            str(root),
            "--label-prefix",
            f"{tag}-",
            "--cache-size",
            str(64 * MiB),
        ]
        for disk in disks:
            argv += ["--disk", f"{disk.device}=ssd"]
        n.spawn("storaged", argv)
        wait_storaged(redis.url, root, n.procs["storaged"])
        n.start_provisiond()
        yield n
    finally:
        n.stop("provisiond")
        n.stop("storaged")
        server.stop()
        redis.stop()
        unmount_under(tmp_path)
        for disk in reversed(disks):
            detach(disk)
            disk.file.unlink(missing_ok=True)


@pytest.fixture
async def client(node: RealNode) -> AsyncIterator[NodeClient]:
    c = node.client(5)
    yield c
    await c.close()


def spec(disk: str, volume: str) -> DeploySpec:
    return DeploySpec.parse(
        {
            "workloads": [
                {"name": "disk", "type": "zmount", "size": disk},
                {"name": "data", "type": "volume", "size": volume},
            ]
        }
    )


async def test_deploy_grow_cancel_on_storaged(node: RealNode, client: NodeClient) -> None:
    outcome = await client.deploy(spec("256MiB", "128MiB"), max_wait=60)
    assert outcome.ok, outcome.deployment
    twin, cid = await client.twin(), outcome.contract_id
    assert await node.objects() == {f"{twin}-{cid}-disk", f"{twin}-{cid}-data"}
    pools = await (await client.bus()).call("zos.storage.pools")
    assert {p["type"] for p in pools} == {"ssd"} and len(pools) == 2
    stats = await (await client.bus()).call("zos.statistics.get")
    assert stats["system"]["sru"] > 0  # the node cache
    assert stats["used"]["sru"] == stats["system"]["sru"] + 384 * MiB
    grown = await client.update(cid, spec("384MiB", "128MiB"), max_wait=60)
    assert grown.ok, grown.results
    async with zbus.Client(node.broker, timeout=10) as bus:
        disk = await bus.stub(StorageModule).disk_lookup(f"{twin}-{cid}-disk")
    assert disk.Size == 384 * MiB
    shrink = await client.update(cid, spec("128MiB", "128MiB"), max_wait=60)
    assert not shrink.ok
    assert shrink.results["disk"][0] == "unchanged"
    await client.cancel(cid)
    await client.redis.xadd(
        "stream:contract-cancelled", {"body": msgpack.packb({"Contract": cid, "TwinId": twin})}
    )
    for _ in range(200):
        if not await node.objects():
            break
        await asyncio.sleep(0.05)
    assert await node.objects() == set()


async def test_kill_9_leaves_no_orphans_on_storaged(node: RealNode) -> None:
    clients = [node.client(seed) for seed in range(10, 14)]
    try:
        tasks = [
            asyncio.create_task(c.deploy(spec("64MiB", "64MiB"), max_wait=120)) for c in clients
        ]
        for _ in range(400):
            if await node.objects():
                break
            await asyncio.sleep(0.01)
        node.stop("provisiond", signal.SIGKILL)
        node.start_provisiond()
        outcomes = await asyncio.gather(*tasks)
        assert all(o.ok for o in outcomes)
        expected = set()
        for c, o in zip(clients, outcomes, strict=True):
            twin = await c.twin()
            expected |= {f"{twin}-{o.contract_id}-disk", f"{twin}-{o.contract_id}-data"}
            states = Counter(
                (w["name"], w["result"]["state"]) for w in await c.changes(o.contract_id)
            )
            assert states[("disk", "ok")] == 1 and states[("data", "ok")] == 1
        assert await node.objects() == expected
    finally:
        for c in clients:
            await c.close()
