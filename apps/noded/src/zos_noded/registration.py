"""Registration: ensure the account and twin, then create or update the node record."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from zos_chain.api import (
    Interface,
    Location,
    Node,
    NotFoundError,
    OptionBoardSerial,
    Resources,
    SubstrateGateway,
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


def register(
    gateway: SubstrateGateway, public_key: bytes, info: NodeInfo,
    activation_urls: list[str] | None = None,
) -> Registration:
    """Upstream's registration steps (provision.md §12.2); safe to repeat."""
    gateway.ensure_account(activation_urls or [], TERMS_URL, TERMS_HASH)
    try:
        twin_id = gateway.get_twin_by_pub_key(public_key)
    except NotFoundError:
        twin_id = gateway.create_twin("", b"")
        log.info("created twin %d", twin_id)
    wanted = Node(
        farm_id=info.farm_id, twin_id=twin_id, resources=info.resources,
        location=info.location, interfaces=info.interfaces, secure_boot=info.secure_boot,
        virtualized=info.virtualized,
        board_serial=OptionBoardSerial(has_value=bool(info.board_serial),
                                       as_value=info.board_serial),
    )
    try:
        node_id = gateway.get_node_by_twin_id(twin_id)
    except NotFoundError:
        node_id = gateway.create_node(wanted)
        log.info("registered node %d (twin %d)", node_id, twin_id)
        return Registration(node_id, twin_id, created=True, updated=False)
    current = gateway.get_node(node_id)
    wanted.id = node_id
    if not current.virtualized:
        wanted.virtualized = False  # a node stored as non-virtualized stays so (upstream)
    if current.same_settable_fields(wanted):
        return Registration(node_id, twin_id, created=False, updated=False)
    gateway.update_node(wanted)
    log.info("updated node %d", node_id)
    return Registration(node_id, twin_id, created=False, updated=True)
