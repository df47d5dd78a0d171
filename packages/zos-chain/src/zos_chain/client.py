"""`ChainClient`: the development chain's HTTP service, as a `ChainBackend`."""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from zos_chain.api import (
    AccountInfo,
    ChainEvent,
    ChainUnreachableError,
    ConflictError,
    ConsumptionReport,
    Contract,
    ContractResources,
    ContractStateName,
    DeploymentHash,
    ErrorCode,
    Farm,
    HexBytes,
    InvalidRequestError,
    KeyType,
    Node,
    NodePower,
    NotFoundError,
    NruConsumption,
    PermissionDeniedError,
    PublicConfig,
    PublicIP,
    SubstrateError,
    Twin,
    TwinInfo,
    UptimeReport,
)

_ERRORS: dict[str, type[SubstrateError]] = {
    "not-found": NotFoundError,
    "conflict": ConflictError,
    "forbidden": PermissionDeniedError,
    "unreachable": ChainUnreachableError,
}


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return value


class ChainClient:
    """A thread-safe client over one keep-alive connection (reconnects when it drops)."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme != "http" or not parsed.hostname:
            raise ValueError(f"chain URL must be http://HOST:PORT, got {url!r}")
        self.url = url
        self._host = parsed.hostname
        self._port = parsed.port or 80
        self._timeout = timeout
        self._lock = threading.Lock()
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _request(self, method: str, body: bytes) -> tuple[int, bytes]:
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None:
                    self._conn = http.client.HTTPConnection(self._host, self._port,
                                                            timeout=self._timeout)
                try:
                    self._conn.request("POST", f"/v1/{method}", body=body,
                                       headers={"Content-Type": "application/json"})
                    response = self._conn.getresponse()
                    return response.status, response.read()
                except (ConnectionError, http.client.HTTPException, OSError) as exc:
                    self._conn.close()
                    self._conn = None
                    # A kept-alive connection may have been closed by the server: retry once
                    # on a new one. Writes are only retried when nothing was sent.
                    if attempt == 2 or not isinstance(
                        exc, http.client.RemoteDisconnected | ConnectionResetError |
                        BrokenPipeError
                    ):
                        raise ChainUnreachableError(
                            f"chain service {self.url} unreachable: {exc}") from exc
        raise AssertionError("unreachable")

    def call(self, method: str, result: Any = None, **arguments: Any) -> Any:
        """Call a service method; decode the result as the type `result`."""
        body = json.dumps({k: _jsonable(v) for k, v in arguments.items()}).encode()
        status, data = self._request(method, body)
        try:
            payload = json.loads(data)
        except ValueError:
            raise SubstrateError(f"chain service answered {status} with non-JSON") from None
        if status != 200:
            error = payload.get("error", {}) if isinstance(payload, dict) else {}
            message = str(error.get("message", f"HTTP {status}"))
            kind = error.get("kind", "")
            if kind == "invalid":
                raise InvalidRequestError(message, field=error.get("field"))
            cls = _ERRORS.get(kind)
            if cls is not None:
                raise cls(message)
            raise SubstrateError(message, ErrorCode(error.get("code", -1)))
        if result is None:
            return None
        return TypeAdapter(result).validate_python(payload["result"])

    # --- reads ----------------------------------------------------------------------------

    def get_twin(self, id: int) -> Twin:
        return self.call("get_twin", Twin, id=id)  # type: ignore[no-any-return]

    def get_twin_by_pub_key(self, pk: bytes) -> int:
        return self.call("get_twin_by_pub_key", int, pk=pk)  # type: ignore[no-any-return]

    def get_farm(self, id: int) -> Farm:
        return self.call("get_farm", Farm, id=id)  # type: ignore[no-any-return]

    def get_node(self, id: int) -> Node:
        return self.call("get_node", Node, id=id)  # type: ignore[no-any-return]

    def get_nodes(self, farm_id: int) -> list[int]:
        return self.call("get_nodes", list[int], farm_id=farm_id)  # type: ignore[no-any-return]

    def get_node_by_twin_id(self, twin: int) -> int:
        return self.call("get_node_by_twin_id", int, twin=twin)  # type: ignore[no-any-return]

    def get_contract(self, id: int) -> Contract:
        return self.call("get_contract", Contract, id=id)  # type: ignore[no-any-return]

    def get_node_contracts(self, node: int) -> list[int]:
        return self.call("get_node_contracts", list[int], node=node)  # type: ignore[no-any-return]

    def get_node_rent_contract(self, node: int) -> int:
        return self.call("get_node_rent_contract", int, node=node)  # type: ignore[no-any-return]

    def get_contract_id_by_name_registration(self, name: str) -> int:
        return self.call(  # type: ignore[no-any-return]
            "get_contract_id_by_name_registration", int, name=name)

    def get_power_target(self, node_id: int) -> NodePower:
        return self.call(  # type: ignore[no-any-return]
            "get_power_target", NodePower, node_id=node_id)

    def get_time(self) -> datetime:
        return self.call("get_time", datetime)  # type: ignore[no-any-return]

    def get_zos_version(self) -> str:
        return self.call("get_zos_version", str)  # type: ignore[no-any-return]

    def get_block(self) -> int:
        return self.call("get_block", int)  # type: ignore[no-any-return]

    def list_twins(self) -> list[TwinInfo]:
        return self.call("list_twins", list[TwinInfo])  # type: ignore[no-any-return]

    def list_farms(self) -> list[Farm]:
        return self.call("list_farms", list[Farm])  # type: ignore[no-any-return]

    def list_nodes(self) -> list[Node]:
        return self.call("list_nodes", list[Node])  # type: ignore[no-any-return]

    def list_contracts(
        self, node_id: int | None = None, twin_id: int | None = None,
        state: ContractStateName | None = None,
    ) -> list[Contract]:
        return self.call(  # type: ignore[no-any-return]
            "list_contracts", list[Contract], node_id=node_id, twin_id=twin_id, state=state)

    def events(
        self, since: int = 0, limit: int = 100, node_id: int | None = None,
        farm_id: int | None = None,
    ) -> list[ChainEvent]:
        return self.call(  # type: ignore[no-any-return]
            "events", list[ChainEvent], since=since, limit=limit, node_id=node_id,
            farm_id=farm_id)

    def uptime_reports(self, node_id: int) -> list[UptimeReport]:
        return self.call(  # type: ignore[no-any-return]
            "uptime_reports", list[UptimeReport], node_id=node_id)

    def consumption_reports(self, contract_id: int) -> list[ConsumptionReport]:
        return self.call(  # type: ignore[no-any-return]
            "consumption_reports", list[ConsumptionReport], contract_id=contract_id)

    def nru_reports(self, contract_id: int) -> list[NruConsumption]:
        return self.call(  # type: ignore[no-any-return]
            "nru_reports", list[NruConsumption], contract_id=contract_id)

    def is_kyc_verified(self, twin_id: int) -> bool:
        return self.call("is_kyc_verified", bool, twin_id=twin_id)  # type: ignore[no-any-return]

    # --- signed writes ----------------------------------------------------------------------

    def ensure_account(
        self, account: bytes, activation_url: list[str], terms_and_conditions_link: str,
        terms_and_conditions_hash: str,
    ) -> AccountInfo:
        return self.call(  # type: ignore[no-any-return]
            "ensure_account", AccountInfo, account=account, activation_url=activation_url,
            terms_and_conditions_link=terms_and_conditions_link,
            terms_and_conditions_hash=terms_and_conditions_hash)

    def create_twin(
        self, account: bytes, relay: str = "", pk: bytes = b"", key_type: KeyType = "ed25519"
    ) -> int:
        return self.call(  # type: ignore[no-any-return]
            "create_twin", int, account=account, relay=relay, pk=pk, key_type=key_type)

    def update_twin(self, account: bytes, relay: str, pk: bytes) -> int:
        return self.call(  # type: ignore[no-any-return]
            "update_twin", int, account=account, relay=relay, pk=pk)

    def create_farm(
        self, account: bytes, name: str, public_ips: list[PublicIP] | None = None
    ) -> int:
        return self.call(  # type: ignore[no-any-return]
            "create_farm", int, account=account, name=name, public_ips=public_ips)

    def create_node(self, account: bytes, node: Node) -> int:
        return self.call("create_node", int, account=account, node=node)  # type: ignore[no-any-return]

    def update_node(self, account: bytes, node: Node) -> int:
        return self.call("update_node", int, account=account, node=node)  # type: ignore[no-any-return]

    def create_node_contract(
        self, account: bytes, node_id: int, deployment_hash: DeploymentHash,
        deployment_data: str = "", public_ips: int = 0, solution_provider_id: int | None = None,
    ) -> int:
        return self.call(  # type: ignore[no-any-return]
            "create_node_contract", int, account=account, node_id=node_id,
            deployment_hash=deployment_hash, deployment_data=deployment_data,
            public_ips=public_ips, solution_provider_id=solution_provider_id)

    def update_node_contract(
        self, account: bytes, contract_id: int, deployment_hash: DeploymentHash,
        deployment_data: str = "",
    ) -> int:
        return self.call(  # type: ignore[no-any-return]
            "update_node_contract", int, account=account, contract_id=contract_id,
            deployment_hash=deployment_hash, deployment_data=deployment_data)

    def cancel_contract(self, account: bytes, contract_id: int) -> None:
        self.call("cancel_contract", account=account, contract_id=contract_id)

    def create_name_contract(self, account: bytes, name: str) -> int:
        return self.call(  # type: ignore[no-any-return]
            "create_name_contract", int, account=account, name=name)

    def create_rent_contract(
        self, account: bytes, node_id: int, solution_provider_id: int | None = None
    ) -> int:
        return self.call(  # type: ignore[no-any-return]
            "create_rent_contract", int, account=account, node_id=node_id,
            solution_provider_id=solution_provider_id)

    def set_contract_consumption(
        self, account: bytes, resources: list[ContractResources]
    ) -> None:
        self.call("set_contract_consumption", account=account, resources=resources)

    def report(self, account: bytes, consumptions: list[NruConsumption]) -> bytes:
        return self.call(  # type: ignore[no-any-return]
            "report", HexBytes, account=account, consumptions=consumptions)

    def update_node_uptime_v2(self, account: bytes, uptime: int, timestamp_hint: int) -> bytes:
        return self.call(  # type: ignore[no-any-return]
            "update_node_uptime_v2", HexBytes, account=account, uptime=uptime,
            timestamp_hint=timestamp_hint)

    def set_node_power_state(self, account: bytes, up: bool) -> bytes:
        return self.call(  # type: ignore[no-any-return]
            "set_node_power_state", HexBytes, account=account, up=up)

    # --- test controls ----------------------------------------------------------------------

    def set_node_public_config(self, node_id: int, config: PublicConfig | None) -> None:
        self.call("set_node_public_config", node_id=node_id, config=config)

    def set_power_target(self, node_id: int, up: bool) -> None:
        self.call("set_power_target", node_id=node_id, up=up)

    def grace_period_start(self, contract_id: int) -> None:
        self.call("grace_period_start", contract_id=contract_id)

    def grace_period_end(self, contract_id: int) -> None:
        self.call("grace_period_end", contract_id=contract_id)

    def set_kyc_verified(self, twin_id: int, verified: bool) -> None:
        self.call("set_kyc_verified", twin_id=twin_id, verified=verified)

    def set_zos_version(self, version: str) -> None:
        self.call("set_zos_version", version=version)

    def set_reachable(self, reachable: bool) -> None:
        self.call("set_reachable", reachable=reachable)
