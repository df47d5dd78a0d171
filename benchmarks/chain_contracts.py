"""Chain service: node-contract creations per second under 8 concurrent clients.

Beside it, in the same run: a bare sqlite insert rate (one row per transaction, the same
pragmas as the chain: WAL, synchronous=NORMAL) and the in-process DevChain rate (no HTTP).

    hatch run python benchmarks/chain_contracts.py [--contracts 2000] [--clients 8]
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from zos_chain import ChainClient, ChainGateway, DevChain
from zos_chain.api import Node


def h(n: int) -> str:
    return hashlib.md5(str(n).encode()).hexdigest()


def bare_sqlite(path: Path, count: int) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE c (id INTEGER PRIMARY KEY AUTOINCREMENT, hash TEXT, data TEXT)")
    start = time.perf_counter()
    for n in range(count):
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO c (hash, data) VALUES (?, ?)", (h(n), "{}"))
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return count / elapsed


def setup(chain: DevChain | ChainClient, clients: int) -> int:
    farmer = bytes([0xAA]) * 32
    chain.create_twin(farmer)
    farm = chain.create_farm(farmer, "bench")
    gateway = ChainGateway(chain, bytes([0xCC]) * 32)
    node = gateway.create_node(Node(farm_id=farm, twin_id=gateway.create_twin("", b"")))
    for index in range(clients):
        chain.create_twin(bytes([0x10 + index]) * 32)
    return node


def in_process(path: Path, count: int) -> float:
    chain = DevChain(path)
    node = setup(chain, 1)
    account = bytes([0x10]) * 32
    start = time.perf_counter()
    for n in range(count):
        chain.create_node_contract(account, node, h(n))
    elapsed = time.perf_counter() - start
    chain.close()
    return count / elapsed


def _client(url: str, index: int, clients: int, count: int, node: int,
            latencies: list[float]) -> None:
    client = ChainClient(url)
    account = bytes([0x10 + index]) * 32
    for n in range(index, count, clients):
        t0 = time.perf_counter()
        client.create_node_contract(account, node, h(n))
        latencies.append(time.perf_counter() - t0)
    client.close()


def over_http(path: Path, count: int, clients: int) -> tuple[float, float, float]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "zos_chain.cli", "serve", "--db", str(path), "--listen",
         "127.0.0.1:0"], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[-1]
        node = setup(ChainClient(url), clients)
        with multiprocessing.Manager() as manager:
            latencies = manager.list()
            workers = [multiprocessing.Process(
                target=_client, args=(url, i, clients, count, node, latencies))
                for i in range(clients)]
            start = time.perf_counter()
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            elapsed = time.perf_counter() - start
            values = sorted(latencies)
        assert len(values) == count
        stored = ChainClient(url).list_contracts(node_id=node)
        assert len(stored) == count and len({c.contract_id for c in stored}) == count
        return count / elapsed, values[len(values) // 2] * 1000, values[
            int(len(values) * 0.99)] * 1000
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contracts", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bare = bare_sqlite(folder / "bare.sqlite", args.contracts)
        local = in_process(folder / "local.sqlite", args.contracts)
        rate, p50, p99 = over_http(folder / "served.sqlite", args.contracts, args.clients)
    print(f"contracts: {args.contracts}, clients: {args.clients}")
    print(f"baseline: bare sqlite insert (1 row/transaction): {bare:,.0f} rows/s")
    print(f"DevChain in-process create_node_contract:         {local:,.0f} contracts/s")
    print(f"chain service over HTTP, {args.clients} client processes:     "
          f"{rate:,.0f} contracts/s (p50 {p50:.2f} ms, p99 {p99:.2f} ms)")


if __name__ == "__main__":
    main()
