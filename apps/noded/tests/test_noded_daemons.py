"""identityd, api-gateway and noded as processes: the node registers itself on the chain,
keeps its identity and node across restarts, and chain events reach the node event bus."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import zos_zbus as zbus
from zos_chain import ChainServer, DevChain
from zos_chain.api import base58_decode
from zos_identity.api import IdentityManager
from zos_noded.api import Registrar, SystemMonitor
from zos_zbus.events import CONTRACT_CANCELLED, ContractCancelledEvent, EventConsumer

FARMER = bytes.fromhex("fa" * 32)
USER = bytes.fromhex("bb" * 32)


class Daemons:
    def __init__(self, broker: str, root: Path, chain_url: str) -> None:
        self.broker, self.root, self.chain_url = broker, root, chain_url
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> None:
        argv = {
            "identityd": ["-m", "zos_identityd", "--root", str(self.root / "identityd"),
                          "--farm-id", "1", "--chain-url", self.chain_url],
            "api-gateway": ["-m", "zos_api_gateway", "--chain-url", self.chain_url],
            "noded": ["-m", "zos_noded", "--root", str(self.root / "noded"), "--chain-url",
                      self.chain_url, "--monitor-interval", "0.2", "--storage-timeout", "1"],
        }[name]
        log = (self.root / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen([sys.executable, *argv, "--broker", self.broker],
                                            stdout=log, stderr=log)

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(timeout=15) == 0, (self.root / f"{name}.log").read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def stop_all(self) -> None:
        for name in list(self.procs)[::-1]:
            with contextlib.suppress(Exception):
                self.stop(name)


@pytest.fixture
def daemons(tmp_path: Path, zbus_broker: str) -> Iterator[tuple[Daemons, DevChain]]:
    chain = DevChain(tmp_path / "chain.sqlite")
    chain.create_twin(FARMER)
    chain.create_farm(FARMER, "farm")
    with ChainServer(chain) as server:
        running = Daemons(zbus_broker, tmp_path, server.url)
        try:
            yield running, chain
        finally:
            running.stop_all()
    chain.close()


async def wait_registered(broker: str, limit: float = 60) -> tuple[int, int]:
    deadline = time.monotonic() + limit
    async with zbus.Client(broker, timeout=2) as bus:
        registrar = bus.stub(Registrar)
        while True:
            try:
                return await registrar.node_id(), await registrar.twin_id()
            except (zbus.RemoteCallError, zbus.CallTimeout):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)


async def test_node_registers_itself(daemons: tuple[Daemons, DevChain], tmp_path: Path) -> None:
    running, chain = daemons
    for name in ("identityd", "api-gateway", "noded"):
        running.start(name)
    node_id, twin_id = await wait_registered(running.broker)
    node = chain.get_node(node_id)
    assert node.twin_id == twin_id and node.farm_id == 1
    assert node.resources.cru == os.cpu_count() and node.resources.mru > 0
    assert node.resources.sru > 0
    async with zbus.Client(running.broker, timeout=5) as bus:
        node_key = base58_decode(await bus.stub(IdentityManager).node_id())
        assert chain.get_twin(twin_id).account == node_key
        system = bus.stub(SystemMonitor)
        assert await system.node_id() == node_id
        async with bus.subscribe(SystemMonitor.memory) as memory:
            sample = await asyncio.wait_for(anext(memory), 10)
            assert sample.Total == node.resources.mru
    deadline = time.monotonic() + 10
    while not chain.uptime_reports(node_id):
        assert time.monotonic() < deadline, "no uptime report"
        await asyncio.sleep(0.1)

    # chain events for this node reach a subscriber on the node event bus
    contract = chain.create_twin(USER) and chain.create_node_contract(
        USER, node_id, hashlib.md5(b"d").hexdigest())
    chain.grace_period_start(contract)
    chain.cancel_contract(USER, contract)
    subscriber = EventConsumer(running.broker, CONTRACT_CANCELLED, "test", block_ms=200)
    got: list[ContractCancelledEvent] = []
    deadline = time.monotonic() + 20
    while not got:
        assert time.monotonic() < deadline, "the cancel event did not arrive"
        for delivery in await subscriber.read():
            got.append(delivery.event)
            await delivery.ack()
    await subscriber.close()
    assert got == [ContractCancelledEvent(contract=contract,
                                          twin_id=chain.get_twin_by_pub_key(USER))]

    # restarts keep the identity and the node: updated, never duplicated
    running.stop("noded")
    running.stop("identityd")
    running.start("identityd")
    running.start("noded")
    assert await wait_registered(running.broker) == (node_id, twin_id)
    assert len(chain.list_nodes()) == 1 and len(chain.list_twins()) == 3


async def test_unreadable_seed_stops_identityd(daemons: tuple[Daemons, DevChain],
                                               tmp_path: Path) -> None:
    running, _ = daemons
    seed = tmp_path / "identityd" / "seed.txt"
    seed.parent.mkdir()
    seed.write_bytes(b'"1.0.0"truncated')
    running.start("identityd")
    proc = running.procs.pop("identityd")
    assert proc.wait(timeout=15) == 2
    log = (tmp_path / "identityd.log").read_text()
    assert "holds 9 bytes" in log and "will not start with a new identity" in log
    assert seed.read_bytes() == b'"1.0.0"truncated'
