"""Workload managers: one per workload type, behind the `Manager` interface."""

from zos_provision.managers.base import (
    Manager,
    NoActionNeeded,
    NotSupported,
    Paused,
    Unchanged,
    WorkloadContext,
)

__all__ = ["Manager", "NoActionNeeded", "NotSupported", "Paused", "Unchanged", "WorkloadContext"]
