"""`ChainGateway`: upstream's `SubstrateGateway` over a `ChainBackend`, signing as one key;
`BusGateway`: the same as the ``api-gateway`` zbus object.

This is what the node's ``api-gateway`` daemon serves on zbus. Behind it sits either the
in-process `DevChain` or a `ChainClient` of the chain service (later: a real substrate client).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from zos_chain.api import (
    AccountInfo,
    ChainBackend,
    Contract,
    ContractResources,
    Farm,
    Node,
    NodePower,
    NruConsumption,
    SubstrateError,
    SubstrateErrorStatus,
    SubstrateGateway,
    SyncSubstrateGateway,
    Twin,
)

_T = TypeVar("_T")


class ChainGateway:
    """A `SyncSubstrateGateway` whose writes are signed by ``signer`` (the node's public key).

    Writes are serialised, as upstream does, so no two extrinsics of the node race.
    """

    def __init__(self, backend: ChainBackend, signer: bytes) -> None:
        if len(signer) != 32:
            raise ValueError("the signer is a 32-byte ed25519 public key")
        self.backend = backend
        self.signer = bytes(signer)
        self._writes = threading.Lock()

    # writes
    def create_node(self, node: Node) -> int:
        with self._writes:
            return self.backend.create_node(self.signer, node)

    def update_node(self, node: Node) -> int:
        with self._writes:
            return self.backend.update_node(self.signer, node)

    def create_twin(self, relay: str, pk: bytes) -> int:
        with self._writes:
            return self.backend.create_twin(self.signer, relay, pk or b"", "ed25519")

    def update_twin(self, relay: str, pk: bytes) -> int:
        with self._writes:
            return self.backend.update_twin(self.signer, relay, pk)

    def ensure_account(
        self, activation_url: list[str], terms_and_conditions_link: str,
        terms_and_conditions_hash: str,
    ) -> AccountInfo:
        with self._writes:
            return self.backend.ensure_account(self.signer, activation_url,
                                               terms_and_conditions_link,
                                               terms_and_conditions_hash)

    def report(self, consumptions: list[NruConsumption]) -> bytes:
        with self._writes:
            return self.backend.report(self.signer, consumptions)

    def set_contract_consumption(self, *resources: ContractResources) -> None:
        with self._writes:
            self.backend.set_contract_consumption(self.signer, list(resources))

    def set_node_power_state(self, up: bool) -> bytes:
        with self._writes:
            return self.backend.set_node_power_state(self.signer, up)

    def update_node_uptime_v2(self, uptime: int, timestamp_hint: int) -> bytes:
        with self._writes:
            return self.backend.update_node_uptime_v2(self.signer, uptime, timestamp_hint)

    # reads
    def get_contract(self, id: int) -> Contract:
        return self.backend.get_contract(id)

    def get_contract_id_by_name_registration(self, name: str) -> int:
        return self.backend.get_contract_id_by_name_registration(name)

    def get_farm(self, id: int) -> Farm:
        return self.backend.get_farm(id)

    def get_node(self, id: int) -> Node:
        return self.backend.get_node(id)

    def get_node_by_twin_id(self, twin: int) -> int:
        return self.backend.get_node_by_twin_id(twin)

    def get_node_contracts(self, node: int) -> list[int]:
        return self.backend.get_node_contracts(node)

    def get_node_rent_contract(self, node: int) -> int:
        return self.backend.get_node_rent_contract(node)

    def get_nodes(self, farm_id: int) -> list[int]:
        return self.backend.get_nodes(farm_id)

    def get_power_target(self, node_id: int) -> NodePower:
        return self.backend.get_power_target(node_id)

    def get_twin(self, id: int) -> Twin:
        return self.backend.get_twin(id)

    def get_twin_by_pub_key(self, pk: bytes) -> int:
        return self.backend.get_twin_by_pub_key(pk)

    def get_time(self) -> datetime:
        return self.backend.get_time()

    def get_zos_version(self) -> str:
        return self.backend.get_zos_version()


_ZERO_CONTRACT = Contract()


class BusGateway(SubstrateGateway):
    """The ``api-gateway`` zbus object over a `ChainGateway` (blocking calls run in threads)."""

    def __init__(self, gateway: SyncSubstrateGateway) -> None:
        self.gateway = gateway

    async def _status_call(
        self, zero: _T, function: Callable[..., _T], *args: Any
    ) -> tuple[_T, SubstrateErrorStatus]:
        try:
            return await asyncio.to_thread(function, *args), SubstrateErrorStatus()
        except SubstrateError as exc:
            return zero, SubstrateErrorStatus.of(exc)

    async def create_node(self, node: Node) -> int:
        return await asyncio.to_thread(self.gateway.create_node, node)

    async def create_twin(self, relay: str, pk: bytes) -> int:
        return await asyncio.to_thread(self.gateway.create_twin, relay, pk)

    async def ensure_account(
        self, activation_url: list[str], terms_and_conditions_link: str,
        terms_and_conditions_hash: str,
    ) -> AccountInfo:
        return await asyncio.to_thread(self.gateway.ensure_account, activation_url,
                                       terms_and_conditions_link, terms_and_conditions_hash)

    async def get_contract(self, id: int) -> tuple[Contract, SubstrateErrorStatus]:
        return await self._status_call(_ZERO_CONTRACT, self.gateway.get_contract, id)

    async def get_contract_id_by_name_registration(
        self, name: str
    ) -> tuple[int, SubstrateErrorStatus]:
        return await self._status_call(
            0, self.gateway.get_contract_id_by_name_registration, name)

    async def get_farm(self, id: int) -> Farm:
        return await asyncio.to_thread(self.gateway.get_farm, id)

    async def get_node(self, id: int) -> Node:
        return await asyncio.to_thread(self.gateway.get_node, id)

    async def get_node_by_twin_id(self, twin: int) -> tuple[int, SubstrateErrorStatus]:
        return await self._status_call(0, self.gateway.get_node_by_twin_id, twin)

    async def get_node_contracts(self, node: int) -> list[int]:
        return await asyncio.to_thread(self.gateway.get_node_contracts, node)

    async def get_node_rent_contract(self, node: int) -> tuple[int, SubstrateErrorStatus]:
        return await self._status_call(0, self.gateway.get_node_rent_contract, node)

    async def get_nodes(self, farm_id: int) -> list[int]:
        return await asyncio.to_thread(self.gateway.get_nodes, farm_id)

    async def get_power_target(self, node_id: int) -> NodePower:
        return await asyncio.to_thread(self.gateway.get_power_target, node_id)

    async def get_twin(self, id: int) -> Twin:
        return await asyncio.to_thread(self.gateway.get_twin, id)

    async def get_twin_by_pub_key(self, pk: bytes) -> tuple[int, SubstrateErrorStatus]:
        return await self._status_call(0, self.gateway.get_twin_by_pub_key, pk)

    async def report(self, consumptions: list[NruConsumption]) -> bytes:
        return await asyncio.to_thread(self.gateway.report, consumptions)

    async def set_contract_consumption(self, *resources: ContractResources) -> None:
        await asyncio.to_thread(self.gateway.set_contract_consumption, *resources)

    async def set_node_power_state(self, up: bool) -> bytes:
        return await asyncio.to_thread(self.gateway.set_node_power_state, up)

    async def update_node(self, node: Node) -> int:
        return await asyncio.to_thread(self.gateway.update_node, node)

    async def update_node_uptime_v2(self, uptime: int, timestamp_hint: int) -> bytes:
        return await asyncio.to_thread(self.gateway.update_node_uptime_v2, uptime,
                                       timestamp_hint)

    async def get_time(self) -> datetime:
        return await asyncio.to_thread(self.gateway.get_time)

    async def get_zos_version(self) -> str:
        return await asyncio.to_thread(self.gateway.get_zos_version)
