"""zos-provision benchmark: deploy-to-ok latency and the time to drain 100 queued deployments.

A real node in a temp dir: redis, storaged on two btrfs loop disks, the development chain
(HTTP), provisiond. Each figure is printed beside the bare time of the storaged calls the
deployments make (``VolumeExists`` + ``VolumeCreate`` over zbus), measured in the same run
on the same pools. Needs root, btrfs and loop devices; everything is removed after.

    hatch run python benchmarks/provision_deploy.py [--latency 50] [--queued 100]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from redis.asyncio import Redis

import zos_zbus as zbus
from zos_chain.api import Node
from zos_chain.client import ChainClient
from zos_chain.devchain import DevChain
from zos_chain.service import ChainServer
from zos_provision.client import DeploySpec, Identity, NodeClient
from zos_storage.api import StorageModule
from zos_storage.loopdisk import attach, detach, unmount_under
from zos_zbus.testing import RedisServer

MiB, GiB = 1024**2, 1024**3


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def wait_ready(broker: str, root: Path, proc: subprocess.Popen[bytes], module: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{module} exited, see {root}")
        try:
            with zbus.SyncClient(broker, timeout=2) as bus:
                bus.status(module, timeout=1)
            return
        except zbus.ZbusError:
            time.sleep(0.1)
    raise SystemExit(f"{module} not ready")


def spec(i: int) -> DeploySpec:
    # the description makes each deployment's hash (and so its contract) unique
    return DeploySpec.parse(
        {
            "description": f"bench {i}",
            "workloads": [{"name": "v", "type": "volume", "size": "64MiB"}],
        }
    )


async def bare_storaged(broker: str, count: int) -> list[float]:
    """The storaged calls of one volume workload, without provisiond: exists + create."""
    times = []
    async with zbus.Client(broker, timeout=30) as bus:
        storage = bus.stub(StorageModule)
        names = [f"bare-{secrets.token_hex(4)}" for _ in range(count)]
        for name in names:
            start = time.perf_counter()
            await storage.volume_exists(name)
            await storage.volume_create(name, 64 * MiB)
            times.append(time.perf_counter() - start)
        for name in names:
            await storage.volume_delete(name)
    return times


async def measure(broker: str, chain_url: str, node_id: int, latency_n: int, queued_n: int) -> None:
    client = NodeClient(
        redis=Redis(unix_socket_path=broker.removeprefix("unix://")),
        chain=ChainClient(chain_url),
        identity=Identity(secrets.token_bytes(32)),
        node_id=node_id,
        poll_interval=0.005,
    )
    try:
        await client.deploy(spec(-1))  # warm-up: twin creation, imports, first pool choice
        bare = await bare_storaged(broker, latency_n)
        latencies = []
        for i in range(latency_n):
            outcome = await client.deploy(spec(i))
            assert outcome.ok, outcome.results
            latencies.append(outcome.elapsed)
        # 100 deployments sent back to back, then wait for the last one
        bare_queue = sum(await bare_storaged(broker, queued_n))
        client.poll_interval = 0.1  # 100 pollers at 5 ms would measure the API, not the queue
        start = time.perf_counter()
        tasks = [
            asyncio.create_task(client.deploy(spec(10_000 + i), max_wait=600))
            for i in range(queued_n)
        ]
        outcomes = await asyncio.gather(*tasks)
        drained = time.perf_counter() - start
        assert all(o.ok for o in outcomes)
    finally:
        await client.close()
    ms = 1000.0
    print(f"one-volume deployment, deploy-to-ok as the client sees it ({latency_n} runs):")
    print(f"  p50 {pct(latencies, 0.5) * ms:7.1f} ms   p99 {pct(latencies, 0.99) * ms:7.1f} ms")
    print("  baseline, bare storaged VolumeExists+VolumeCreate over zbus:")
    print(f"  p50 {pct(bare, 0.5) * ms:7.1f} ms   p99 {pct(bare, 0.99) * ms:7.1f} ms")
    print(f"{queued_n} deployments sent at once, until all ok:")
    print(f"  {drained:7.2f} s ({queued_n / drained:.1f} deployments/s)")
    print(f"  baseline, the same {queued_n} storaged call pairs back to back: {bare_queue:7.2f} s")
    per, bare_per = drained / queued_n * ms, bare_queue / queued_n * ms
    print(f"  per deployment: {per:.1f} ms vs bare {bare_per:.1f} ms")
    print(f"  (median bare pair {statistics.median(bare) * ms:.1f} ms)")


async def engine_drain(broker: str, folder: Path, count: int) -> float:
    """The engine alone: ``count`` deployments admitted into a fresh store, then the time the
    worker takes to run them all against the same storaged (chain in memory, no RMB)."""
    from zos_gridtypes import Deployment, KeyPair, Volume, Workload
    from zos_provision.engine import Engine, EngineConfig
    from zos_provision.gridrules import GridtypesRules
    from zos_provision.managers.storage import VolumeManager, ZMountManager
    from zos_provision.store import Store
    from zos_provision.testing import MemoryChain

    seed = secrets.token_bytes(32)
    key = KeyPair.from_seed(seed)
    chain = MemoryChain(keys={7: key.public_key})
    async with zbus.Client(broker, timeout=30) as bus:
        storage = bus.stub(StorageModule)
        store = Store(folder / "drain.db")
        engine = Engine(
            store,
            GridtypesRules(),
            chain,
            {"volume": VolumeManager(storage), "zmount": ZMountManager(storage)},
            EngineConfig(node_id=1),
        )
        base = 900_000 + secrets.randbelow(1_000_000)
        for i in range(count):
            dep = Deployment.new(
                7,
                [Workload.new("v", Volume(size=64 * MiB))],
                contract_id=base + i,
                description=f"drain {i}",
            )
            dep.sign(7, seed)
            chain.create_contract(base + i, 7, 1, dep.challenge_hash_hex())
            await engine.create_or_update(7, json.loads(dep.model_dump_json()), update=False)
        start = time.perf_counter()
        worker = asyncio.create_task(engine.run())
        await engine.wait_idle()
        elapsed = time.perf_counter() - start
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        for dep in store.deployments():
            for wl in dep.workloads:
                await storage.volume_delete(f"{dep.twin_id}-{dep.contract_id}-{wl.name}")
        store.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=int, default=50, help="deployments for p50/p99")
    parser.add_argument("--queued", type=int, default=100, help="deployments sent at once")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (loop devices, btrfs)")
    tmp = Path(tempfile.mkdtemp(prefix="zpbench-"))
    tag = "zb" + secrets.token_hex(3)
    disks, procs = [], []
    redis = RedisServer(tmp / "redis").start()
    chain = DevChain(tmp / "chain.db")
    server = ChainServer(chain).start()
    try:
        node_key = b"\x11" * 32
        chain.create_twin(b"\x22" * 32)
        farm = chain.create_farm(b"\x22" * 32, name="bench")
        node_id = chain.create_node(
            node_key, Node(farm_id=farm, twin_id=chain.create_twin(node_key))
        )
        for name in ("ssd0", "ssd1"):
            disks.append(attach(tmp / "disks" / f"{tag}-{name}.img", 20 * GiB))
        argv = [
            sys.executable,
            "-m",
            "zos_storaged",
            "--broker",
            redis.url,
            "--root",
            str(tmp / "storaged"),
            "--label-prefix",
            f"{tag}-",
            "--cache-size",
            str(64 * MiB),
        ]
        for disk in disks:
            argv += ["--disk", f"{disk.device}=ssd"]
        log = (tmp / "daemons.log").open("ab")
        procs.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT))
        wait_ready(redis.url, tmp, procs[-1], "storage")
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "zos_provisiond",
                    "--broker",
                    redis.url,
                    "--root",
                    str(tmp / "provisiond"),
                    "--chain-url",
                    server.url,
                    "--node-id",
                    str(node_id),
                    "--boot-marker",
                    str(tmp / "booted"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        wait_ready(redis.url, tmp, procs[-1], "provision")
        asyncio.run(measure(redis.url, server.url, node_id, args.latency, args.queued))
        drain = asyncio.run(engine_drain(redis.url, tmp, args.queued))
        bare = sum(asyncio.run(bare_storaged(redis.url, args.queued)))
        print(
            f"engine alone: {args.queued} queued jobs drained in {drain:.2f} s "
            f"({drain / args.queued * 1000:.1f} ms/job) vs bare storaged {bare:.2f} s "
            f"({bare / args.queued * 1000:.1f} ms/pair)"
        )
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait()
        server.stop()
        redis.stop()
        unmount_under(tmp)
        for disk in reversed(disks):
            detach(disk)
            disk.file.unlink(missing_ok=True)
        subprocess.run(["rm", "-rf", str(tmp)], check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
