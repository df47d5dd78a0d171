"""A storaged daemon in its own process, on its own loop disks and its own redis."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from zos_storage.loopdisk import LoopDisk, attach, detach, unmount_under
from zos_zbus.testing import RedisServer

MIB = 1024**2
GIB = 1024**3


@dataclass
class Daemon:
    """A running ``storaged`` child process, restartable with the same arguments."""

    argv: list[str]
    root: Path
    broker: str
    disks: dict[str, LoopDisk] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        log = (self.root.parent / "storaged.log").open("ab")
        self.process = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT)
        cache = self.root / "cache"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"storaged exited {self.process.returncode}: {self.log()}")
            if os.path.ismount(cache) and self._answers():
                return
            time.sleep(0.1)
        raise RuntimeError(f"storaged not ready in {timeout}s: {self.log()}")

    def _answers(self) -> bool:
        import zos_zbus as zbus

        try:
            with zbus.SyncClient(self.broker, timeout=2) as bus:
                bus.status("storage", timeout=1)
        except zbus.ZbusError:
            return False
        return True

    def stop(self, timeout: float = 10.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()

    def log(self) -> str:
        path = self.root.parent / "storaged.log"
        return path.read_text()[-3000:] if path.exists() else ""


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    tag = "zt" + secrets.token_hex(3)
    created: list[LoopDisk] = []
    redis = RedisServer(tmp_path / "redis")
    proc: Daemon | None = None
    try:
        redis.start()
        for name in ("ssd0", "ssd1", "hdd0"):
            created.append(attach(tmp_path / "disks" / f"{tag}-{name}.img", GIB))
        root = tmp_path / "root"
        argv = [sys.executable, "-m", "zos_storaged", "--broker", redis.url, "--root", str(root)]
        argv += ["--label-prefix", f"{tag}-", "--cache-size", str(64 * MIB)]
        argv += ["--monitor-interval", "0.2"]
        for disk, kind in zip(created, ("ssd", "ssd", "hdd"), strict=True):
            argv += ["--disk", f"{disk.device}={kind}"]
        proc = Daemon(argv=argv, root=root, broker=redis.url)
        proc.disks = {d.device: d for d in created}
        proc.start()
        yield proc
    finally:
        if proc is not None:
            proc.stop()
        redis.stop()
        unmount_under(tmp_path)
        for disk in reversed(created):
            detach(disk)
            disk.file.unlink(missing_ok=True)
