"""Usage reports: okay capacity per contract after each job, retried until accepted."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from zos_provision.api import Capacity
from zos_provision.capacity import GiB, Memory
from zos_provision.engine import Engine, EngineConfig
from zos_provision.store import Store
from zos_provision.testing import MemoryChain, RecordingManager, StandInRules
from zos_provision.usage import UsageReporter


async def test_reports_after_jobs_and_retries(tmp_path: Path) -> None:
    rules, chain = StandInRules(), MemoryChain()
    store = Store(tmp_path / "u.db")
    engine = Engine(
        store,
        rules,
        chain,
        {"volume": RecordingManager()},
        EngineConfig(node_id=1),
        memory=lambda: Memory(16 * GiB, 12 * GiB),
    )
    reports: list[list[tuple[int, Capacity]]] = []
    failures = [1]

    async def submit(report: list[tuple[int, Capacity]]) -> None:
        if failures:
            failures.pop()
            raise ConnectionError("chain down")
        reports.append(report)

    usage = UsageReporter(engine, submit, retry=0.05)
    engine.on_job_done = usage.on_job_done
    tasks = [asyncio.create_task(engine.run()), asyncio.create_task(usage.run())]
    try:
        dep = {
            "version": 0,
            "twin_id": 42,
            "contract_id": 3,
            "workloads": [{"version": 0, "name": "v", "type": "volume", "data": {"size": 2 * GiB}}],
        }
        rules.sign(dep, 42, chain.key_of(42))
        chain.create_contract(3, 42, 1, rules.challenge_hash(dep))
        await engine.create_or_update(42, dep, update=False)
        for _ in range(100):
            if reports:
                break
            await asyncio.sleep(0.02)
        assert reports == [[(3, Capacity(sru=2 * GiB))]]
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        store.close()
