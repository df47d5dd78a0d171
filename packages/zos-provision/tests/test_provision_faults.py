"""Faults: kill -9 of a worker with jobs queued; every job completes exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from zos_provision.capacity import GiB
from zos_provision.engine import Engine, EngineConfig
from zos_provision.store import Store
from zos_provision.testing import FileStorage, MemoryChain, StandInRules

WORKER = Path(__file__).with_name("provision_kill_worker.py")
TWIN = 42


def start(tmp: Path, delay: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            str(WORKER),
            str(tmp / "p.db"),
            str(tmp / "storage"),
            str(tmp / "contracts.json"),
            str(delay),
        ],
    )


def calls(tmp: Path) -> int:
    log = tmp / "storage" / "calls.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


async def test_kill_9_with_queued_jobs(tmp_path: Path) -> None:
    store = Store(tmp_path / "p.db")
    rules, chain = StandInRules(), MemoryChain()
    admit = Engine(store, rules, chain, {}, EngineConfig(node_id=1))
    expected: dict[str, int] = {}
    for i in range(12):
        dep: dict[str, Any] = {
            "version": 0,
            "twin_id": TWIN,
            "contract_id": 1000 + i,
            "workloads": [
                {"version": 0, "name": "vol", "type": "volume", "data": {"size": GiB}},
                {"version": 0, "name": "disk", "type": "zmount", "data": {"size": 2 * GiB}},
            ],
        }
        rules.sign(dep, TWIN, chain.key_of(TWIN))
        chain.create_contract(dep["contract_id"], TWIN, 1, rules.challenge_hash(dep))
        await admit.create_or_update(TWIN, dep, update=False)
        for name in ("vol", "disk"):
            expected[f"{TWIN}-{dep['contract_id']}-{name}"] = 0
    (tmp_path / "contracts.json").write_text(
        json.dumps([c.to_json() for c in chain.contracts.values()])
    )
    assert store.queue_length() == 12
    # kill -9 three times, each time after a few more storage calls, mid-job
    for target in (3, 9, 15):
        proc = start(tmp_path, delay=0.05)
        deadline = time.monotonic() + 30
        while calls(tmp_path) < target:
            assert proc.poll() is None and time.monotonic() < deadline
            await asyncio.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert store.queue_length() > 0
    proc = start(tmp_path, delay=0.0)
    try:
        deadline = time.monotonic() + 60
        while store.queue_length():
            assert proc.poll() is None and time.monotonic() < deadline
            await asyncio.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    # exactly one init and one ok per workload, in every deployment
    for i in range(12):
        log = store.changes(TWIN, 1000 + i)
        assert Counter((w.name, w.result.state) for w in log) == {
            ("vol", "init"): 1,
            ("vol", "ok"): 1,
            ("disk", "init"): 1,
            ("disk", "ok"): 1,
        }
    # every storage object belongs to a workload and every workload has its object
    assert FileStorage(tmp_path / "storage").names() == set(expected)
    store.close()
