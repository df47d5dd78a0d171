"""`ChainGateway`: upstream's `SubstrateGateway` over a `ChainBackend`, signing as one key.

This is what the node's ``api-gateway`` daemon serves on zbus. Behind it sits either the
in-process `DevChain` or a `ChainClient` of the chain service (later: a real substrate client).
"""

from __future__ import annotations

import threading
from datetime import datetime

from zos_chain.api import (
    AccountInfo,
    ChainBackend,
    Contract,
    ContractResources,
    Farm,
    Node,
    NodePower,
    NruConsumption,
    Twin,
)


class ChainGateway:
    """A `SubstrateGateway` whose writes are signed by ``signer`` (the node's public key).

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
