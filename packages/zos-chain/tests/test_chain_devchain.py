"""The development chain in-process: records, rules, lifecycle, events."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from zos_chain import ChainGateway, DevChain
from zos_chain.api import (
    IP,
    ChainUnreachableError,
    ConflictError,
    ContractResources,
    InvalidRequestError,
    Node,
    NotFoundError,
    NruConsumption,
    PermissionDeniedError,
    PublicConfig,
    PublicIP,
    Resources,
    base58_decode,
    base58_encode,
    ss58_address,
    ss58_decode,
)

FARMER = bytes.fromhex("aa" * 32)
USER = bytes.fromhex("bb" * 32)
NODE_KEY = bytes.fromhex("cc" * 32)


def h(n: int) -> str:
    return hashlib.md5(str(n).encode()).hexdigest()


@pytest.fixture
def chain(tmp_path: Path) -> DevChain:
    chain = DevChain(tmp_path / "chain.sqlite")
    yield chain  # type: ignore[misc]
    chain.close()


@pytest.fixture
def world(chain: DevChain) -> dict[str, int]:
    farmer = chain.create_twin(FARMER)
    user = chain.create_twin(USER, relay="relay.dev")
    farm = chain.create_farm(FARMER, "farm1", [PublicIP(ip="185.0.0.10/24", gateway="185.0.0.1"),
                                                PublicIP(ip="185.0.0.11/24", gateway="185.0.0.1")])
    gateway = ChainGateway(chain, NODE_KEY)
    twin = gateway.create_twin("", b"")
    node = gateway.create_node(Node(farm_id=farm, twin_id=twin, resources=Resources(cru=4)))
    return {"farmer": farmer, "user": user, "farm": farm, "node_twin": twin, "node": node}


def test_twins_and_duplicates(chain: DevChain) -> None:
    first = chain.create_twin(USER, relay="r", pk=b"\x02" * 33)
    assert chain.get_twin_by_pub_key(USER) == first
    twin = chain.get_twin(first)
    assert twin.account == USER and twin.relay.as_value == "r" and twin.pk.as_value == b"\x02" * 33
    with pytest.raises(ConflictError, match="already exists"):
        chain.create_twin(USER)
    with pytest.raises(NotFoundError) as info:
        chain.get_twin_by_pub_key(FARMER)
    assert info.value.code == 1
    chain.update_twin(USER, "relay2", b"")
    assert chain.get_twin(first).relay.as_value == "relay2"
    assert [t.twin.id for t in chain.list_twins()] == [first]
    assert chain.list_twins()[0].address == ss58_address(USER)


def test_node_registration_create_then_update(chain: DevChain, world: dict[str, int]) -> None:
    gateway = ChainGateway(chain, NODE_KEY)
    node = chain.get_node(world["node"])
    assert node.twin_id == world["node_twin"] and node.farm_id == world["farm"]
    with pytest.raises(ConflictError):
        gateway.create_node(Node(farm_id=world["farm"], twin_id=world["node_twin"]))
    node.resources = Resources(cru=8, mru=16 << 30)
    assert gateway.update_node(node) == world["node"]
    assert chain.get_node(world["node"]).resources.cru == 8
    assert len(chain.list_nodes()) == 1
    assert chain.get_nodes(world["farm"]) == [world["node"]]
    assert gateway.get_node_by_twin_id(world["node_twin"]) == world["node"]
    other = ChainGateway(chain, USER)
    with pytest.raises(InvalidRequestError, match="belongs to twin"):
        other.update_node(node)


def test_contract_lifecycle_and_events(chain: DevChain, world: dict[str, int]) -> None:
    node = world["node"]
    cid = chain.create_node_contract(USER, node, h(1), "data", public_ips=1)
    contract = chain.get_contract(cid)
    assert contract.state.is_created and contract.twin_id == world["user"]
    assert contract.contract_type.node_contract.public_ips[0].ip == "185.0.0.10/24"
    assert chain.get_farm(world["farm"]).public_ips[0].contract_id == cid
    with pytest.raises(ConflictError, match="already exists"):
        chain.create_node_contract(USER, node, h(1))
    with pytest.raises(InvalidRequestError) as info:
        chain.create_node_contract(USER, node, h(2), public_ips=5)
    assert info.value.field == "public_ips"
    with pytest.raises(InvalidRequestError) as info:
        chain.create_node_contract(USER, node, "nothex")
    assert info.value.field == "deployment_hash"
    assert chain.get_node_contracts(node) == [cid]

    chain.update_node_contract(USER, cid, h(3), "data2")
    assert chain.get_contract(cid).contract_type.node_contract.deployment_hash == h(3)

    chain.grace_period_start(cid)
    grace = chain.get_contract(cid).state
    assert grace.is_grace_period and grace.as_grace_period_block_number == chain.get_block()
    assert chain.get_node_contracts(node) == [cid]  # still active
    chain.grace_period_end(cid)
    assert chain.get_contract(cid).state.is_created
    with pytest.raises(InvalidRequestError):
        chain.grace_period_end(cid)

    with pytest.raises(PermissionDeniedError):
        chain.cancel_contract(FARMER, cid)
    chain.cancel_contract(USER, cid)
    deleted = chain.get_contract(cid).state
    assert deleted.is_deleted and deleted.as_deleted.is_canceled_by_user
    assert chain.get_node_contracts(node) == []
    assert chain.get_farm(world["farm"]).public_ips[0].contract_id == 0
    # the same hash can be used again once the old contract is gone
    again = chain.create_node_contract(USER, node, h(3))
    assert again != cid

    kinds = [(e.kind, e.contract_id) for e in chain.events(node_id=node)]
    assert kinds == [("ContractGracePeriodStarted", cid), ("ContractGracePeriodEnded", cid),
                     ("NodeContractCanceled", cid)]
    seqs = [e.seq for e in chain.events()]
    assert seqs == sorted(seqs) and chain.events(since=seqs[-1]) == []
    assert chain.events(node_id=node + 100) == []


def test_name_and_rent_contracts(chain: DevChain, world: dict[str, int]) -> None:
    name = chain.create_name_contract(USER, "mygw")
    assert chain.get_contract_id_by_name_registration("mygw") == name
    with pytest.raises(ConflictError):
        chain.create_name_contract(FARMER, "mygw")
    rent = chain.create_rent_contract(USER, world["node"])
    assert chain.get_node_rent_contract(world["node"]) == rent
    with pytest.raises(ConflictError):
        chain.create_rent_contract(FARMER, world["node"])
    chain.grace_period_start(rent)
    assert chain.events()[-1].kind == "ContractGracePeriodStarted"
    assert chain.events()[-1].node_id == world["node"]
    chain.cancel_contract(USER, name)
    with pytest.raises(NotFoundError):
        chain.get_contract_id_by_name_registration("mygw")


def test_reports_power_public_config(chain: DevChain, world: dict[str, int]) -> None:
    gateway = ChainGateway(chain, NODE_KEY)
    cid = chain.create_node_contract(USER, world["node"], h(7))
    gateway.update_node_uptime_v2(120, 1_700_000_000)
    assert [(r.uptime, r.timestamp) for r in chain.uptime_reports(world["node"])] == [
        (120, 1_700_000_000)]
    gateway.set_contract_consumption(ContractResources(contract_id=cid, used=Resources(cru=2)))
    assert chain.consumption_reports(cid)[0].used.cru == 2
    tx = gateway.report([NruConsumption(contract_id=cid, timestamp=1, window=3600, nru=42)])
    assert len(tx) == 32 and chain.nru_reports(cid)[0].nru == 42
    with pytest.raises(NotFoundError, match="has no node"):
        ChainGateway(chain, USER).update_node_uptime_v2(1, 1)

    assert gateway.get_power_target(world["node"]).target.is_up
    chain.set_power_target(world["node"], False)
    assert gateway.get_power_target(world["node"]).target.is_down
    gateway.set_node_power_state(False)
    assert gateway.get_power_target(world["node"]).state.is_down

    config = PublicConfig(ip4=IP(ip="185.0.0.50/24", gw="185.0.0.1"))
    chain.set_node_public_config(world["node"], config)
    assert chain.get_node(world["node"]).public_config.as_value == config
    event = chain.events()[-1]
    assert event.kind == "NodePublicConfigStored" and event.public_config is not None
    # a node update keeps what the farmer set
    node = chain.get_node(world["node"])
    node.public_config.has_value = False
    gateway.update_node(node)
    assert chain.get_node(world["node"]).public_config.has_value


def test_kyc_version_unreachable(chain: DevChain, world: dict[str, int]) -> None:
    assert not chain.is_kyc_verified(world["user"])
    chain.set_kyc_verified(world["user"], True)
    assert chain.is_kyc_verified(world["user"])
    chain.set_zos_version('{"version":"v3.10.0","safe_to_upgrade":true}')
    assert "v3.10.0" in chain.get_zos_version()
    info = ChainGateway(chain, NODE_KEY).ensure_account([], "http://zos.tf/terms/v0.1", "x")
    assert info.data.free > 0
    chain.set_reachable(False)
    with pytest.raises(ChainUnreachableError):
        chain.get_node(world["node"])
    chain.set_reachable(True)
    assert chain.get_node(world["node"]).id == world["node"]


def test_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "chain.sqlite"
    chain = DevChain(path)
    twin = chain.create_twin(USER)
    block = chain.get_block()
    chain.close()
    again = DevChain(path)
    assert again.get_twin(twin).account == USER and again.get_block() == block
    with pytest.raises(ConflictError):
        again.create_twin(USER)
    again.close()


def test_addresses() -> None:
    # Alice's well-known sr25519 public key and address (generic substrate prefix 42).
    alice = bytes.fromhex("d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d")
    assert ss58_address(alice) == "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    assert ss58_decode(ss58_address(alice)) == alice
    with pytest.raises(ValueError, match="checksum"):
        ss58_decode("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ")
    for data in (b"", b"\0\0\1", b"hello", bytes(range(32))):
        assert base58_decode(base58_encode(data)) == data
    assert base58_encode(b"hello world") == "StV1DL6CwTryKyV"
