"""The KYC check of admission (spec §2): only verified twins deploy."""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.error
import urllib.request

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

    Each request has a 10 s timeout; failures are retried with exponential backoff, 5 times.
    Verified twins are remembered (verification is not revoked in practice).
    """

    def __init__(self, url: str, attempts: int = 5, backoff: float = 0.5) -> None:
        self.url = url.rstrip("/")
        self.attempts = attempts
        self.backoff = backoff
        self._verified: set[int] = set()

    def _fetch(self, twin_id: int) -> tuple[int, str]:
        url = f"{self.url}/api/v1/status?twin_id={twin_id}"
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
        for attempt in range(self.attempts):
            try:
                status, body = await asyncio.to_thread(self._fetch, twin_id)
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
