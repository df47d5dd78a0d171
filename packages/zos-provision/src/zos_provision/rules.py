"""The seam to the grid's data model (zos-gridtypes).

The engine never decodes, validates, hashes or verifies a deployment itself: it calls a
`DeploymentRules`. `zos_provision.gridrules.GridtypesRules` is the real one, built on
zos-gridtypes; every error it raises must carry upstream's exact text in ``str()``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from zos_provision.api import Capacity

#: Types whose workloads accept an ``update`` operation (gridtypes §4).
UPDATABLE_TYPES = frozenset({"zmount", "volume", "network", "network-light", "zdb", "qsfs"})


class RulesError(Exception):
    """Validation, signature or plan failure; ``str()`` is upstream's text."""


class DeploymentRules(Protocol):
    def validate(self, deployment: Mapping[str, Any]) -> None:
        """Decode like Go and run ``valid()``; raise `RulesError` with the first error."""

    def signers(self, deployment: Mapping[str, Any]) -> set[int]:
        """Twins whose public keys `verify` needs."""

    def verify(self, deployment: Mapping[str, Any], public_key: Callable[[int], bytes]) -> None:
        """Check the signatures (gridtypes §9); raise `RulesError`."""

    def challenge_hash(self, deployment: Mapping[str, Any]) -> str:
        """hex(md5(challenge)), as stored in the node contract."""

    def plan(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Upgrade plan as ``(op, workload name)`` with op in add/update/remove."""

    def capacity(self, workload: Mapping[str, Any]) -> Capacity:
        """Capacity a workload books (gridtypes §4)."""
