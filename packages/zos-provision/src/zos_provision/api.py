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
peer's redis-side ``msgbus`` queues. Deployments travel as their grid JSON (zos-gridtypes).
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

import zos_zbus as zbus
from zos_zbus import U32, U64, GoName

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
    async def create_or_update(self, twin: U32, deployment: Any, update: bool) -> None:
        raise NotImplementedError

    @zbus.method("Get", raises=ProvisionCallError)
    async def get(self, twin: U32, contract: U64) -> Any:
        raise NotImplementedError

    @zbus.method("List", raises=ProvisionCallError)
    async def list_deployments(self, twin: U32) -> Any:
        raise NotImplementedError

    @zbus.method("Changes", raises=ProvisionCallError)
    async def changes(self, twin: U32, contract: U64) -> Any:
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
