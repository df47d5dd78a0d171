"""The manager interface (spec §5) and the outcomes a manager may signal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from zos_provision.model import Deployment, Workload, workload_id


class NoActionNeeded(Exception):
    """Already in the requested state: nothing is recorded."""


class Unchanged(Exception):
    """The operation failed but the previous state holds (recorded as ``unchanged``)."""


class Paused(Exception):
    """The workload is paused (recorded as ``paused``)."""


@dataclass
class WorkloadContext:
    deployment: Deployment
    workload: Workload
    contract: dict[str, Any] = field(default_factory=dict)
    rented: bool = False

    @property
    def workload_id(self) -> str:
        dep = self.deployment
        return workload_id(dep.twin_id, dep.contract_id, self.workload.name)


@runtime_checkable
class Manager(Protocol):
    """Required: provision and deprovision. Optional (looked up with getattr):
    ``initialize()``, ``update(ctx)``, ``pause(ctx)``, ``resume(ctx)``.

    Every call must be idempotent: a job interrupted by a crash runs again.
    """

    async def provision(self, ctx: WorkloadContext) -> Any: ...

    async def deprovision(self, ctx: WorkloadContext) -> None: ...


class NotSupported:
    """The manager of a type this node cannot run: a clear error result, nothing done."""

    def __init__(self, wtype: str) -> None:
        self.wtype = wtype

    async def provision(self, ctx: WorkloadContext) -> Any:
        raise RuntimeError(f"workload type '{self.wtype}' is not supported on this node")

    async def deprovision(self, ctx: WorkloadContext) -> None:
        return None
