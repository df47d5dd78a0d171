"""Chain events reach subscribers on the node event bus (real redis, zos_zbus.events)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

from zos_chain import ChainClient, ChainGateway, ChainServer, DevChain
from zos_chain.api import (
    IP,
    POWER_TARGET,
    PUBLIC_CONFIG,
    Node,
    Power,
    PowerTargetChangeEvent,
    PublicConfig,
    Resources,
)
from zos_noded.events import EventForwarder
from zos_zbus.events import (
    CONTRACT_CANCELLED,
    CONTRACT_LOCK,
    ContractCancelledEvent,
    ContractLockEvent,
    EventConsumer,
    EventProducer,
    EventStream,
)

FARMER = bytes.fromhex("aa" * 32)
USER = bytes.fromhex("bb" * 32)
NODE_KEY = bytes.fromhex("cc" * 32)


def h(n: int) -> str:
    return hashlib.md5(str(n).encode()).hexdigest()


async def take(broker: str, stream: EventStream[Any], consumer: str, n: int) -> list[Any]:
    """Read as ``consumer`` until ``n`` events were received (each acknowledged)."""
    out: list[Any] = []
    subscriber = EventConsumer(broker, stream, consumer, block_ms=200)
    deadline = asyncio.get_running_loop().time() + 10
    try:
        while len(out) < n:
            assert asyncio.get_running_loop().time() < deadline, f"{len(out)}/{n} on {stream}"
            for delivery in await subscriber.read():
                out.append(delivery.event)
                await delivery.ack()
    finally:
        await subscriber.close()
    return out


async def test_events_reach_subscribers(tmp_path: Path, zbus_broker: str) -> None:
    chain = DevChain(tmp_path / "chain.sqlite")
    producer = EventProducer(zbus_broker)
    with ChainServer(chain) as server:
        client = ChainClient(server.url)
        client.create_twin(FARMER)
        farm = client.create_farm(FARMER, "farm")
        user = client.create_twin(USER)
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
        config = PublicConfig(ip4=IP(ip="185.0.0.2/24", gw="185.0.0.1"))
        client.set_node_public_config(node, config)
        client.set_power_target(other_node, False)  # same farm: forwarded to powerd

        state = tmp_path / "events.position"
        forwarder = EventForwarder(client, producer, node, farm, state)
        assert await forwarder.forward_once() == 5
        assert await forwarder.forward_once() == 0

        assert await take(zbus_broker, CONTRACT_LOCK, "provisiond", 2) == [
            ContractLockEvent(contract=cid, twin_id=user, lock=True),
            ContractLockEvent(contract=cid, twin_id=user, lock=False)]
        assert await take(zbus_broker, CONTRACT_CANCELLED, "provisiond", 1) == [
            ContractCancelledEvent(contract=cid, twin_id=user)]
        stored = await take(zbus_broker, PUBLIC_CONFIG, "noded", 1)
        assert stored[0].public_config.has_value and stored[0].public_config.as_value == config
        assert await take(zbus_broker, POWER_TARGET, "powerd", 1) == [PowerTargetChangeEvent(
            farm_id=farm, node_id=other_node, target=Power(is_up=False, is_down=True))]

        # a subscriber already waiting gets a new event; a restarted forwarder resumes
        # from its saved position (no replays)
        waiting = asyncio.create_task(take(zbus_broker, CONTRACT_CANCELLED, "provisiond", 1))
        await asyncio.sleep(0.1)
        second = client.create_node_contract(USER, node, h(3))
        client.cancel_contract(USER, second)
        restarted = EventForwarder(client, producer, node, farm, state)
        assert await restarted.forward_once() == 1
        assert await waiting == [ContractCancelledEvent(contract=second, twin_id=user)]
        client.close()
    await producer.close()
    chain.close()
