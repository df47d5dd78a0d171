"""Chain events from redis streams, the gateway adapter and the KYC check."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest
from redis.asyncio import Redis

from zos_provision.api import ProvisionError
from zos_provision.capacity import GiB, Memory
from zos_provision.chain import ChainUnavailable, ContractNotFound
from zos_provision.chainlink import GatewayChainReader
from zos_provision.engine import Engine, EngineConfig
from zos_provision.events import STREAM_CONTRACT_CANCELLED, STREAM_CONTRACT_LOCK, consume
from zos_provision.kyc import HttpKyc
from zos_provision.store import Store
from zos_provision.testing import MemoryChain, RecordingManager, StandInRules


async def test_cancel_and_lock_events(tmp_path: Path, redis: Redis) -> None:
    rules, chain = StandInRules(), MemoryChain()
    store = Store(tmp_path / "e.db")
    engine = Engine(
        store,
        rules,
        chain,
        {"volume": RecordingManager()},
        EngineConfig(node_id=1),
        memory=lambda: Memory(16 * GiB, 12 * GiB),
    )
    dep = {
        "version": 0,
        "twin_id": 42,
        "contract_id": 9,
        "workloads": [{"version": 0, "name": "v", "type": "volume", "data": {"size": GiB}}],
    }
    rules.sign(dep, 42, chain.key_of(42))
    chain.create_contract(9, 42, 1, rules.challenge_hash(dep))
    await engine.create_or_update(42, dep, update=False)
    worker = asyncio.create_task(engine.run())
    events = asyncio.create_task(consume(redis, engine, block_ms=200))
    try:
        await asyncio.wait_for(engine.wait_idle(), 5)
        await redis.xadd(
            STREAM_CONTRACT_LOCK,
            {"body": msgpack.packb({"Contract": 9, "TwinId": 42, "Lock": True})},
        )
        for _ in range(100):
            await asyncio.sleep(0.05)
            if store.get(42, 9).workloads[0].result.state == "paused":
                break
        assert store.get(42, 9).workloads[0].result.state == "paused"
        await redis.xadd(STREAM_CONTRACT_CANCELLED, {"body": b"\xc1 not msgpack"})
        await redis.xadd(
            STREAM_CONTRACT_CANCELLED, {"body": msgpack.packb({"Contract": 9, "TwinId": 42})}
        )
        for _ in range(100):
            await asyncio.sleep(0.05)
            if not store.exists(42, 9):
                break
        assert not store.exists(42, 9)
        group = await redis.xinfo_groups(STREAM_CONTRACT_CANCELLED)
        assert group[0]["pending"] == 0
    finally:
        for task in (worker, events):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        store.close()


class FakeGateway:
    """Shaped like zos_chain's gateway: blocking methods, tfchain-like objects and errors."""

    def __init__(self) -> None:
        self.unreachable = False

    def _check(self) -> None:
        if self.unreachable:
            raise type("ChainUnreachableError", (Exception,), {"kind": "unreachable"})("down")

    def get_contract(self, id: int) -> Any:
        self._check()
        if id != 5:
            raise type("NotFoundError", (Exception,), {"code": 1})(f"contract {id} not found")
        state = SimpleNamespace(is_deleted=False, is_grace_period=True)
        node = SimpleNamespace(node_id=3, deployment_hash="ab" * 16, public_ips_count=1)
        ctype = SimpleNamespace(is_node_contract=True, node_contract=node, is_rent_contract=False)
        return SimpleNamespace(state=state, contract_type=ctype, contract_id=5, twin_id=42)

    def get_node_rent_contract(self, node: int) -> int:
        raise type("NotFoundError", (Exception,), {"code": 1})("no rent contract")

    def get_node_contracts(self, node: int) -> list[int]:
        return [5]

    def get_twin(self, id: int) -> Any:
        return SimpleNamespace(account=b"\x01" * 32)


async def test_gateway_reader() -> None:
    gateway = FakeGateway()
    reader = GatewayChainReader(gateway)
    contract = await reader.get_contract(5)
    assert (contract.state, contract.kind, contract.node_id, contract.deployment_hash) == (
        "GracePeriod",
        "node",
        3,
        "ab" * 16,
    )
    assert await reader.get_node_rent_contract(3) is None
    assert await reader.get_node_contracts(3) == [5]
    assert await reader.get_twin_public_key(42) == b"\x01" * 32
    with pytest.raises(ContractNotFound, match="contract 6 not found"):
        await reader.get_contract(6)
    gateway.unreachable = True
    with pytest.raises(ChainUnavailable):
        await reader.get_contract(5)


@pytest.fixture
def kyc_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            twin = self.path.rsplit("=", 1)[-1]
            if twin == "500":
                self.send_response(500)
                self.end_headers()
                return
            status = "VERIFIED" if twin == "42" else "UNVERIFIED"
            body = json.dumps({"result": {"status": status}}).encode()
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()


async def test_kyc(kyc_server: str) -> None:
    kyc = HttpKyc(kyc_server, attempts=2, backoff=0.01)
    await kyc.check(42)
    with pytest.raises(ProvisionError, match=r"^user with twin id 7 is not verified$"):
        await kyc.check(7)
    with pytest.raises(ProvisionError, match=r"^failed to get twin verification status$"):
        await kyc.check(500)
    down = HttpKyc("http://127.0.0.1:9", attempts=2, backoff=0.01)
    with pytest.raises(ProvisionError, match=r"^failed to get twin verification status$"):
        await down.check(42)
