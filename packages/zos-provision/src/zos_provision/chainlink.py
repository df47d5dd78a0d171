"""`ChainReader` over the chain package's gateway (zos_chain.api.SubstrateGateway).

Works with an in-process gateway or HTTP client (blocking calls, run in a thread) and with
the ``api-gateway`` zbus stub (coroutines). Errors are sorted by what they mean for the
engine: "not found" is a verdict, "unreachable" never is.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from zos_provision.chain import ChainError, ChainUnavailable, Contract, ContractNotFound

NOT_FOUND_CODE = 1


def _classify(err: Exception) -> ChainError:
    kind = getattr(err, "kind", "")
    code = getattr(err, "code", None)
    text = str(err)
    if kind == "unreachable" or isinstance(err, (OSError, TimeoutError, ConnectionError)):
        return ChainUnavailable(text or type(err).__name__)
    if type(err).__name__ in ("CallTimeout", "BusUnavailable", "ChainUnreachableError"):
        return ChainUnavailable(text or type(err).__name__)
    if kind == "not_found" or code == NOT_FOUND_CODE or "not found" in text.lower():
        return ContractNotFound(text)
    return ChainError(text)


class GatewayChainReader:
    def __init__(self, gateway: Any) -> None:
        self.gateway = gateway

    async def call(self, method: Callable[..., Any], *args: Any) -> Any:
        """Call a gateway method (blocking or coroutine), errors sorted for the engine."""
        try:
            if inspect.iscoroutinefunction(method):
                result = await method(*args)
            else:
                result = await asyncio.to_thread(method, *args)
                if inspect.isawaitable(result):
                    result = await result
            # zbus lookups answer (value, SubstrateError status) like upstream
            if isinstance(result, tuple) and len(result) == 2 and hasattr(result[1], "raise_for"):
                result[1].raise_for()
                result = result[0]
            return result
        except ChainError:
            raise
        except Exception as err:
            raise _classify(err) from err

    async def get_contract(self, contract_id: int) -> Contract:
        raw = await self.call(self.gateway.get_contract, contract_id)
        return contract_from_chain(raw)

    async def get_node_rent_contract(self, node_id: int) -> int | None:
        try:
            rent = await self.call(self.gateway.get_node_rent_contract, node_id)
        except ContractNotFound:
            return None
        return int(rent) or None

    async def get_node_contracts(self, node_id: int) -> list[int]:
        return [int(c) for c in await self.call(self.gateway.get_node_contracts, node_id)]

    async def get_twin_public_key(self, twin_id: int) -> bytes:
        twin = await self.call(self.gateway.get_twin, twin_id)
        account = getattr(twin, "account", None)
        if isinstance(account, str):
            account = bytes.fromhex(account.removeprefix("0x"))
        if not isinstance(account, bytes):
            raise ChainError(f"twin {twin_id} has no account key")
        return account


def contract_from_chain(raw: Any) -> Contract:
    """tfchain's Contract (zos_chain.api.Contract) → the engine's contract model."""
    state = raw.state
    name = "Deleted" if state.is_deleted else "GracePeriod" if state.is_grace_period else "Created"
    ctype = raw.contract_type
    if ctype.is_node_contract:
        node = ctype.node_contract
        return Contract(
            contract_id=int(raw.contract_id),
            twin_id=int(raw.twin_id),
            state=name,
            kind="node",
            node_id=int(node.node_id),
            deployment_hash=str(node.deployment_hash),
            public_ips=int(node.public_ips_count),
        )
    kind = "rent" if ctype.is_rent_contract else "name"
    node_id = int(ctype.rent_contract.node_id) if ctype.is_rent_contract else 0
    return Contract(int(raw.contract_id), int(raw.twin_id), name, kind, node_id)
