"""Update plans: which workloads an update adds, updates and removes (spec section 10)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .errors import ValidationError

if TYPE_CHECKING:
    from .deployment import Deployment, Workload

UpgradeKind = Literal["add", "update", "remove"]


@dataclass(frozen=True)
class UpgradeOp:
    """One step of an update: ``kind`` applied to the workload called ``name``.

    ``workload`` is the new workload (add, update) or the old one (remove).
    """

    kind: UpgradeKind
    name: str
    workload: Workload
    workload_id: str


def plan_upgrade(old: Deployment, new: Deployment) -> list[UpgradeOp]:
    """The operations from ``old`` to ``new``: adds and updates in ``new``'s order, then removes.

    Raises ``ValidationError`` with the Go node's text. Results of kept workloads are carried
    over into ``new``.
    """
    try:
        new.valid()
    except ValidationError as e:
        raise ValidationError(f"new deployment is invalid: {e}") from None
    if new.twin_id != old.twin_id or new.contract_id != old.contract_id:
        raise ValidationError("cannot change deployment or twin id")
    if new.version != old.version + 1:
        raise ValidationError(
            f"expecting deployment version {old.version + 1}, got {new.version}"
        )
    ops: list[UpgradeOp] = []
    for workload in new.workloads:
        previous = old.get(workload.name)
        wid = new.workload_id(workload.name)
        if previous is None:
            if workload.version != new.version:
                raise ValidationError(
                    f"invalid version number for workload '{workload.name}' "
                    f"expected '{new.version}'"
                )
            ops.append(UpgradeOp("add", workload.name, workload, wid))
            continue
        if previous.type != workload.type:
            raise ValidationError(f"cannot change workload type '{workload.name}'")
        workload.result = previous.result
        if workload.version == new.version:
            ops.append(UpgradeOp("update", workload.name, workload, wid))
    names = {w.name for w in new.workloads}
    for workload in old.workloads:
        if workload.name not in names:
            ops.append(UpgradeOp("remove", workload.name, workload, old.workload_id(workload.name)))
    return ops


def node_upgrade_plan(old: Deployment, new: Deployment) -> list[UpgradeOp]:
    """The plan as the node's provision engine checks it, with its error texts.

    Plan errors get the suffix ``: upgrade validation error``; an update of a type that
    cannot be updated is refused.
    """
    try:
        ops = plan_upgrade(old, new)
    except ValidationError as e:
        raise ValidationError(f"{e}: upgrade validation error") from None
    for op in ops:
        if op.kind == "update" and not op.workload.data_type().updatable:
            raise ValidationError(
                f"workload '{op.workload.type}' does not support upgrade: upgrade validation error"
            )
    return ops
