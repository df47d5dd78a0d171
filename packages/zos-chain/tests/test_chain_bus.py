"""The api-gateway zbus object: Go method names, (value, SubstrateError) answers."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

import zos_zbus as zbus
from zos_chain import BusGateway, ChainGateway, DevChain
from zos_chain.api import (
    GO_METHODS,
    MODULE,
    Contract,
    ContractResources,
    ContractState,
    Node,
    NotFoundError,
    PowerTargetChangeEvent,
    Resources,
    SubstrateGateway,
    unwrap,
)

FARMER = bytes.fromhex("aa" * 32)
NODE_KEY = bytes.fromhex("cc" * 32)


def test_interface_matches_upstream_names() -> None:
    spec = zbus.spec_of(SubstrateGateway)
    assert spec.module == "api-gateway" and str(spec.object) == "api-gateway@0.0.1"
    assert {m.go_name: m.py_name for m in spec.methods.values()} == GO_METHODS


async def test_gateway_over_zbus(tmp_path: Path, zbus_broker: str) -> None:
    chain = DevChain(tmp_path / "chain.sqlite")
    chain.create_twin(FARMER)
    farm = chain.create_farm(FARMER, "farm")
    server = zbus.Server(MODULE, zbus_broker)
    server.register(BusGateway(ChainGateway(chain, NODE_KEY)))
    task = asyncio.create_task(server.run())
    try:
        async with zbus.Client(zbus_broker, timeout=10) as bus:
            gateway = bus.stub(SubstrateGateway)
            twin_id, status = await gateway.get_twin_by_pub_key(NODE_KEY)
            assert twin_id == 0 and status.code == 1
            with pytest.raises(NotFoundError):
                unwrap(await gateway.get_twin_by_pub_key(NODE_KEY))
            twin = await gateway.create_twin("", b"")
            assert unwrap(await gateway.get_twin_by_pub_key(NODE_KEY)) == twin
            node = await gateway.create_node(Node(farm_id=farm, twin_id=twin,
                                                  resources=Resources(cru=3)))
            assert (await gateway.get_node(node)).resources.cru == 3
            assert unwrap(await gateway.get_node_by_twin_id(twin)) == node
            with pytest.raises(zbus.RemoteCallError, match="node 99 not found"):
                await gateway.get_node(99)
            cid = chain.create_node_contract(FARMER, node,
                                             hashlib.md5(b"x").hexdigest())
            contract = unwrap(await gateway.get_contract(cid))
            assert contract.contract_type.node_contract.node_id == node
            assert await gateway.get_node_contracts(node) == [cid]
            await gateway.set_contract_consumption(
                ContractResources(contract_id=cid, used=Resources(cru=1)),
                ContractResources(contract_id=cid, used=Resources(cru=2)))
            assert [r.used.cru for r in chain.consumption_reports(cid)] == [1, 2]
            assert len(await gateway.update_node_uptime_v2(5, 6)) == 32
            assert (await gateway.get_time()).tzinfo is not None
            assert (await gateway.get_power_target(node)).target.is_up
    finally:
        server.stop()
        await task
        chain.close()


def test_wire_shapes_use_go_field_names() -> None:
    import msgpack

    contract = Contract(contract_id=7, twin_id=3, state=ContractState(is_created=True))
    wire = msgpack.unpackb(zbus.encode(contract, Contract))
    assert list(wire) == ["Version", "State", "ContractID", "TwinID", "ContractType",
                          "SolutionProviderID"]
    assert wire["State"]["IsCreated"] is True and wire["ContractID"] == 7
    assert list(wire["ContractType"]["NodeContract"]) == [
        "Node", "DeploymentHash", "DeploymentData", "PublicIPsCount", "PublicIPs"]
    node = msgpack.unpackb(zbus.encode(Node(id=1, farm_id=2), Node))
    assert list(node)[:4] == ["Version", "ID", "FarmID", "TwinID"]
    assert list(node["Resources"]) == ["HRU", "SRU", "CRU", "MRU"]
    assert zbus.decode(zbus.encode(contract, Contract), Contract) == contract
    event = msgpack.unpackb(zbus.encode(PowerTargetChangeEvent(farm_id=1, node_id=2),
                                        PowerTargetChangeEvent))
    assert event == {"FarmID": 1, "NodeID": 2, "Target": {"IsUp": True, "IsDown": False}}
