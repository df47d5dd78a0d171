"""The chain and api-gateway modules of the development node; the daemon over zbus."""

from __future__ import annotations

import asyncio
import shlex
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

import zos_zbus as zbus
from zos_chain import ChainServer, DevChain
from zos_chain.api import SubstrateGateway, unwrap
from zos_chain.service import dev_node_url
from zos_cli.node_modules import ENTRY_POINT_GROUP, NodeContext, NodeModule
from zos_identity import NodeIdentityManager
from zos_identity.api import MODULE as IDENTITY_MODULE
from zos_identity.service import IdentityService


def test_modules_are_registered(tmp_path: Path) -> None:
    found = {e.name: e.load() for e in entry_points(group=ENTRY_POINT_GROUP)}
    for name in ("chain", "api-gateway", "identityd", "noded"):
        assert isinstance(found[name], NodeModule), name
    ctx = NodeContext(tmp_path, "unix:///tmp/x.sock", sys.executable)
    chain_module = found["chain"]
    chain_module.prepare(ctx)
    chain_module.prepare(ctx)  # idempotent: one farm
    chain = DevChain(tmp_path / "modules" / "chain" / "chain.sqlite")
    assert [farm.id for farm in chain.list_farms()] == [1]
    chain.close()
    service = chain_module.services(ctx)["chain"]
    assert dev_node_url(tmp_path).removeprefix("http://") in service["exec"]
    assert shlex.split(service["test"])[-1] == dev_node_url(tmp_path)
    gateway = found["api-gateway"].services(ctx)["api-gateway"]
    assert set(gateway["after"]) == {"identityd", "chain"}
    assert found["noded"].services(ctx)["noded"]["after"][:2] == ["identityd", "api-gateway"]
    chain_module.cleanup(ctx)
    assert (tmp_path / "modules" / "chain" / "chain.sqlite").exists()


def test_chain_ping(tmp_path: Path) -> None:
    ping = [sys.executable, "-m", "zos_chain.cli", "ping", "--url", "http://127.0.0.1:9"]
    assert subprocess.run(ping, capture_output=True, check=False).returncode == 1
    chain = DevChain(tmp_path / "c.sqlite")
    with ChainServer(chain) as server:
        ping[-1] = server.url
        assert subprocess.run(ping, capture_output=True, check=False).returncode == 0
    chain.close()


async def test_daemon_signs_as_the_node(tmp_path: Path, zbus_broker: str) -> None:
    manager = NodeIdentityManager.from_seed_file(tmp_path / "seed.txt", farm_id=1)
    identity_server = zbus.Server(IDENTITY_MODULE, zbus_broker)
    identity_server.register(IdentityService(manager))
    identity_task = asyncio.create_task(identity_server.run())
    chain = DevChain(tmp_path / "chain.sqlite")
    log = (tmp_path / "gateway.log").open("wb")
    proc = subprocess.Popen(  # noqa: ASYNC220 - starting a daemon is quick
        [sys.executable, "-m", "zos_api_gateway", "--broker", zbus_broker,
         "--chain-db", str(tmp_path / "chain.sqlite")],
        stdout=log, stderr=log)
    try:
        async with zbus.Client(zbus_broker, timeout=5) as bus:
            gateway = bus.stub(SubstrateGateway)
            deadline = time.monotonic() + 30
            while True:
                try:
                    twin = await gateway.create_twin("relay.dev", b"")
                    break
                except zbus.CallTimeout:
                    assert time.monotonic() < deadline, (tmp_path / "gateway.log").read_text()
            assert unwrap(await gateway.get_twin_by_pub_key(manager.keys.public_key)) == twin
            assert chain.get_twin(twin).account == manager.keys.public_key
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0
        identity_server.stop()
        await identity_task
        chain.close()
