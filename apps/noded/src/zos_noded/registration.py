"""Registration: ensure the account and twin, then create or update the node record."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from zos_chain.api import (
    ErrorCode,
    Interface,
    Location,
    Node,
    OptionBoardSerial,
    Resources,
    SubstrateGateway,
    unwrap,
)

log = logging.getLogger(__name__)

TERMS_URL = "http://zos.tf/terms/v0.1"
TERMS_HASH = "9021d4dee05a661e2cb6838152c67f25"


@dataclass
class NodeInfo:
    """What the node says about itself on chain."""

    farm_id: int
    resources: Resources
    location: Location = field(default_factory=Location)
    interfaces: list[Interface] = field(default_factory=list)
    secure_boot: bool = False
    virtualized: bool = False
    board_serial: str = ""


@dataclass(frozen=True)
class Registration:
    node_id: int
    twin_id: int
    created: bool
    updated: bool


async def register(
    gateway: SubstrateGateway, public_key: bytes, info: NodeInfo,
    activation_urls: list[str] | None = None,
) -> Registration:
    """Upstream's registration steps (provision.md §12.2); safe to repeat.

    ``gateway`` is the api-gateway zbus stub (or any `SubstrateGateway` implementation).
    """
    await gateway.ensure_account(activation_urls or [], TERMS_URL, TERMS_HASH)
    twin_id, status = await gateway.get_twin_by_pub_key(public_key)
    if status.code == ErrorCode.NOT_FOUND:
        twin_id = await gateway.create_twin("", b"")
        log.info("created twin %d", twin_id)
    else:
        status.raise_for()
    wanted = Node(
        farm_id=info.farm_id, twin_id=twin_id, resources=info.resources,
        location=info.location, interfaces=info.interfaces, secure_boot=info.secure_boot,
        virtualized=info.virtualized,
        board_serial=OptionBoardSerial(has_value=bool(info.board_serial),
                                       as_value=info.board_serial),
    )
    node_id, status = await gateway.get_node_by_twin_id(twin_id)
    if status.code == ErrorCode.NOT_FOUND:
        node_id = await gateway.create_node(wanted)
        log.info("registered node %d (twin %d)", node_id, twin_id)
        return Registration(node_id, twin_id, created=True, updated=False)
    node_id = unwrap((node_id, status))
    current = await gateway.get_node(node_id)
    wanted.id = node_id
    if not current.virtualized:
        wanted.virtualized = False  # a node stored as non-virtualized stays so (upstream)
    if current.same_settable_fields(wanted):
        return Registration(node_id, twin_id, created=False, updated=False)
    await gateway.update_node(wanted)
    log.info("updated node %d", node_id)
    return Registration(node_id, twin_id, created=False, updated=True)
