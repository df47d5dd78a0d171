"""Uptime reports: `update_node_uptime_v2(uptime, now)` at start and every 40 minutes."""

from __future__ import annotations

import asyncio
import logging
import time

from zos_chain.api import SubstrateGateway
from zos_noded.host import uptime_seconds

log = logging.getLogger(__name__)

REPORT_INTERVAL = 40 * 60


async def report_uptime(gateway: SubstrateGateway) -> bytes:
    return await gateway.update_node_uptime_v2(uptime_seconds(), int(time.time()))


async def uptime_loop(gateway: SubstrateGateway, interval: float = REPORT_INTERVAL) -> None:
    while True:
        try:
            await report_uptime(gateway)
        except Exception as exc:  # the next report will try again
            log.warning("uptime report failed: %s", exc)
        await asyncio.sleep(interval)
