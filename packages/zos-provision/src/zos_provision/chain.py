"""What the engine needs from the chain, and the contract model it reads.

`ChainReader` is implemented over the chain package's gateway (`zos_provision.chainlink`)
or by a test double. A chain that cannot be reached raises `ChainUnavailable`, which is never
a verdict about a deployment (spec §6, §9, §10).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol


class ChainError(Exception):
    pass


class ContractNotFound(ChainError):
    pass


class ChainUnavailable(ChainError):
    """The chain could not be asked; retry later."""


@dataclass
class Contract:
    contract_id: int
    twin_id: int
    state: str = "Created"  # Created | Deleted | GracePeriod
    kind: str = "node"  # node | name | rent
    node_id: int = 0
    deployment_hash: str = ""
    public_ips: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Contract:
        return cls(**{k: obj[k] for k in cls.__dataclass_fields__ if k in obj})


class ChainReader(Protocol):
    async def get_contract(self, contract_id: int) -> Contract: ...

    async def get_node_rent_contract(self, node_id: int) -> int | None: ...

    async def get_node_contracts(self, node_id: int) -> list[int]: ...

    async def get_twin_public_key(self, twin_id: int) -> bytes: ...


class KycChecker(Protocol):
    async def check(self, twin_id: int) -> None:
        """Raise `zos_provision.api.ProvisionError` when the twin may not deploy."""


class NoKyc:
    """Development default: every twin is verified."""

    async def check(self, twin_id: int) -> None:
        return None
