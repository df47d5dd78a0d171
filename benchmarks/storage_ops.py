"""zos-storage benchmark: volume create+delete rate and 10 GiB vdisk creation time.

Each figure is printed beside its baseline measured in the same run on the same pool:
bare ``btrfs subvolume create``/``delete`` for volumes, bare ``fallocate`` for vdisks. Measured
twice: calling the implementation in-process, and over zbus through a ``storaged`` daemon
(its own process, its own redis), as other modules call it.
Needs root, btrfs and loop devices; everything lives in a temp dir and is removed after.

    hatch run python benchmarks/storage_ops.py [--volumes 100]
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import zos_zbus as zbus
from zos_storage.api import DeviceType, StorageModule
from zos_storage.config import StorageConfig
from zos_storage.loopdisk import attach, detach, unmount_under
from zos_storage.storage import Storage
from zos_zbus.testing import RedisServer

MIB = 1024**2
GIB = 1024**3


def timed(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start


ROUNDS = 5
"""Each measurement alternates with its baseline this many times; medians are printed
(the machine is shared, single runs are noisy)."""


def bench(storage: Any, pool: Path, count: int) -> None:
    """``storage``: the implementation or a zbus stub (both have the same methods)."""

    def volumes() -> None:
        for i in range(count):
            storage.volume_create(f"bench{i}", 100 * MIB)
            storage.volume_delete(f"bench{i}")

    def bare_subvolumes() -> None:
        for i in range(count):
            path = str(pool / f"bare{i}")
            subprocess.run(["btrfs", "subvolume", "create", path], check=True, capture_output=True)
            subprocess.run(["btrfs", "subvolume", "delete", path], check=True, capture_output=True)

    base = statistics.median(timed(bare_subvolumes) for _ in range(ROUNDS))
    ours = statistics.median(timed(volumes) for _ in range(ROUNDS))
    print(
        f"volumes created+deleted per second: {count / ours:8.1f}   "
        f"(baseline bare btrfs subvolume create+delete: {count / base:8.1f}/s)"
    )

    bare_file = pool / "bare-fallocate"
    bases, ourses = [], []
    for _ in range(ROUNDS):
        bases.append(
            timed(lambda: subprocess.run(["fallocate", "-l", str(10 * GIB), str(bare_file)]))
        )
        bare_file.unlink()
        ourses.append(timed(lambda: storage.disk_create("bench-vdisk", 10 * GIB)))
        storage.disk_delete("bench-vdisk")
    base, ours = statistics.median(bases), statistics.median(ourses)
    print(
        f"10 GiB vdisk create: {ours * 1000:8.1f} ms   "
        f"(baseline bare fallocate -l 10G: {base * 1000:8.1f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--volumes", type=int, default=100)
    args = parser.parse_args()
    tag = "zb" + secrets.token_hex(3)
    with tempfile.TemporaryDirectory(prefix=f"{tag}-") as tmp:
        work = Path(tmp)
        disk = attach(work / f"{tag}.img", 16 * GIB)
        try:
            config = StorageConfig(
                root=work / "root",
                disks={disk.device: DeviceType.SSD},
                label_prefix=f"{tag}-",
                cache_size=256 * MIB,
            )
            storage = Storage(config)
            storage.start()
            print("in-process (zos_storage.storage.Storage):")
            bench(storage, storage.pools()[0].mountpoint, args.volumes)
        finally:
            unmount_under(work)
            detach(disk)
    with tempfile.TemporaryDirectory(prefix=f"{tag}-") as tmp:
        work = Path(tmp)
        disk = attach(work / f"{tag}-zbus.img", 16 * GIB)
        redis = RedisServer(work / "redis").start()
        root = work / "root"
        daemon = subprocess.Popen(
            [sys.executable, "-m", "zos_storaged", "--broker", redis.url, "--root", str(root),
             "--disk", f"{disk.device}=ssd", "--label-prefix", f"{tag}-",
             "--cache-size", str(256 * MIB)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            while not (root / "cache").is_mount():
                if daemon.poll() is not None:
                    raise SystemExit("storaged exited")
                time.sleep(0.1)
            with zbus.SyncClient(redis.url, timeout=60) as bus:
                stub = bus.stub(StorageModule)
                pool = Path(stub.cache().Path).parent
                print("over zbus (storaged daemon, 1 worker, redis on a unix socket):")
                bench(stub, pool, args.volumes)
        finally:
            os.kill(daemon.pid, signal.SIGTERM)
            daemon.wait(timeout=30)
            redis.stop()
            unmount_under(work)
            detach(disk)


if __name__ == "__main__":
    main()
