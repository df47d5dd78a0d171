"""`DeploymentRules` on zos-gridtypes: the node's real validation, hash, signatures, plans."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from zos_gridtypes import (
    Deployment as GridDeployment,
)
from zos_gridtypes import (
    SignatureError,
    ValidationError,
)
from zos_gridtypes import (
    Workload as GridWorkload,
)
from zos_provision.api import Capacity
from zos_provision.rules import RulesError


def decode(deployment: Mapping[str, Any]) -> GridDeployment:
    try:
        return GridDeployment.model_validate(dict(deployment))
    except ValidationError as err:
        raise RulesError(str(err)) from None


class GridtypesRules:
    def __init__(self, require_all_listed_signers: bool = True) -> None:
        self.require_all_listed_signers = require_all_listed_signers

    def validate(self, deployment: Mapping[str, Any]) -> None:
        grid = decode(deployment)
        try:
            grid.valid()
        except ValidationError as err:
            raise RulesError(str(err)) from None

    def signers(self, deployment: Mapping[str, Any]) -> set[int]:
        grid = decode(deployment)
        twins = {r.twin_id for r in grid.signature_requirement.requests}
        twins.add(grid.twin_id)
        return twins

    def verify(self, deployment: Mapping[str, Any], public_key: Callable[[int], bytes]) -> None:
        grid = decode(deployment)
        try:
            grid.verify(public_key, require_all_listed_signers=self.require_all_listed_signers)
        except (SignatureError, ValidationError) as err:
            raise RulesError(str(err)) from None

    def challenge_hash(self, deployment: Mapping[str, Any]) -> str:
        return str(decode(deployment).challenge_hash_hex())

    def plan(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, str]]:
        try:
            ops = decode(old).upgrade(decode(new))
        except ValidationError as err:
            raise RulesError(str(err)) from None
        return [(op.kind, op.name) for op in ops]

    def capacity(self, workload: Mapping[str, Any]) -> Capacity:
        try:
            cap = GridWorkload.model_validate(dict(workload)).capacity()
        except ValidationError as err:
            raise RulesError(str(err)) from None
        return Capacity(cru=cap.cru, sru=cap.sru, hru=cap.hru, mru=cap.mru, ipv4u=cap.ipv4u)
