"""The KYC check of admission (spec §2): only verified twins deploy."""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable

from zos_provision.api import ProvisionError

log = logging.getLogger(__name__)

KYC_URLS = {
    "dev": "https://kyc.dev.grid.tf",
    "qa": "https://kyc.qa.grid.tf",
    "test": "https://kyc.test.grid.tf",
    "main": "https://kyc.threefold.me",
}


class HttpKyc:
    """``GET <url>/api/v1/status?twin_id=N`` → ``result.status == "VERIFIED"``.

    ``url`` may instead be a template with ``{twin}`` or ``{address}`` (the twin's SS58
    account, e.g. the development chain's ``<chain>/kyc/v1/status/{address}``); ``address``
    then maps a twin id to it. Each request has a 10 s timeout; failures are retried with
    exponential backoff, 5 times. Verified twins are remembered.
    """

    def __init__(
        self,
        url: str,
        attempts: int = 5,
        backoff: float = 0.5,
        address: Callable[[int], Awaitable[str]] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.attempts = attempts
        self.backoff = backoff
        self.address = address
        self._verified: set[int] = set()

    async def _url(self, twin_id: int) -> str:
        if "{address}" in self.url:
            if self.address is None:
                raise ProvisionError("failed to get twin verification status")
            return self.url.replace("{address}", await self.address(twin_id))
        if "{twin}" in self.url:
            return self.url.replace("{twin}", str(twin_id))
        return f"{self.url}/api/v1/status?twin_id={twin_id}"

    def _fetch(self, url: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(url, timeout=10) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, ""

    async def check(self, twin_id: int) -> None:
        if twin_id in self._verified:
            return
        delay = self.backoff
        status, body = 0, ""
        try:
            url = await self._url(twin_id)
        except ProvisionError:
            raise
        except Exception as err:
            log.warning("kyc: no address for twin %d: %s", twin_id, err)
            raise ProvisionError("failed to get twin verification status") from err
        for attempt in range(self.attempts):
            try:
                status, body = await asyncio.to_thread(self._fetch, url)
                break
            except OSError as err:
                log.warning("kyc check of twin %d failed (attempt %d): %s", twin_id, attempt, err)
                if attempt + 1 < self.attempts:
                    await asyncio.sleep(delay)
                    delay *= 2
        if status != 200:
            raise ProvisionError("failed to get twin verification status")
        try:
            verified = json.loads(body)["result"]["status"] == "VERIFIED"
        except (ValueError, KeyError, TypeError):
            raise ProvisionError("failed to get twin verification status") from None
        if not verified:
            raise ProvisionError(f"user with twin id {twin_id} is not verified")
        self._verified.add(twin_id)
