"""The chain interface: what a node and its clients ask of the grid's chain (tfchain).

Two contracts live here:

- `SubstrateGateway`: upstream's node-side gateway (zbus module ``api-gateway``, object
  ``api-gateway``, version ``0.0.1``). Every write is signed by the node's key, so a gateway is
  bound to one signer. `GO_METHODS` maps each Go method name to its Python name.
- `ChainBackend`: the development chain's own interface (what `DevChain` does in-process and
  `ChainClient` does over HTTP): the same reads, writes that name their signer explicitly, the
  calls grid clients make (contracts), and test controls (grace periods, KYC, public config,
  an "unreachable" switch).

Types mirror the tfchain Go client: Python field names are its JSON tags, aliases are the Go
field names (the zbus wire). Errors are `SubstrateError` with upstream's codes.
"""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator

import zos_zbus as zbus
from zos_zbus.events import POWER_TARGET_STREAM, PUBLIC_CONFIG_STREAM, EventStream

MODULE = "api-gateway"
OBJECT = "api-gateway"
VERSION = "0.0.1"

SS58_PREFIX = 42  # tfchain uses the generic substrate address format


# --- scalar helpers -----------------------------------------------------------------------


def _bytes_from_hex(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        text = value[2:] if value.startswith("0x") else value
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise ValueError(f"not a hex string: {value!r}") from None
    raise ValueError(f"expected bytes or a hex string, got {type(value).__name__}")


HexBytes = Annotated[
    bytes,
    PlainValidator(_bytes_from_hex),
    PlainSerializer(lambda b: b.hex(), return_type=str, when_used="json"),
]
"""Bytes that travel as a hex string in JSON (and as bytes on zbus)."""


def _account_id(value: Any) -> bytes:
    raw = _bytes_from_hex(value)
    if len(raw) != 32:
        raise ValueError(f"an account id is 32 bytes, got {len(raw)}")
    return raw


AccountId = Annotated[
    bytes,
    PlainValidator(_account_id),
    PlainSerializer(lambda b: b.hex(), return_type=str, when_used="json"),
]
"""A 32-byte public key (the chain account)."""

DeploymentHash = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{32}$")]
"""A deployment's challenge hash: 32 ASCII hex characters (tfchain's HexHash)."""

U32 = Annotated[zbus.U32, Field(ge=0, le=0xFFFF_FFFF)]
U64 = Annotated[zbus.U64, Field(ge=0, le=0xFFFF_FFFF_FFFF_FFFF)]

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58_encode(data: bytes) -> str:
    """Bitcoin-alphabet base58 (the node id is base58 of its public key)."""
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rem = divmod(number, 58)
        out = _B58[rem] + out
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + out


def base58_decode(text: str) -> bytes:
    number = 0
    for char in text:
        index = _B58.find(char)
        if index < 0:
            raise ValueError(f"not a base58 character: {char!r}")
        number = number * 58 + index
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def ss58_address(public_key: bytes, prefix: int = SS58_PREFIX) -> str:
    """The SS58 address of a 32-byte public key (single-byte network prefixes only)."""
    if len(public_key) != 32:
        raise ValueError(f"a public key is 32 bytes, got {len(public_key)}")
    if not 0 <= prefix < 64:
        raise ValueError(f"unsupported SS58 prefix {prefix}")
    body = bytes([prefix]) + public_key
    checksum = hashlib.blake2b(b"SS58PRE" + body, digest_size=64).digest()[:2]
    return base58_encode(body + checksum)


def ss58_decode(address: str) -> bytes:
    """The public key inside an SS58 address; raises ValueError on a bad checksum."""
    raw = base58_decode(address)
    if len(raw) != 35:
        raise ValueError(f"not an SS58 address of a 32-byte key: {address!r}")
    checksum = hashlib.blake2b(b"SS58PRE" + raw[:33], digest_size=64).digest()[:2]
    if checksum != raw[33:]:
        raise ValueError(f"bad SS58 checksum: {address!r}")
    return raw[1:33]


# --- errors -------------------------------------------------------------------------------


class ErrorCode(enum.IntEnum):
    """`SubstrateError.Code` of upstream."""

    GENERIC = -1
    NONE = 0
    NOT_FOUND = 1
    BURN_TRANSACTION_NOT_FOUND = 2
    REFUND_TRANSACTION_NOT_FOUND = 3
    FAILED_TO_DECODE = 4
    INVALID_VERSION = 5
    UNKNOWN_VERSION = 6
    IS_USURPED = 7
    ACCOUNT_NOT_FOUND = 8
    DEPOSIT_FEE_NOT_FOUND = 9
    MINT_TRANSACTION_NOT_FOUND = 10


class SubstrateError(Exception):
    """A chain call failed; `code` is upstream's `SubstrateError.Code`."""

    code: ErrorCode = ErrorCode.GENERIC
    kind = "error"

    def __init__(self, message: str, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFoundError(SubstrateError):
    code = ErrorCode.NOT_FOUND
    kind = "not-found"


class ConflictError(SubstrateError):
    """The write would duplicate something unique (twin account, node of a twin, contract)."""

    kind = "conflict"


class InvalidRequestError(SubstrateError):
    """The request itself is wrong; `field` names the culprit."""

    kind = "invalid"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class PermissionDeniedError(SubstrateError):
    """The signer may not do this (e.g. cancel another twin's contract)."""

    kind = "forbidden"


class ChainUnreachableError(SubstrateError):
    kind = "unreachable"


# --- chain types (tfchain-client-go) --------------------------------------------------------


_GO_NAMES = {
    "hru": "HRU", "sru": "SRU", "cru": "CRU", "mru": "MRU", "nru": "NRU",
    "ip": "IP", "gw": "GW", "ip4": "IP4", "ip6": "IP6", "ips": "IPs", "id": "ID",
    "farm_id": "FarmID", "twin_id": "TwinID", "contract_id": "ContractID", "entity_id": "EntityID",
    "public_ips": "PublicIPs", "public_ips_count": "PublicIPsCount",
    "pricing_policy_id": "PricingPolicyID", "solution_provider_id": "SolutionProviderID",
    "node_id": "Node", "fee_frozen": "FreeFrozen",
}


def go_name(field: str) -> str:
    """The Go field name of a tfchain JSON tag (the zbus wire name)."""
    return _GO_NAMES.get(field) or "".join(part.capitalize() for part in field.split("_"))


class ChainModel(BaseModel):
    """Fields named by the Go client's JSON tags; aliases are the Go field names."""

    model_config = ConfigDict(populate_by_name=True, alias_generator=go_name)


class Resources(ChainModel):
    hru: U64 = 0
    sru: U64 = 0
    cru: U64 = 0
    mru: U64 = 0


class Location(ChainModel):
    city: str = ""
    country: str = ""
    latitude: str = ""
    longitude: str = ""


class IP(ChainModel):
    ip: str = ""
    gw: str = ""


class OptionIP(ChainModel):
    has_value: bool = False
    as_value: IP = Field(default_factory=IP)


class OptionDomain(ChainModel):
    has_value: bool = False
    as_value: str = ""


class PublicConfig(ChainModel):
    ip4: IP = Field(default_factory=IP)
    ip6: OptionIP = Field(default_factory=OptionIP)
    domain: OptionDomain = Field(default_factory=OptionDomain)


class OptionPublicConfig(ChainModel):
    has_value: bool = False
    as_value: PublicConfig = Field(default_factory=PublicConfig)


class Interface(ChainModel):
    name: str = ""
    mac: str = ""
    ips: list[str] = Field(default_factory=list)


class OptionBoardSerial(ChainModel):
    has_value: bool = False
    as_value: str = ""


class NodeCertification(ChainModel):
    is_diy: bool = True
    is_certified: bool = False


class Node(ChainModel):
    version: U32 = 0
    id: U32 = 0
    farm_id: U32 = 0
    twin_id: U32 = 0
    resources: Resources = Field(default_factory=Resources)
    location: Location = Field(default_factory=Location)
    public_config: OptionPublicConfig = Field(default_factory=OptionPublicConfig)
    created: U64 = 0
    farming_policy: U32 = 0
    interfaces: list[Interface] = Field(default_factory=list)
    certification: NodeCertification = Field(default_factory=NodeCertification)
    secure_boot: bool = False
    virtualized: bool = False
    board_serial: OptionBoardSerial = Field(default_factory=OptionBoardSerial)
    connection_price: U32 = 0

    def same_settable_fields(self, other: Node) -> bool:
        """Upstream's `Node.Eq`: do the fields a node sets itself match?"""
        keys = ("farm_id", "twin_id", "resources", "location", "interfaces", "secure_boot",
                "virtualized", "board_serial")
        return all(getattr(self, k) == getattr(other, k) for k in keys)


class OptionRelay(ChainModel):
    has_value: bool = False
    as_value: str = ""


class OptionBytes(ChainModel):
    has_value: bool = False
    as_value: HexBytes = b""


class EntityProof(ChainModel):
    entity_id: U32 = 0
    signature: str = ""


class Twin(ChainModel):
    version: U32 = 0
    id: U32 = 0
    account: AccountId
    relay: OptionRelay = Field(default_factory=OptionRelay)
    entities: list[EntityProof] = Field(default_factory=list)
    pk: OptionBytes = Field(default_factory=OptionBytes)


class PublicIP(ChainModel):
    ip: str
    gateway: str = ""
    contract_id: U64 = 0


class FarmCertification(ChainModel):
    is_not_certified: bool = True
    is_gold: bool = False


class Farm(ChainModel):
    version: U32 = 0
    id: U32 = 0
    name: str
    twin_id: U32
    pricing_policy_id: U32 = 1
    certification_type: FarmCertification = Field(default_factory=FarmCertification)
    public_ips: list[PublicIP] = Field(default_factory=list)
    dedicated_farm: bool = False


class DeletedState(ChainModel):
    is_canceled_by_user: bool = False
    is_out_of_funds: bool = False
    is_canceled_by_collective: bool = False


class ContractState(ChainModel):
    is_created: bool = False
    is_deleted: bool = False
    as_deleted: DeletedState = Field(default_factory=DeletedState)
    is_grace_period: bool = False
    as_grace_period_block_number: U64 = 0


class NodeContract(ChainModel):
    node_id: U32 = 0
    deployment_hash: str = ""
    deployment_data: str = ""
    public_ips_count: U32 = 0
    public_ips: list[PublicIP] = Field(default_factory=list)


class NameContract(ChainModel):
    name: str = ""


class RentContract(ChainModel):
    node_id: U32 = 0


class ContractType(ChainModel):
    is_node_contract: bool = False
    node_contract: NodeContract = Field(default_factory=NodeContract)
    is_name_contract: bool = False
    name_contract: NameContract = Field(default_factory=NameContract)
    is_rent_contract: bool = False
    rent_contract: RentContract = Field(default_factory=RentContract)


class OptionU64(ChainModel):
    has_value: bool = False
    as_value: U64 = 0


class Contract(ChainModel):
    version: U32 = 0
    state: ContractState = Field(default_factory=ContractState)
    contract_id: U64 = 0
    twin_id: U32 = 0
    contract_type: ContractType = Field(default_factory=ContractType)
    solution_provider_id: OptionU64 = Field(default_factory=OptionU64)


class Power(ChainModel):
    is_up: bool = True
    is_down: bool = False


class PowerState(ChainModel):
    is_up: bool = True
    is_down: bool = False
    as_down_block_number: U32 = 0


class NodePower(ChainModel):
    state: PowerState = Field(default_factory=PowerState)
    target: Power = Field(default_factory=Power)


class AccountData(ChainModel):
    free: int = 0
    reserved: int = 0
    misc_frozen: int = 0
    fee_frozen: int = 0


class AccountInfo(ChainModel):
    nonce: U32 = 0
    consumers: U32 = 0
    providers: U32 = 0
    sufficients: U32 = 0
    data: AccountData = Field(default_factory=AccountData)


class NruConsumption(ChainModel):
    contract_id: U64
    timestamp: U64
    window: U64
    nru: U64


class ContractResources(ChainModel):
    contract_id: U64
    used: Resources = Field(default_factory=Resources)


# --- chain events on the node event bus (zbus.md §14) ------------------------------------


class PublicConfigEvent(ChainModel):
    """``stream:public-config``: the farmer set (or cleared) the node's public config."""

    public_config: OptionPublicConfig = Field(default_factory=OptionPublicConfig)


class PowerTargetChangeEvent(ChainModel):
    """``stream:power-target``: the farmer(bot) wants a node of the farm up or down."""

    farm_id: U32 = 0
    node_id: Annotated[U32, zbus.GoName("NodeID")] = 0
    target: Power = Field(default_factory=Power)


PUBLIC_CONFIG = EventStream(PUBLIC_CONFIG_STREAM, PublicConfigEvent)
POWER_TARGET = EventStream(POWER_TARGET_STREAM, PowerTargetChangeEvent)


# --- development-chain extras ---------------------------------------------------------------

EventKind = Literal[
    "NodePublicConfigStored",
    "NodeContractCanceled",
    "ContractGracePeriodStarted",
    "ContractGracePeriodEnded",
    "PowerTargetChanged",
]


class ChainEvent(ChainModel):
    """One entry of the development chain's ordered event feed."""

    seq: int
    block: int
    kind: EventKind
    node_id: int = 0
    farm_id: int = 0
    twin_id: int = 0
    contract_id: int = 0
    public_config: OptionPublicConfig | None = None
    power_target: Power | None = None


class TwinInfo(ChainModel):
    """A twin as the development chain lists it (with what tfchain keeps off the record)."""

    twin: Twin
    key_type: Literal["ed25519", "sr25519"]
    address: str
    kyc_verified: bool


class UptimeReport(ChainModel):
    node_id: int
    uptime: int
    timestamp: int
    block: int


class ConsumptionReport(ChainModel):
    contract_id: int
    used: Resources
    block: int


KeyType = Literal["ed25519", "sr25519"]
ContractStateName = Literal["created", "deleted", "grace"]


# --- the interfaces -------------------------------------------------------------------------


class SyncSubstrateGateway(Protocol):
    """Upstream's `pkg.SubstrateGateway` as plain calls (what `ChainGateway` implements);
    failures raise `SubstrateError`. The zbus object is `SubstrateGateway` below."""

    def create_node(self, node: Node) -> int: ...
    def create_twin(self, relay: str, pk: bytes) -> int: ...
    def ensure_account(
        self, activation_url: list[str], terms_and_conditions_link: str,
        terms_and_conditions_hash: str,
    ) -> AccountInfo: ...
    def get_contract(self, id: int) -> Contract: ...
    def get_contract_id_by_name_registration(self, name: str) -> int: ...
    def get_farm(self, id: int) -> Farm: ...
    def get_node(self, id: int) -> Node: ...
    def get_node_by_twin_id(self, twin: int) -> int: ...
    def get_node_contracts(self, node: int) -> list[int]: ...
    def get_node_rent_contract(self, node: int) -> int: ...
    def get_nodes(self, farm_id: int) -> list[int]: ...
    def get_power_target(self, node_id: int) -> NodePower: ...
    def get_twin(self, id: int) -> Twin: ...
    def get_twin_by_pub_key(self, pk: bytes) -> int: ...
    def report(self, consumptions: list[NruConsumption]) -> bytes: ...
    def set_contract_consumption(self, *resources: ContractResources) -> None: ...
    def set_node_power_state(self, up: bool) -> bytes: ...
    def update_node(self, node: Node) -> int: ...
    def update_node_uptime_v2(self, uptime: int, timestamp_hint: int) -> bytes: ...
    def get_time(self) -> datetime: ...
    def get_zos_version(self) -> str: ...


GO_METHODS: dict[str, str] = {
    "CreateNode": "create_node",
    "CreateTwin": "create_twin",
    "EnsureAccount": "ensure_account",
    "GetContract": "get_contract",
    "GetContractIDByNameRegistration": "get_contract_id_by_name_registration",
    "GetFarm": "get_farm",
    "GetNode": "get_node",
    "GetNodeByTwinID": "get_node_by_twin_id",
    "GetNodeContracts": "get_node_contracts",
    "GetNodeRentContract": "get_node_rent_contract",
    "GetNodes": "get_nodes",
    "GetPowerTarget": "get_power_target",
    "GetTwin": "get_twin",
    "GetTwinByPubKey": "get_twin_by_pub_key",
    "Report": "report",
    "SetContractConsumption": "set_contract_consumption",
    "SetNodePowerState": "set_node_power_state",
    "UpdateNode": "update_node",
    "UpdateNodeUptimeV2": "update_node_uptime_v2",
    "GetTime": "get_time",
    "GetZosVersion": "get_zos_version",
}
"""Go method name (the zbus wire) -> `SubstrateGateway` method."""


class SubstrateErrorStatus(ChainModel):
    """Go's `pkg.SubstrateError{Err error; Code int}`: the second return of the lookups that
    upstream answers with a code instead of an error (code 0: no error)."""

    err: str | None = None
    code: int = 0

    @classmethod
    def of(cls, error: SubstrateError | None) -> SubstrateErrorStatus:
        if error is None:
            return cls()
        return cls(err=error.message, code=int(error.code))

    def raise_for(self) -> None:
        """Raise the `SubstrateError` this status stands for (nothing when code is 0)."""
        if self.code == ErrorCode.NONE:
            return
        message = self.err or f"chain error code {self.code}"
        if self.code == ErrorCode.NOT_FOUND:
            raise NotFoundError(message)
        try:
            code = ErrorCode(self.code)
        except ValueError:
            code = ErrorCode.GENERIC
        raise SubstrateError(message, code)


_T = TypeVar("_T")


def unwrap(result: tuple[_T, SubstrateErrorStatus]) -> _T:
    """The value of a `(value, SubstrateError)` zbus answer, or the error raised."""
    value, status = result
    status.raise_for()
    return value


@zbus.interface(module=MODULE, object=OBJECT, version=VERSION)
class SubstrateGateway:
    """The ``api-gateway`` zbus object (upstream's `pkg.SubstrateGateway`, Go names).

    Lookups that return ``tuple[X, SubstrateErrorStatus]`` answer "not found" in the status
    (code 1) rather than as a call error, as upstream does: use `unwrap`.
    """

    @zbus.method("CreateNode", raises=SubstrateError)
    async def create_node(self, node: Node) -> zbus.U32:
        raise NotImplementedError

    @zbus.method("CreateTwin", raises=SubstrateError)
    async def create_twin(self, relay: str, pk: bytes) -> zbus.U32:
        raise NotImplementedError

    @zbus.method("EnsureAccount", raises=SubstrateError)
    async def ensure_account(
        self, activation_url: list[str], terms_and_conditions_link: str,
        terms_and_conditions_hash: str,
    ) -> AccountInfo:
        raise NotImplementedError

    @zbus.method("GetContract")
    async def get_contract(self, id: zbus.U64) -> tuple[Contract, SubstrateErrorStatus]:
        raise NotImplementedError

    @zbus.method("GetContractIDByNameRegistration")
    async def get_contract_id_by_name_registration(
        self, name: str
    ) -> tuple[zbus.U64, SubstrateErrorStatus]:
        raise NotImplementedError

    @zbus.method("GetFarm", raises=SubstrateError)
    async def get_farm(self, id: zbus.U32) -> Farm:
        raise NotImplementedError

    @zbus.method("GetNode", raises=SubstrateError)
    async def get_node(self, id: zbus.U32) -> Node:
        raise NotImplementedError

    @zbus.method("GetNodeByTwinID")
    async def get_node_by_twin_id(self, twin: zbus.U32) -> tuple[zbus.U32, SubstrateErrorStatus]:
        raise NotImplementedError

    @zbus.method("GetNodeContracts", raises=SubstrateError)
    async def get_node_contracts(self, node: zbus.U32) -> list[zbus.U64]:
        raise NotImplementedError

    @zbus.method("GetNodeRentContract")
    async def get_node_rent_contract(
        self, node: zbus.U32
    ) -> tuple[zbus.U64, SubstrateErrorStatus]:
        raise NotImplementedError

    @zbus.method("GetNodes", raises=SubstrateError)
    async def get_nodes(self, farm_id: zbus.U32) -> list[zbus.U32]:
        raise NotImplementedError

    @zbus.method("GetPowerTarget", raises=SubstrateError)
    async def get_power_target(self, node_id: zbus.U32) -> NodePower:
        raise NotImplementedError

    @zbus.method("GetTwin", raises=SubstrateError)
    async def get_twin(self, id: zbus.U32) -> Twin:
        raise NotImplementedError

    @zbus.method("GetTwinByPubKey")
    async def get_twin_by_pub_key(self, pk: bytes) -> tuple[zbus.U32, SubstrateErrorStatus]:
        raise NotImplementedError

    @zbus.method("Report", raises=SubstrateError)
    async def report(self, consumptions: list[NruConsumption]) -> bytes:
        raise NotImplementedError

    @zbus.method("SetContractConsumption", raises=SubstrateError)
    async def set_contract_consumption(self, *resources: ContractResources) -> None:
        raise NotImplementedError

    @zbus.method("SetNodePowerState", raises=SubstrateError)
    async def set_node_power_state(self, up: bool) -> bytes:
        raise NotImplementedError

    @zbus.method("UpdateNode", raises=SubstrateError)
    async def update_node(self, node: Node) -> zbus.U32:
        raise NotImplementedError

    @zbus.method("UpdateNodeUptimeV2", raises=SubstrateError)
    async def update_node_uptime_v2(self, uptime: zbus.U64, timestamp_hint: zbus.U64) -> bytes:
        raise NotImplementedError

    @zbus.method("GetTime", raises=SubstrateError)
    async def get_time(self) -> datetime:
        raise NotImplementedError

    @zbus.method("GetZosVersion", raises=SubstrateError)
    async def get_zos_version(self) -> str:
        raise NotImplementedError


class ChainBackend(Protocol):
    """The development chain: `DevChain` in-process, `ChainClient` over HTTP.

    Writes name their signer (`account`, a 32-byte public key); the development chain
    trusts it (no extrinsic signatures).
    """

    # reads
    def get_twin(self, id: int) -> Twin: ...
    def get_twin_by_pub_key(self, pk: bytes) -> int: ...
    def get_farm(self, id: int) -> Farm: ...
    def get_node(self, id: int) -> Node: ...
    def get_nodes(self, farm_id: int) -> list[int]: ...
    def get_node_by_twin_id(self, twin: int) -> int: ...
    def get_contract(self, id: int) -> Contract: ...
    def get_node_contracts(self, node: int) -> list[int]: ...
    def get_node_rent_contract(self, node: int) -> int: ...
    def get_contract_id_by_name_registration(self, name: str) -> int: ...
    def get_power_target(self, node_id: int) -> NodePower: ...
    def get_time(self) -> datetime: ...
    def get_zos_version(self) -> str: ...
    def get_block(self) -> int: ...
    def list_twins(self) -> list[TwinInfo]: ...
    def list_farms(self) -> list[Farm]: ...
    def list_nodes(self) -> list[Node]: ...
    def list_contracts(
        self, node_id: int | None = None, twin_id: int | None = None,
        state: ContractStateName | None = None,
    ) -> list[Contract]: ...
    def events(
        self, since: int = 0, limit: int = 100, node_id: int | None = None,
        farm_id: int | None = None,
    ) -> list[ChainEvent]: ...
    def uptime_reports(self, node_id: int) -> list[UptimeReport]: ...
    def consumption_reports(self, contract_id: int) -> list[ConsumptionReport]: ...
    def nru_reports(self, contract_id: int) -> list[NruConsumption]: ...
    def is_kyc_verified(self, twin_id: int) -> bool: ...

    # signed writes
    def ensure_account(
        self, account: bytes, activation_url: list[str], terms_and_conditions_link: str,
        terms_and_conditions_hash: str,
    ) -> AccountInfo: ...
    def create_twin(
        self, account: bytes, relay: str = "", pk: bytes = b"", key_type: KeyType = "ed25519"
    ) -> int: ...
    def update_twin(self, account: bytes, relay: str, pk: bytes) -> int: ...
    def create_farm(
        self, account: bytes, name: str, public_ips: list[PublicIP] | None = None
    ) -> int: ...
    def create_node(self, account: bytes, node: Node) -> int: ...
    def update_node(self, account: bytes, node: Node) -> int: ...
    def create_node_contract(
        self, account: bytes, node_id: int, deployment_hash: DeploymentHash,
        deployment_data: str = "", public_ips: int = 0, solution_provider_id: int | None = None,
    ) -> int: ...
    def update_node_contract(
        self, account: bytes, contract_id: int, deployment_hash: DeploymentHash,
        deployment_data: str = "",
    ) -> int: ...
    def cancel_contract(self, account: bytes, contract_id: int) -> None: ...
    def create_name_contract(self, account: bytes, name: str) -> int: ...
    def create_rent_contract(
        self, account: bytes, node_id: int, solution_provider_id: int | None = None
    ) -> int: ...
    def set_contract_consumption(
        self, account: bytes, resources: list[ContractResources]
    ) -> None: ...
    def report(self, account: bytes, consumptions: list[NruConsumption]) -> bytes: ...
    def update_node_uptime_v2(self, account: bytes, uptime: int, timestamp_hint: int) -> bytes: ...
    def set_node_power_state(self, account: bytes, up: bool) -> bytes: ...

    # test controls
    def set_node_public_config(self, node_id: int, config: PublicConfig | None) -> None: ...
    def set_power_target(self, node_id: int, up: bool) -> None: ...
    def grace_period_start(self, contract_id: int) -> None: ...
    def grace_period_end(self, contract_id: int) -> None: ...
    def set_kyc_verified(self, twin_id: int, verified: bool) -> None: ...
    def set_zos_version(self, version: str) -> None: ...
    def set_reachable(self, reachable: bool) -> None: ...
