"""Chain events from the node event bus (zbus.md §14): cancel → deprovision, lock → pause.

noded appends msgpack maps to redis streams; provisiond reads them through its consumer
group, pending entries first, and acknowledges each after the engine queued its job
(the engine's queue is persistent, so an acknowledged event is never lost).
"""

from __future__ import annotations

import logging
from typing import Any

import msgpack  # type: ignore[import-untyped]
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from zos_provision.api import REASON_CANCELED
from zos_provision.engine import Engine

log = logging.getLogger(__name__)

STREAM_CONTRACT_CANCELLED = "stream:contract-cancelled"
STREAM_CONTRACT_LOCK = "stream:contract-lock"
CONSUMER = "provisiond"


async def handle(engine: Engine, stream: str, body: dict[str, Any]) -> None:
    contract = int(body.get("Contract") or 0)
    if stream == STREAM_CONTRACT_CANCELLED:
        engine.contract_cancelled(contract, REASON_CANCELED)
    elif stream == STREAM_CONTRACT_LOCK:
        lock = bool(body.get("Lock"))
        if not engine.contract_locked(contract, lock):
            await engine.rent_locked(contract, lock)


async def consume(redis: Redis, engine: Engine, block_ms: int = 3000) -> None:
    streams = (STREAM_CONTRACT_CANCELLED, STREAM_CONTRACT_LOCK)
    groups = {s: f"group:{s}:{CONSUMER}" for s in streams}
    for stream, group in groups.items():
        try:
            await redis.xgroup_create(stream, group, id="0", mkstream=True)
        except ResponseError as err:
            if "BUSYGROUP" not in str(err):
                raise
    # pending entries (delivered before a crash, never acknowledged) first, then new ones
    for stream, group in groups.items():
        await _read(redis, engine, stream, group, "0", 128, None)
    while True:
        for stream, group in groups.items():
            await _read(redis, engine, stream, group, ">", 16, block_ms // len(groups))


async def _read(
    redis: Redis,
    engine: Engine,
    stream: str,
    group: str,
    start: str,
    count: int,
    block: int | None,
) -> None:
    reply: Any = await redis.xreadgroup(group, CONSUMER, {stream: start}, count=count, block=block)
    for _name, entries in reply or []:
        for entry_id, fields in entries:
            raw = fields.get(b"body") or fields.get("body")
            try:
                body = msgpack.unpackb(raw, raw=False) if raw else {}
                if isinstance(body, dict):
                    await handle(engine, stream, body)
            except Exception:
                log.exception("bad event %s on %s", entry_id, stream)
            await redis.xack(stream, group, entry_id)
