"""A provisiond worker for the kill -9 test: the engine on FileStorage, no API.

usage: provision_kill_worker.py DB STORAGE_DIR CONTRACTS_JSON DELAY
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from zos_provision.capacity import GiB, Memory
from zos_provision.chain import Contract
from zos_provision.engine import Engine, EngineConfig
from zos_provision.managers.storage import VolumeManager, ZMountManager
from zos_provision.store import Store
from zos_provision.testing import FileStorage, MemoryChain, StandInRules


async def main(contracts: list[dict[str, object]]) -> None:
    db, storage_dir, _, delay = sys.argv[1:5]
    chain = MemoryChain()
    for item in contracts:
        contract = Contract.from_json(item)
        chain.contracts[contract.contract_id] = contract
    storage = FileStorage(storage_dir, delay=float(delay))
    engine = Engine(
        Store(Path(db)),
        StandInRules(),
        chain,
        {"volume": VolumeManager(storage), "zmount": ZMountManager(storage)},
        EngineConfig(node_id=1),
        memory=lambda: Memory(16 * GiB, 12 * GiB),
    )
    await engine.run()


if __name__ == "__main__":
    asyncio.run(main(json.loads(Path(sys.argv[3]).read_text())))
