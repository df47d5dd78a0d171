"""The provisiond contract: what other modules and clients may rely on.

provisiond serves two zbus objects in module ``provision`` (version ``0.0.1``, upstream names):

- ``provision`` (Provision): CreateOrUpdate(twin, Deployment, update) · Get(twin, contract)
  · List(twin) · Changes(twin, contract) · ListPublicIPs() · ListPrivateIPs(twin, network)
  · GetWorkloadStatus(id) → (state, exists) · DecommissionCached(id, reason)
- ``statistics`` (Statistics): Total() · Current() · Workloads() · GetCounters() · ListGPUs()

and the node's public API (``zos.*`` RMB commands, see `zos_provision.node_api`) on the RMB
peer's redis-side ``msgbus`` queues. Deployments travel as their grid JSON (zos-gridtypes).
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

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
    cru: int = 0
    sru: int = 0
    hru: int = 0
    mru: int = 0
    ipv4u: int = 0

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
    deployments: int = 0
    workloads: int = 0
    last_deployment_timestamp: int = 0


@dataclass
class Counters:
    """`zos.statistics.get`: ``used`` includes ``system``."""

    total: Capacity = field(default_factory=Capacity)
    used: Capacity = field(default_factory=Capacity)
    system: Capacity = field(default_factory=Capacity)
    users: Users = field(default_factory=Users)
    open_connections: int = 0

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


class Provision(Protocol):
    """The ``provision`` zbus object (deployments as grid JSON objects)."""

    async def CreateOrUpdate(self, twin: int, deployment: dict[str, Any], update: bool) -> None: ...
    async def Get(self, twin: int, contract: int) -> dict[str, Any]: ...
    async def List(self, twin: int) -> list[dict[str, Any]]: ...
    async def Changes(self, twin: int, contract: int) -> list[dict[str, Any]]: ...
    async def ListPublicIPs(self) -> list[str]: ...
    async def ListPrivateIPs(self, twin: int, network: str) -> list[str]: ...
    async def GetWorkloadStatus(self, id: str) -> tuple[str, bool]: ...
    async def DecommissionCached(self, id: str, reason: str) -> None: ...


class Statistics(Protocol):
    """The ``statistics`` zbus object."""

    async def Total(self) -> dict[str, int]: ...
    async def Current(self) -> dict[str, int]: ...
    async def Workloads(self) -> int: ...
    async def GetCounters(self) -> dict[str, Any]: ...
    async def ListGPUs(self) -> list[dict[str, Any]]: ...
