"""Usage reports to the chain (spec §12.4): each contract's okay capacity after its jobs.

After every job except a deprovision, and for every active deployment at start, the
contract's used capacity (okay workloads) is queued; a background task submits the queue
and retries every ``retry`` seconds until the chain accepts it. Reports are idempotent (the
latest capacity of a contract replaces the previous one), so coalescing is safe.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from zos_provision.api import Capacity, Op
from zos_provision.engine import Engine
from zos_provision.store import Job, okay_capacity

log = logging.getLogger(__name__)

Submit = Callable[[list[tuple[int, Capacity]]], Awaitable[None]]


class UsageReporter:
    def __init__(self, engine: Engine, submit: Submit, retry: float = 6.0) -> None:
        self.engine = engine
        self.submit = submit
        self.retry = retry
        self._pending: dict[int, int] = {}  # contract -> twin
        self._wake = asyncio.Event()
        self.reported = 0

    def queue(self, twin: int, contract: int) -> None:
        self._pending[contract] = twin
        self._wake.set()

    async def on_job_done(self, job: Job) -> None:
        if job.op is not Op.DEPROVISION:
            self.queue(job.target.twin_id, job.target.contract_id)

    def queue_all(self) -> None:
        for dep in self.engine.store.deployments():
            self.queue(dep.twin_id, dep.contract_id)

    def _report(self) -> list[tuple[int, Capacity]]:
        out = []
        for contract, twin in sorted(self._pending.items()):
            if not self.engine.store.exists(twin, contract):
                continue
            dep = self.engine.store.get(twin, contract)
            used, _, _ = okay_capacity([dep], self.engine.capacity_of)
            out.append((contract, used))
        return out

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch = dict(self._pending)
            report = self._report()
            self._pending.clear()
            if not report:
                continue
            try:
                await self.submit(report)
                self.reported += len(report)
            except Exception as err:
                log.warning("usage report failed, retrying in %.0fs: %s", self.retry, err)
                for contract, twin in batch.items():
                    self._pending.setdefault(contract, twin)
                await asyncio.sleep(self.retry)
                self._wake.set()
