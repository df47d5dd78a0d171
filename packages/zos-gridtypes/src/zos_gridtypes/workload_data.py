"""The base of the 13 workload data types, and the type registry."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from ._gocodec import GoModel
from .units import Capacity

if TYPE_CHECKING:
    from .deployment import Deployment

NetworkLightVariant = Literal["wg", "legacy"]
"""The network-light challenge: ``wg`` (zosbase since Sep 2025, default) or ``legacy``."""

ZERO = Capacity()


class WorkloadData(GoModel):
    """The ``data`` of one workload type: its challenge, checks and capacity."""

    type_name: ClassVar[str] = ""
    """The workload ``type`` this data belongs to, e.g. ``zmount``."""
    updatable: ClassVar[bool] = False
    """Whether the node accepts an ``update`` operation for this type."""
    result_type: ClassVar[type[GoModel] | None] = None
    """The model of the result ``data`` the node returns for this type, if any."""

    def write_challenge(self, out: list[str], variant: NetworkLightVariant = "wg") -> None:
        """Append this data's challenge pieces (see the spec, section 6.3)."""
        raise NotImplementedError

    def check(self, deployment: Deployment | None) -> None:
        """Raise ``ValidationError`` with the Go node's text if the data is invalid.

        ``deployment`` is where references (public ip, zlogs' zmachine) are looked up.
        """

    def capacity(self) -> Capacity:
        """The capacity this workload reserves."""
        return ZERO

    def challenge(self, variant: NetworkLightVariant = "wg") -> bytes:
        out: list[str] = []
        self.write_challenge(out, variant)
        return "".join(out).encode()


WORKLOAD_TYPES: dict[str, type[WorkloadData]] = {}
"""Workload type name → data class, for the 13 types a node accepts."""


def register(cls: type[WorkloadData]) -> type[WorkloadData]:
    WORKLOAD_TYPES[cls.type_name] = cls
    return cls


def b(value: bool) -> str:
    return "true" if value else "false"
