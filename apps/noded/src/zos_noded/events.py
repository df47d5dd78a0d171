"""Chain events to the node event bus (zbus.md §14): redis streams of msgpack maps.

The forwarder reads the chain's event feed for this node and farm and appends each event to
its stream; the feed position is kept in a file so a restart resumes where it stopped
(delivery stays at-least-once: handlers are idempotent). `consume` is the consumer side.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgpack  # type: ignore[import-untyped]
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from zos_chain.api import ChainBackend, ChainEvent
from zos_noded.api import (
    STREAM_CONTRACT_CANCELLED,
    STREAM_CONTRACT_LOCK,
    STREAM_POWER_TARGET,
    STREAM_PUBLIC_CONFIG,
)

log = logging.getLogger(__name__)

MAXLEN = 1024


def stream_event(
    event: ChainEvent, node_id: int, farm_id: int
) -> tuple[str, dict[str, Any]] | None:
    """The stream and body of a chain event, or None when it is not for this node/farm."""
    if event.kind == "NodePublicConfigStored" and event.node_id == node_id:
        config = event.public_config.model_dump(by_alias=True) if event.public_config else None
        return STREAM_PUBLIC_CONFIG, {"PublicConfig": config}
    if event.kind == "NodeContractCanceled" and event.node_id == node_id:
        return STREAM_CONTRACT_CANCELLED, {"Contract": event.contract_id,
                                           "TwinId": event.twin_id}
    if event.kind in ("ContractGracePeriodStarted", "ContractGracePeriodEnded") and (
            event.node_id == node_id):
        return STREAM_CONTRACT_LOCK, {
            "Contract": event.contract_id, "TwinId": event.twin_id,
            "Lock": event.kind == "ContractGracePeriodStarted"}
    if event.kind == "PowerTargetChanged" and (event.farm_id == farm_id or
                                               event.node_id == node_id):
        target = event.power_target.model_dump(by_alias=True) if event.power_target else None
        return STREAM_POWER_TARGET, {"FarmID": event.farm_id, "NodeID": event.node_id,
                                     "Target": target}
    return None


class EventForwarder:
    def __init__(
        self, chain: ChainBackend, redis: Redis, node_id: int, farm_id: int, state_file: Path,
        poll_interval: float = 1.0,
    ) -> None:
        self.chain = chain
        self.redis = redis
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
                await self.redis.xadd(stream, {"body": msgpack.packb(body)}, maxlen=MAXLEN,
                                      approximate=True)
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


Handler = Callable[[dict[str, Any]], Awaitable[None]]


async def consume(
    redis: Redis, stream: str, consumer: str, handler: Handler, block_ms: int = 3000
) -> None:
    """Run ``handler`` on each event of a module's consumer group, acknowledging each after
    the handler returns; runs until cancelled.

    Pending entries (delivered before a crash, never acknowledged) are handled first. An event
    whose handler raised stays pending and is retried at the next start.
    """
    group = f"group:{stream}:{consumer}"
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
    pending = True
    while True:
        reply: Any
        if pending:
            reply = await redis.xreadgroup(group, consumer, {stream: "0"}, count=128)
        else:
            reply = await redis.xreadgroup(group, consumer, {stream: ">"}, count=1,
                                           block=block_ms)
        entries = reply[0][1] if reply else []
        if pending and not entries:
            pending = False
            continue
        for entry_id, fields in entries:
            body = fields.get(b"body", fields.get("body"))
            try:
                event = msgpack.unpackb(body) if body is not None else None
            except (ValueError, msgpack.UnpackException):
                event = None
            if isinstance(event, dict):
                await handler(event)
            else:
                log.warning("skipping undecodable event %r on %s", entry_id, stream)
            await redis.xack(stream, group, entry_id)
        if pending:
            # everything pending was handled; the next read asks for new entries
            pending = False
