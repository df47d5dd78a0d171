"""The provisiond contract: what other modules and clients may rely on.

provisiond serves two zbus objects in module ``provision`` (version ``0.0.1``, upstream names),
declared below as `ProvisionInterface` and `StatisticsInterface` (call them with
``zbus.Client(url).stub(ProvisionInterface)``):

- ``provision`` (Provision): CreateOrUpdate(twin, Deployment, update) · Get(twin, contract)
  · List(twin) · Changes(twin, contract) · ListPublicIPs() · ListPrivateIPs(twin, network)
  · GetWorkloadStatus(id) → (state, exists) · DecommissionCached(id, reason)
- ``statistics`` (Statistics): Total() · Current() · Workloads() · GetCounters() · ListGPUs()
  · ⇶ReservedStream (every 2 min)

and the node's public API (``zos.*`` RMB commands, see `zos_provision.node_api`) on the RMB
peer's redis-side ``msgbus`` queues, where deployments travel as their grid JSON (zos-gridtypes).

On zbus, deployments and workloads travel in Go's struct layout (`GoDeployment`,
`GoWorkload`: what upstream's msgpack codec makes of ``gridtypes.Deployment`` /
``gridtypes.Workload``), so Go clients and ours read the same bytes. Convert with
``GoDeployment.from_grid(d)`` / ``.to_grid()`` (zos-gridtypes models) or ``from_json(obj)`` /
``.to_json()`` (their grid JSON).
"""

from __future__ import annotations

import enum
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import zos_zbus as zbus
from zos_zbus import I64, U32, U64, GoName, GoTypeName, Uint

if TYPE_CHECKING:  # imported when converting only: clients of this module stay light
    from zos_gridtypes import Deployment as GridDeployment
    from zos_gridtypes import Workload as GridWorkload

MODULE = "provision"
VERSION = "0.0.1"
PROVISION_OBJECT = "provision"
STATISTICS_OBJECT = "statistics"


class ResultState(enum.Enum):
    INIT = "init"
    OK = "ok"
    ERROR = "error"
    DELETED = "deleted"
    PAUSED = "paused"
    UNCHANGED = "unchanged"


KNOWN_STATES = frozenset(s.value for s in ResultState)


class Op(enum.Enum):
    """Job operations of the queue (spec §3)."""

    PROVISION = "provision"
    DEPROVISION = "deprovision"
    UPDATE = "update"
    PROVISION_NO_VALIDATION = "provision-no-validation"
    PAUSE = "pause"
    RESUME = "resume"
    DECOMMISSION = "decommission"


@dataclass
class Capacity:
    """gridtypes.Capacity: ``cru``/``ipv4u`` counts, the rest bytes (Go names on zbus)."""

    cru: Annotated[U64, GoName("CRU")] = 0
    sru: Annotated[U64, GoName("SRU")] = 0
    hru: Annotated[U64, GoName("HRU")] = 0
    mru: Annotated[U64, GoName("MRU")] = 0
    ipv4u: Annotated[U64, GoName("IPV4U")] = 0

    def add(self, other: Capacity) -> Capacity:
        return Capacity(
            cru=self.cru + other.cru,
            sru=self.sru + other.sru,
            hru=self.hru + other.hru,
            mru=self.mru + other.mru,
            ipv4u=self.ipv4u + other.ipv4u,
        )

    def to_json(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class Users:
    deployments: Annotated[U64, GoName("Deployments")] = 0
    workloads: Annotated[U64, GoName("Workloads")] = 0
    last_deployment_timestamp: Annotated[U64, GoName("LastDeploymentTimestamp")] = 0


@dataclass
class Counters:
    """`zos.statistics.get` and Statistics.GetCounters: ``used`` includes ``system``."""

    total: Annotated[Capacity, GoName("Total")] = field(default_factory=Capacity)
    used: Annotated[Capacity, GoName("Used")] = field(default_factory=Capacity)
    system: Annotated[Capacity, GoName("System")] = field(default_factory=Capacity)
    users: Annotated[Users, GoName("Users")] = field(default_factory=Users)
    open_connections: Annotated[int, GoName("OpenConnecions")] = 0  # sic, upstream's name

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# -- gridtypes in Go's struct layout (zbus) ---------------------------------------------------
#
# zbus's msgpack codec ignores json tags: a struct is a map keyed by its Go field names, in
# declaration order, with Go zero values (upstream gridtypes, zosbase 063d8956):
#
#   Deployment{Version uint32; TwinID uint32; ContractID uint64; Metadata, Description string;
#              Expiration Timestamp; SignatureRequirement SignatureRequirement;
#              Workloads []Workload}
#   SignatureRequirement{Requests []SignatureRequest; WeightRequired uint;
#                        Signatures []Signature; SignatureStyle string}
#   SignatureRequest{TwinID uint32; Required bool; Weight uint}
#   Signature{TwinID uint32; Signature string; SignatureType string}
#   Workload{Version uint32; Name Name; Type WorkloadType; Data json.RawMessage;
#            Metadata, Description string; Result Result}
#   Result{Created Timestamp; State ResultState; Error string (json "message");
#          Data json.RawMessage}
#
# Name, WorkloadType and ResultState are Go strings; Timestamp is an int64 (`d3`, Unix seconds:
# it has JSON methods only, so msgpack sees the int64). json.RawMessage is a []byte: bin of the
# JSON text, nil (`c0`) when unset. Assumptions where upstream's data leaves a choice: a JSON
# ``null`` data is sent as nil, like Go's zero Result; empty lists go as empty arrays (`90`,
# what Go sends after decoding ``[]``); an empty bin is read as nil.

Timestamp = Annotated[I64, GoTypeName("gridtypes.Timestamp")]
"""gridtypes.Timestamp: int64 Unix seconds on the wire."""
RawMessage = Annotated[bytes | None, GoTypeName("json.RawMessage")]
"""json.RawMessage: the raw JSON text as bin; ``None`` is Go's nil."""


def _raw_text(raw: bytes | None, what: str) -> str:
    """The JSON text of a RawMessage (``null`` for nil); ValueError naming ``what``."""
    if not raw:
        return "null"
    try:
        text = raw.decode("utf-8")
        json.loads(text)
    except ValueError as err:
        raise ValueError(f"{what} is not valid JSON: {err}") from None
    return text


def _raw_of(data: Any) -> bytes | None:
    """A gridtypes RawJSON as a RawMessage: nil when absent or ``null``."""
    return data.text.encode("utf-8") if data else None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass
class GoResult:
    __go_type__ = "gridtypes.Result"

    created: Annotated[Timestamp, GoName("Created")] = 0
    state: Annotated[str, GoName("State")] = ""  # gridtypes.ResultState
    error: Annotated[str, GoName("Error")] = ""  # json "message"
    data: Annotated[RawMessage, GoName("Data")] = None

    def json_text(self, what: str = "result") -> str:
        head = _dumps({"created": self.created, "state": self.state, "message": self.error})
        return f'{head[:-1]},"data":{_raw_text(self.data, what + " data")}}}'


@dataclass
class GoWorkload:
    """gridtypes.Workload as zbus carries it."""

    __go_type__ = "gridtypes.Workload"

    version: Annotated[U32, GoName("Version")] = 0
    name: Annotated[str, GoName("Name")] = ""  # gridtypes.Name
    type: Annotated[str, GoName("Type")] = ""  # gridtypes.WorkloadType
    data: Annotated[RawMessage, GoName("Data")] = None
    metadata: Annotated[str, GoName("Metadata")] = ""
    description: Annotated[str, GoName("Description")] = ""
    result: Annotated[GoResult, GoName("Result")] = field(default_factory=GoResult)

    def json_text(self) -> str:
        """The workload's grid JSON, ``data`` embedded as sent; ValueError if not JSON."""
        what = f"workload '{self.name}'"
        head = _dumps({"version": self.version, "name": self.name, "type": self.type})
        tail = _dumps({"metadata": self.metadata, "description": self.description})
        return (
            f'{head[:-1]},"data":{_raw_text(self.data, what + " data")},{tail[1:-1]},'
            f'"result":{self.result.json_text(what + " result")}}}'
        )

    def to_json(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.json_text())
        return result

    def to_grid(self) -> GridWorkload:
        from zos_gridtypes import Workload as GridWorkload

        return GridWorkload.model_validate_json(self.json_text())

    @classmethod
    def from_grid(cls, wl: GridWorkload) -> GoWorkload:
        return cls(
            version=wl.version,
            name=wl.name,
            type=wl.type,
            data=_raw_of(wl.data),
            metadata=wl.metadata,
            description=wl.description,
            result=GoResult(
                created=wl.result.created,
                state=str(wl.result.state),
                error=wl.result.message,
                data=_raw_of(wl.result.data),
            ),
        )

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> GoWorkload:
        """From grid JSON, decoded the Go way (zos_gridtypes.ValidationError if it does not)."""
        from zos_gridtypes import Workload as GridWorkload

        return cls.from_grid(GridWorkload.model_validate(dict(obj)))


@dataclass
class GoSignatureRequest:
    __go_type__ = "gridtypes.SignatureRequest"

    twin_id: Annotated[U32, GoName("TwinID")] = 0
    required: Annotated[bool, GoName("Required")] = False
    weight: Annotated[Uint, GoName("Weight")] = 0


@dataclass
class GoSignature:
    __go_type__ = "gridtypes.Signature"

    twin_id: Annotated[U32, GoName("TwinID")] = 0
    signature: Annotated[str, GoName("Signature")] = ""  # hex
    signature_type: Annotated[str, GoName("SignatureType")] = ""


@dataclass
class GoSignatureRequirement:
    __go_type__ = "gridtypes.SignatureRequirement"

    requests: Annotated[list[GoSignatureRequest], GoName("Requests")] = field(default_factory=list)
    weight_required: Annotated[Uint, GoName("WeightRequired")] = 0
    signatures: Annotated[list[GoSignature], GoName("Signatures")] = field(default_factory=list)
    signature_style: Annotated[str, GoName("SignatureStyle")] = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": [
                {"twin_id": r.twin_id, "required": r.required, "weight": r.weight}
                for r in self.requests
            ],
            "weight_required": self.weight_required,
            "signatures": [
                {"twin_id": s.twin_id, "signature": s.signature, "signature_type": s.signature_type}
                for s in self.signatures
            ],
            "signature_style": self.signature_style,
        }


@dataclass
class GoDeployment:
    """gridtypes.Deployment as zbus carries it (argument of CreateOrUpdate, reply of Get)."""

    __go_type__ = "gridtypes.Deployment"

    version: Annotated[U32, GoName("Version")] = 0
    twin_id: Annotated[U32, GoName("TwinID")] = 0
    contract_id: Annotated[U64, GoName("ContractID")] = 0
    metadata: Annotated[str, GoName("Metadata")] = ""
    description: Annotated[str, GoName("Description")] = ""
    expiration: Annotated[Timestamp, GoName("Expiration")] = 0
    signature_requirement: Annotated[GoSignatureRequirement, GoName("SignatureRequirement")] = (
        field(default_factory=GoSignatureRequirement)
    )
    workloads: Annotated[list[GoWorkload], GoName("Workloads")] = field(default_factory=list)

    def json_text(self) -> str:
        """The deployment's grid JSON, workload ``data`` embedded as sent; ValueError when a
        ``data`` is not JSON."""
        head = _dumps(
            {
                "version": self.version,
                "twin_id": self.twin_id,
                "contract_id": self.contract_id,
                "metadata": self.metadata,
                "description": self.description,
                "expiration": self.expiration,
                "signature_requirement": self.signature_requirement.to_json(),
            }
        )
        workloads = ",".join(wl.json_text() for wl in self.workloads)
        return f'{head[:-1]},"workloads":[{workloads}]}}'

    def to_json(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.json_text())
        return result

    def to_grid(self) -> GridDeployment:
        from zos_gridtypes import Deployment as GridDeployment

        return GridDeployment.model_validate_json(self.json_text())

    @classmethod
    def from_grid(cls, dep: GridDeployment) -> GoDeployment:
        sr = dep.signature_requirement
        return cls(
            version=dep.version,
            twin_id=dep.twin_id,
            contract_id=dep.contract_id,
            metadata=dep.metadata,
            description=dep.description,
            expiration=dep.expiration,
            signature_requirement=GoSignatureRequirement(
                requests=[
                    GoSignatureRequest(twin_id=r.twin_id, required=r.required, weight=r.weight)
                    for r in sr.requests
                ],
                weight_required=sr.weight_required,
                signatures=[
                    GoSignature(
                        twin_id=s.twin_id, signature=s.signature, signature_type=s.signature_type
                    )
                    for s in sr.signatures
                ],
                signature_style=sr.signature_style,
            ),
            workloads=[GoWorkload.from_grid(wl) for wl in dep.workloads],
        )

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> GoDeployment:
        """From grid JSON, decoded the Go way (zos_gridtypes.ValidationError if it does not)."""
        from zos_gridtypes import Deployment as GridDeployment

        return cls.from_grid(GridDeployment.model_validate(dict(obj)))


class ProvisionError(Exception):
    """An admission error; ``str()`` is the text the RMB caller receives."""


class DeploymentNotFound(ProvisionError):
    pass


class DeploymentExists(ProvisionError):
    pass


class Conflict(ProvisionError):
    pass


# Upstream's texts (spec provision §2, §4, §6, §13).
TEXT_NOT_FOUND = "deployment not found"
TEXT_UPDATE_NOT_FOUND = "deployment not found: deployment does not exist"
TEXT_EXISTS = "exists"
TEXT_INVALID_VERSION = "expected version to be 0 on deployment creation: invalid version"
TEXT_DELETE_DISABLED = "deletion over the api is disabled, please cancel your contract instead"
REASON_CANCELED = "contract canceled event received"
REASON_NOT_ACTIVE = "contract not active on chain"
REASON_UPDATE = "deleted by an update"


def twin_mismatch(deployment_twin: int, message_twin: int) -> str:
    return f"twin id mismatch (deployment: {deployment_twin}, message: {message_twin})"


class ProvisionCallError(zbus.CallError):
    """A provision call failed; the message is the engine's error text."""


@zbus.interface(module=MODULE, object=PROVISION_OBJECT, version=VERSION)
class ProvisionInterface:
    @zbus.method("CreateOrUpdate", raises=ProvisionCallError)
    async def create_or_update(self, twin: U32, deployment: GoDeployment, update: bool) -> None:
        raise NotImplementedError

    @zbus.method("Get", raises=ProvisionCallError)
    async def get(self, twin: U32, contract: U64) -> GoDeployment:
        raise NotImplementedError

    @zbus.method("List", raises=ProvisionCallError)
    async def list_deployments(self, twin: U32) -> list[GoDeployment]:
        raise NotImplementedError

    @zbus.method("Changes", raises=ProvisionCallError)
    async def changes(self, twin: U32, contract: U64) -> list[GoWorkload]:
        raise NotImplementedError

    @zbus.method("ListPublicIPs", raises=ProvisionCallError)
    async def list_public_ips(self) -> list[str]:
        raise NotImplementedError

    @zbus.method("ListPrivateIPs", raises=ProvisionCallError)
    async def list_private_ips(self, twin: U32, network: str) -> list[str]:
        raise NotImplementedError

    @zbus.method("GetWorkloadStatus", raises=ProvisionCallError)
    async def get_workload_status(self, id: str) -> tuple[str, bool]:
        raise NotImplementedError

    @zbus.method("DecommissionCached", raises=ProvisionCallError)
    async def decommission_cached(self, id: str, reason: str) -> None:
        raise NotImplementedError


@zbus.interface(module=MODULE, object=STATISTICS_OBJECT, version=VERSION)
class StatisticsInterface:
    @zbus.method("Total")
    async def total(self) -> Capacity:
        raise NotImplementedError

    @zbus.method("Current")
    async def current(self) -> Capacity:
        raise NotImplementedError

    @zbus.method("Workloads")
    async def workloads(self) -> int:
        raise NotImplementedError

    @zbus.method("GetCounters")
    async def get_counters(self) -> Counters:
        raise NotImplementedError

    @zbus.method("ListGPUs")
    async def list_gpus(self) -> Any:
        raise NotImplementedError

    @zbus.stream("ReservedStream")
    def reserved_stream(self) -> AsyncIterator[Capacity]:
        """The used capacity (workloads + system reserve), every 2 minutes."""
        raise NotImplementedError
