"""Serve :class:`Storage` on zbus (module ``storage``); no logic beyond wiring."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import zos_zbus as zbus
from zos_storage.api import MODULE, StorageModule
from zos_storage.config import StorageConfig
from zos_storage.storage import Storage

log = logging.getLogger(__name__)

CACHE_CHECK_INTERVAL = 300.0
"""Upstream re-sizes the cache every 5 minutes."""


async def _watch_cache(storage: Storage, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(storage.check_cache_size)
        except Exception:
            log.exception("cache size check failed")


async def run(
    config: StorageConfig, broker: str, *, cache_check_interval: float = CACHE_CHECK_INTERVAL
) -> None:
    """Start storage (pools, cache), then serve it until SIGTERM/SIGINT."""
    storage = Storage(config)
    await asyncio.to_thread(storage.start)
    for pool in storage.pools():
        log.info("pool %s (%s) on %s at %s", pool.label, pool.kind, pool.device, pool.mountpoint)
    for broken in storage.broken_devices():
        log.warning("broken device %s: %s", broken.Path, broken.Err)
    for broken_pool in storage.broken_pools():
        log.warning("broken pool %s: %s", broken_pool.Label, broken_pool.Err)
    server = zbus.Server(MODULE, broker, workers=1)
    server.register(storage, StorageModule)
    watcher = asyncio.create_task(_watch_cache(storage, cache_check_interval))
    try:
        await zbus.serve(server)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
