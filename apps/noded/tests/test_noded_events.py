"""Chain events reach a subscriber on the node event bus (real redis)."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from zos_chain import ChainClient, ChainGateway, ChainServer, DevChain
from zos_chain.api import IP, Node, PublicConfig, Resources
from zos_noded.events import EventForwarder, consume

FARMER = bytes.fromhex("aa" * 32)
USER = bytes.fromhex("bb" * 32)
NODE_KEY = bytes.fromhex("cc" * 32)


@pytest.fixture
def redis_socket(tmp_path: Path) -> Iterator[Path]:
    server = shutil.which("redis-server")
    assert server, "redis-server is required (scripts/system-packages.txt)"
    socket = tmp_path / "redis.sock"
    proc = subprocess.Popen(
        [server, "--port", "0", "--unixsocket", str(socket), "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not socket.exists():
        assert time.monotonic() < deadline, "redis did not start"
        time.sleep(0.02)
    yield socket
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
async def redis(redis_socket: Path) -> AsyncIterator[Redis]:
    client = Redis(unix_socket_path=str(redis_socket))
    yield client
    await client.aclose()


def h(n: int) -> str:
    return hashlib.md5(str(n).encode()).hexdigest()


async def take(redis: Redis, stream: str, consumer: str, n: int,
               block_ms: int = 200) -> list[Any]:
    """Subscribe until ``n`` events were handled (and acknowledged)."""
    out: list[Any] = []
    done = asyncio.Event()

    async def handler(event: dict[str, Any]) -> None:
        out.append(event)
        if len(out) == n:
            done.set()

    task = asyncio.create_task(consume(redis, stream, consumer, handler, block_ms))
    waiter = asyncio.create_task(done.wait())
    finished, _ = await asyncio.wait({task, waiter}, timeout=10,
                                     return_when=asyncio.FIRST_COMPLETED)
    await asyncio.sleep(0.05)  # let the acknowledgement of the last event go out
    task.cancel()
    waiter.cancel()
    if task in finished:
        task.result()
    assert done.is_set(), f"only {len(out)} of {n} events arrived on {stream}"
    return out


async def test_events_reach_subscribers(tmp_path: Path, redis: Redis) -> None:
    chain = DevChain(tmp_path / "chain.sqlite")
    with ChainServer(chain) as server:
        client = ChainClient(server.url)
        client.create_twin(FARMER)
        farm = client.create_farm(FARMER, "farm")
        client.create_twin(USER)
        gateway = ChainGateway(client, NODE_KEY)
        twin = gateway.create_twin("", b"")
        node = gateway.create_node(Node(farm_id=farm, twin_id=twin, resources=Resources()))
        other = ChainGateway(client, bytes.fromhex("dd" * 32))
        other_node = other.create_node(Node(farm_id=farm, twin_id=other.create_twin("", b"")))

        cid = client.create_node_contract(USER, node, h(1))
        foreign = client.create_node_contract(USER, other_node, h(2))
        client.grace_period_start(cid)
        client.grace_period_start(foreign)  # another node's: not forwarded
        client.grace_period_end(cid)
        client.cancel_contract(USER, cid)
        client.set_node_public_config(node, PublicConfig(ip4=IP(ip="185.0.0.2/24",
                                                                gw="185.0.0.1")))
        client.set_power_target(other_node, False)  # same farm: forwarded to powerd

        state = tmp_path / "events.position"
        forwarder = EventForwarder(client, redis, node, farm, state)
        assert await forwarder.forward_once() == 5
        assert await forwarder.forward_once() == 0

        locks = await take(redis, "stream:contract-lock", "provisiond", 2)
        assert locks == [{"Contract": cid, "TwinId": 1 + 1, "Lock": True},
                         {"Contract": cid, "TwinId": 2, "Lock": False}]
        cancelled = await take(redis, "stream:contract-cancelled", "provisiond", 1)
        assert cancelled == [{"Contract": cid, "TwinId": 2}]
        config = await take(redis, "stream:public-config", "noded", 1)
        assert config[0]["PublicConfig"]["HasValue"] is True
        assert config[0]["PublicConfig"]["AsValue"]["IP4"] == {"IP": "185.0.0.2/24",
                                                              "GW": "185.0.0.1"}
        power = await take(redis, "stream:power-target", "powerd", 1)
        assert power == [{"FarmID": farm, "NodeID": other_node,
                          "Target": {"IsUp": False, "IsDown": True}}]

        # a new event while a subscriber waits; a restarted forwarder resumes, no replays
        waiting = asyncio.ensure_future(take(redis, "stream:contract-cancelled", "provisiond", 1))
        await asyncio.sleep(0.1)
        second = client.create_node_contract(USER, node, h(3))
        client.cancel_contract(USER, second)
        restarted = EventForwarder(client, redis, node, farm, state)
        assert await restarted.forward_once() == 1
        assert await waiting == [{"Contract": second, "TwinId": 2}]
        client.close()
    chain.close()


async def test_unacknowledged_events_are_redelivered(redis: Redis) -> None:
    import msgpack

    await redis.xadd("stream:contract-cancelled", {"body": msgpack.packb({"Contract": 9})})

    async def crash(event: dict[str, Any]) -> None:
        raise RuntimeError("handler crashed")

    with pytest.raises(RuntimeError):
        await consume(redis, "stream:contract-cancelled", "crashy", crash)
    # the entry is still pending for that consumer and is handled at its next start
    assert await take(redis, "stream:contract-cancelled", "crashy", 1) == [{"Contract": 9}]
    # and, acknowledged now, it is not delivered again
    assert await redis.xpending("stream:contract-cancelled",
                                "group:stream:contract-cancelled:crashy") == {
        "pending": 0, "min": None, "max": None, "consumers": []}
