"""The chain as an HTTP JSON service: protocol, bad input, restarts, concurrency."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zos_chain import ChainClient, ChainGateway, ChainServer, DevChain
from zos_chain.api import (
    ChainUnreachableError,
    ConflictError,
    InvalidRequestError,
    Node,
    NotFoundError,
    Resources,
    ss58_address,
)

USER = bytes.fromhex("bb" * 32)
NODE_KEY = bytes.fromhex("cc" * 32)


def h(n: int) -> str:
    return hashlib.md5(str(n).encode()).hexdigest()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ChainServer]:
    chain = DevChain(tmp_path / "chain.sqlite")
    with ChainServer(chain, "127.0.0.1:0") as running:
        yield running
    chain.close()


def raw(server: ChainServer, method: str, body: bytes | str) -> tuple[int, dict[str, Any]]:
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("POST", f"/v1/{method}", body=body)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def setup_node(client: ChainClient) -> int:
    client.create_twin(USER)
    farm = client.create_farm(USER, "farm")
    gateway = ChainGateway(client, NODE_KEY)
    twin = gateway.create_twin("", b"")
    return gateway.create_node(Node(farm_id=farm, twin_id=twin, resources=Resources(cru=2)))


def test_client_round_trip(server: ChainServer) -> None:
    client = ChainClient(server.url)
    node = setup_node(client)
    assert client.get_node(node).resources.cru == 2
    cid = client.create_node_contract(USER, node, h(1), "d", 0, 7)
    contract = client.get_contract(cid)
    assert contract.solution_provider_id.as_value == 7
    client.grace_period_start(cid)
    client.cancel_contract(USER, cid)
    assert [e.kind for e in client.events(node_id=node)] == [
        "ContractGracePeriodStarted", "NodeContractCanceled"]
    assert client.get_time().tzinfo is not None
    assert len(client.update_node_uptime_v2(NODE_KEY, 10, 20)) == 32
    with pytest.raises(NotFoundError) as info:
        client.get_contract(999)
    assert info.value.code == 1
    with pytest.raises(ConflictError):
        client.create_twin(USER)
    client.set_reachable(False)
    with pytest.raises(ChainUnreachableError):
        client.get_node(node)
    client.set_reachable(True)
    client.close()


def test_malformed_requests_name_the_field(server: ChainServer) -> None:
    status, body = raw(server, "create_twin", "{not json")
    assert status == 400 and "not JSON" in body["error"]["message"]
    status, body = raw(server, "create_twin", "[1, 2]")
    assert status == 400 and "JSON object" in body["error"]["message"]
    status, body = raw(server, "create_twin", json.dumps({"relay": "x"}))
    assert status == 400 and body["error"]["field"] == "account"
    assert "missing" in body["error"]["message"]
    status, body = raw(server, "create_twin", json.dumps({"account": "abcd"}))
    assert status == 400 and body["error"]["field"] == "account"
    assert "32 bytes" in body["error"]["message"]
    status, body = raw(server, "create_twin", json.dumps({"account": "zz" * 32}))
    assert status == 400 and "hex" in body["error"]["message"]
    status, body = raw(server, "create_twin", json.dumps({"account": USER.hex(), "colour": 1}))
    assert status == 400 and body["error"]["field"] == "colour"
    status, body = raw(server, "get_node", json.dumps({"id": "one"}))
    assert status == 400 and body["error"]["field"] == "id"
    status, body = raw(server, "get_node", json.dumps({"id": -1}))
    assert status == 400 and body["error"]["field"] == "id"
    status, body = raw(server, "create_node", json.dumps(
        {"account": USER.hex(), "node": {"farm_id": "x"}}))
    assert status == 400 and body["error"]["field"] == "node.farm_id"
    status, body = raw(server, "create_node_contract", json.dumps(
        {"account": USER.hex(), "node_id": 1, "deployment_hash": "short"}))
    assert status == 400 and body["error"]["field"] == "deployment_hash"
    status, body = raw(server, "drop_everything", "{}")
    assert status == 404 and "unknown method" in body["error"]["message"]
    status, body = raw(server, "get_node", json.dumps({"id": 5}))
    assert status == 404 and body["error"]["code"] == 1
    status, body = raw(server, "create_twin", json.dumps({"account": USER.hex()}))
    assert status == 200 and body["result"] == 1
    status, body = raw(server, "create_twin", json.dumps({"account": USER.hex()}))
    assert status == 409 and body["error"]["kind"] == "conflict"
    client = ChainClient(server.url)
    with pytest.raises(InvalidRequestError) as info:
        client.create_node_contract(USER, 1, "short")
    assert info.value.field == "deployment_hash"


def test_kyc_endpoint(server: ChainServer) -> None:
    client = ChainClient(server.url)
    twin = client.create_twin(USER)
    client.set_kyc_verified(twin, True)
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", f"/kyc/v1/status/{ss58_address(USER)}")
    assert json.loads(conn.getresponse().read()) == {"result": {"status": "VERIFIED"}}
    conn.request("GET", "/kyc/v1/status/nonsense")
    response = conn.getresponse()
    assert response.status == 400 and json.loads(response.read())["error"]["field"] == "address"
    conn.close()


@settings(max_examples=60, deadline=None)
@given(body=st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["account", "id", "node", "relay", "pk", "x"]), children,
                      max_size=4),
    max_leaves=8),
    method=st.sampled_from(["create_twin", "get_node", "create_node", "create_node_contract",
                            "events", "set_node_public_config"]))
def test_fuzzed_bodies_get_4xx_not_5xx(tmp_path_factory: pytest.TempPathFactory, body: Any,
                                       method: str) -> None:
    service = _fuzz_service(tmp_path_factory)
    status, payload = service.call(method, json.dumps(body).encode())
    assert status < 500 or status == 503, payload
    if status != 200:
        assert payload["error"]["message"]


_FUZZ: dict[str, Any] = {}


def _fuzz_service(factory: pytest.TempPathFactory) -> Any:
    from zos_chain.service import ChainService

    if "service" not in _FUZZ:
        _FUZZ["service"] = ChainService(DevChain(factory.mktemp("fuzz") / "chain.sqlite"))
    return _FUZZ["service"]


def test_eight_clients_thousand_contracts_exactly_once(server: ChainServer) -> None:
    setup = ChainClient(server.url)
    node = setup_node(setup)
    clients = 8
    total = 1000
    accounts = [bytes([0x10 + i]) * 32 for i in range(clients)]
    for account in accounts:
        setup.create_twin(account)
    results: dict[int, list[tuple[str, int]]] = {i: [] for i in range(clients)}
    errors: list[BaseException] = []

    def work(index: int) -> None:
        client = ChainClient(server.url)
        try:
            for n in range(index, total, clients):
                results[index].append((h(n), client.create_node_contract(
                    accounts[index], node, h(n))))
            # a retry of an already-created contract is refused, never duplicated
            with pytest.raises(ConflictError):
                client.create_node_contract(accounts[index], node, h(index))
        except BaseException as exc:
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    created = [item for items in results.values() for item in items]
    assert len(created) == total
    ids = [cid for _, cid in created]
    assert len(set(ids)) == total
    stored = setup.list_contracts(node_id=node)
    assert len(stored) == total
    by_id = {c.contract_id: c.contract_type.node_contract.deployment_hash for c in stored}
    assert by_id == {cid: hash_ for hash_, cid in created}
    assert sorted(setup.get_node_contracts(node)) == sorted(ids)


def test_serve_command_keeps_data_across_restart(tmp_path: Path) -> None:
    db = tmp_path / "chain.sqlite"

    def start() -> tuple[subprocess.Popen[str], str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "zos_chain.cli", "serve", "--db", str(db),
             "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on "), line
        return proc, line.split()[-1]

    def stop(proc: subprocess.Popen[str]) -> None:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0

    proc, url = start()
    try:
        client = ChainClient(url)
        node = setup_node(client)
        cid = client.create_node_contract(USER, node, h(1))
        client.grace_period_start(cid)
        client.close()
    finally:
        stop(proc)
    proc, url = start()
    try:
        client = ChainClient(url)
        assert client.get_contract(cid).state.is_grace_period
        assert client.get_node(node).resources.cru == 2
        assert [e.kind for e in client.events()] == ["ContractGracePeriodStarted"]
        with pytest.raises(ConflictError):
            client.create_node_contract(USER, node, h(1))
        assert client.create_node_contract(USER, node, h(2)) == cid + 1
        client.close()
    finally:
        stop(proc)
