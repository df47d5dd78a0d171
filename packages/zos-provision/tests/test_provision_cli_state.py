"""`zos deployment list --state DIR` finds the node's broker and chain from its state folder."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from zos_chain import ChainServer, DevChain
from zos_chain.devnode import redis_socket
from zos_chain.service import dev_node_url
from zos_provision.capacity import GiB, Memory
from zos_provision.cli import register
from zos_provision.client import Identity
from zos_provision.engine import Engine, EngineConfig
from zos_provision.msgbus import Router, stop_task
from zos_provision.node_api import NodeAPI, NodeInfo
from zos_provision.store import Store
from zos_provision.testing import MemoryChain, RecordingManager, StandInRules
from zos_zbus.testing import RedisServer

SEED = "11" * 32


def zos(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="zos")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    status: int = args.func(args)
    return status


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A development node's state folder with its redis on ``run/redis.sock``."""
    for name in ("ZOS_BROKER", "ZOS_CHAIN_URL", "ZOS_STATE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    folder = tmp_path / "node"
    # the node's broker lives at <state>/run/redis.sock
    with RedisServer(redis_socket(folder).parent):
        yield folder


async def test_deployment_list_by_state(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chain = DevChain(tmp_path / "chain.sqlite")
    redis = Redis(unix_socket_path=str(redis_socket(state)))
    store = Store(tmp_path / "node.db")
    engine = Engine(
        store, StandInRules(), MemoryChain(), {"volume": RecordingManager()},
        EngineConfig(node_id=1), memory=lambda: Memory(16 * GiB, 12 * GiB),
    )
    router = Router(redis)
    NodeAPI(engine, NodeInfo(farmer_twin=1, admin_twins=frozenset(), features=["volume"])).register(
        router
    )
    tasks = [asyncio.create_task(engine.run()), asyncio.create_task(router.serve())]
    try:
        with ChainServer(chain, dev_node_url(state).removeprefix("http://")):
            status = await asyncio.to_thread(
                zos, "deployment", "list", "--state", str(state), "--mnemonic", SEED, "--json"
            )
            assert status == 0, capsys.readouterr().err
            # the broker answered (no deployments yet) ...
            assert json.loads(capsys.readouterr().out) == []
            # ... and the client's twin was created on the node's chain
            key = Identity.from_secret(SEED).keys.public_key
            assert [t.twin.account for t in chain.list_twins()] == [key]
    finally:
        for task in tasks:
            await stop_task(task)
        await redis.aclose()
        store.close()
        chain.close()
    # the chain is gone, redis is not: still one clear line
    status = await asyncio.to_thread(zos, "deployment", "list", "--state", str(state))
    err = capsys.readouterr().err
    assert status == 1
    assert err == (
        f"zos: the development node at {state} is not running (no chain service on "
        f"{dev_node_url(state)}); start it with `zos node up --state {state}`\n"
    )


def test_missing_node_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ZOS_BROKER", "ZOS_CHAIN_URL"):
        monkeypatch.delenv(name, raising=False)
    missing = tmp_path / "nowhere"
    monkeypatch.setenv("ZOS_STATE", str(missing))  # the default state folder
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert zos("contract", "cancel", "7") == 1
    err = capsys.readouterr().err
    assert err.startswith(f"zos: no development node at {missing} ")
    assert f"zos node up --state {missing}" in err and err.count("\n") == 1
