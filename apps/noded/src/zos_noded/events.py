"""Chain events to the node event bus (zbus.md §14, `zos_zbus.events`).

The forwarder reads the chain's event feed for this node and farm and publishes each event on
its stream; the feed position is kept in a file so a restart resumes where it stopped
(delivery stays at-least-once: handlers are idempotent). Consumers use
`zos_zbus.events.EventConsumer`.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from zos_chain.api import (
    POWER_TARGET,
    PUBLIC_CONFIG,
    ChainBackend,
    ChainEvent,
    OptionPublicConfig,
    Power,
    PowerTargetChangeEvent,
    PublicConfigEvent,
)
from zos_zbus.events import (
    CONTRACT_CANCELLED,
    CONTRACT_LOCK,
    ContractCancelledEvent,
    ContractLockEvent,
    EventProducer,
    EventStream,
)

log = logging.getLogger(__name__)


def stream_event(
    event: ChainEvent, node_id: int, farm_id: int
) -> tuple[EventStream[Any], Any] | None:
    """The stream and body of a chain event, or None when it is not for this node/farm."""
    if event.kind == "NodePublicConfigStored" and event.node_id == node_id:
        return PUBLIC_CONFIG, PublicConfigEvent(
            public_config=event.public_config or OptionPublicConfig())
    if event.kind == "NodeContractCanceled" and event.node_id == node_id:
        return CONTRACT_CANCELLED, ContractCancelledEvent(contract=event.contract_id,
                                                          twin_id=event.twin_id)
    if event.kind in ("ContractGracePeriodStarted", "ContractGracePeriodEnded") and (
            event.node_id == node_id):
        return CONTRACT_LOCK, ContractLockEvent(
            contract=event.contract_id, twin_id=event.twin_id,
            lock=event.kind == "ContractGracePeriodStarted")
    if event.kind == "PowerTargetChanged" and (event.farm_id == farm_id or
                                               event.node_id == node_id):
        return POWER_TARGET, PowerTargetChangeEvent(
            farm_id=event.farm_id, node_id=event.node_id,
            target=event.power_target or Power())
    return None


class EventForwarder:
    def __init__(
        self, chain: ChainBackend, producer: EventProducer, node_id: int, farm_id: int,
        state_file: Path, poll_interval: float = 1.0,
    ) -> None:
        self.chain = chain
        self.producer = producer
        self.node_id = node_id
        self.farm_id = farm_id
        self.state_file = state_file
        self.poll_interval = poll_interval
        try:
            self.position = int(state_file.read_text().strip() or 0)
        except (OSError, ValueError):
            self.position = 0

    async def forward_once(self) -> int:
        """Forward what is new on the feed; returns the number of events appended."""
        events = await asyncio.to_thread(
            self.chain.events, self.position, 100, self.node_id, self.farm_id)
        sent = 0
        for event in events:
            routed = stream_event(event, self.node_id, self.farm_id)
            if routed is not None:
                stream, body = routed
                await self.producer.publish(stream, body)
                sent += 1
            self.position = event.seq
        if events:
            temporary = self.state_file.with_suffix(".tmp")
            temporary.write_text(str(self.position))
            temporary.replace(self.state_file)
        return sent

    async def run(self) -> None:
        while True:
            try:
                await self.forward_once()
            except Exception as exc:  # keep forwarding after chain or redis hiccups
                log.warning("forwarding chain events failed: %s", exc)
            await asyncio.sleep(self.poll_interval)
