"""Capacity units and the ``Capacity`` record (``gridtypes.Capacity``)."""

from __future__ import annotations

from ._gocodec import GoModel
from ._gotypes import U64

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
TiB = 1024 * GiB

_U64 = (1 << 64) - 1


class Capacity(GoModel):
    """Resources a workload or deployment uses: ``cru``/``ipv4u`` counts; the rest bytes."""

    go_type = "gridtypes.Capacity"

    cru: U64 = 0
    sru: U64 = 0
    hru: U64 = 0
    mru: U64 = 0
    ipv4u: U64 = 0

    def add(self, other: Capacity) -> Capacity:
        """The fieldwise sum (u64 arithmetic wraps as in Go)."""
        return Capacity.model_construct(
            cru=(self.cru + other.cru) & _U64,
            sru=(self.sru + other.sru) & _U64,
            hru=(self.hru + other.hru) & _U64,
            mru=(self.mru + other.mru) & _U64,
            ipv4u=(self.ipv4u + other.ipv4u) & _U64,
        )

    def __add__(self, other: Capacity) -> Capacity:
        return self.add(other)

    def is_zero(self) -> bool:
        return not (self.cru or self.sru or self.hru or self.mru or self.ipv4u)
