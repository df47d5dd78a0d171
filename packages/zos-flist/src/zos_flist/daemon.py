"""Serve flistd's :class:`FlistManager` on zbus (module ``flist``); no logic beyond wiring."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import zos_zbus as zbus

from .api import MODULE, Flister
from .flistd import FlistManager
from .storage_volumes import StorageVolumes

log = logging.getLogger(__name__)

CACHE_CLEAN_INTERVAL = 24 * 3600.0
"""The block cache is swept at start and then daily (upstream issue #1194)."""


async def _clean_cache(manager: FlistManager, interval: float) -> None:
    while True:
        try:
            removed = await asyncio.to_thread(manager.clean_cache)
            log.info("cache cleaner removed %d block(s) unused for 90 days", removed)
        except Exception:
            log.exception("cache cleaner failed")
        await asyncio.sleep(interval)


async def run(root: Path, broker: str, *, mount_command: list[str] | None = None,
              cache_clean_interval: float = CACHE_CLEAN_INTERVAL) -> None:
    """Serve the flist module until SIGTERM/SIGINT."""
    bus = await asyncio.to_thread(zbus.SyncClient, broker)
    try:
        manager = FlistManager(root, StorageVolumes(bus), mount_command=mount_command)
        server = zbus.Server(MODULE, broker, workers=1)
        server.register(manager, Flister)
        cleaner = asyncio.create_task(_clean_cache(manager, cache_clean_interval))
        try:
            await zbus.serve(server)
        finally:
            cleaner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await cleaner
    finally:
        await asyncio.to_thread(bus.close)
