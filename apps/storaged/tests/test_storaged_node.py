"""The development-node module: loop-file disks in the state dir, removed exactly."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

from zos_cli.node_modules import ENTRY_POINT_GROUP, NodeContext, NodeModule
from zos_storage import loopdisk
from zos_storaged.node import StoragedModule
from zos_zbus.testing import RedisServer


def test_registered_under_the_node_modules_group() -> None:
    (found,) = [e for e in entry_points(group=ENTRY_POINT_GROUP) if e.name == "storaged"]
    module = found.load()
    assert isinstance(module, NodeModule)
    assert module.name == "storaged" and module.order == 20


def test_prepare_services_cleanup(tmp_path: Path) -> None:
    ctx = NodeContext(state_dir=tmp_path, broker="unix:///x/redis.sock", python=sys.executable)
    module = StoragedModule()
    try:
        module.prepare(ctx)
        module.prepare(ctx)  # idempotent: the same devices
        disks = module.disks(ctx)
        assert [d["type"] for d in disks] == ["ssd", "ssd", "hdd"]
        for disk in disks:
            file = Path(disk["file"])
            assert file.parent == tmp_path / "disks" and ctx.tag in file.name
            assert file.stat().st_blocks == 0  # sparse
            assert loopdisk.devices_of(file) == [disk["device"]]
        service = module.services(ctx)["storaged"]
        assert f"--disks-file {module.allowlist(ctx)}" in service["exec"]
        allowed = module.allowlist(ctx).read_text().splitlines()
        assert allowed == [f"{d['device']}={d['type']}" for d in disks]
        assert "--broker unix:///x/redis.sock" in service["exec"]
        assert service["test"].startswith("sh -c 'mountpoint -q ")
        assert "zos_zbus.cli status --broker unix:///x/redis.sock storage" in service["test"]
    finally:
        module.cleanup(ctx)
    for disk in disks:
        assert not Path(disk["file"]).exists()
        assert loopdisk.backing_file(disk["device"]) != Path(disk["file"])
    module.cleanup(ctx)  # idempotent, also without a manifest


def test_the_service_runs_storaged_on_its_loop_disks(tmp_path: Path) -> None:
    """What `zos node up` does with the module: prepare, run the service until its test
    passes, stop it by pid, cleanup; afterwards nothing of it is left."""
    module = StoragedModule()
    redis = RedisServer(tmp_path / "redis").start()
    ctx = NodeContext(state_dir=tmp_path / "state", broker=redis.url, python=sys.executable)
    process = None
    try:
        service = module.services(ctx)["storaged"]  # the node plans before it prepares
        module.prepare(ctx)
        log = (tmp_path / "storaged.log").open("wb")
        process = subprocess.Popen(shlex.split(service["exec"]), stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while subprocess.run(shlex.split(service["test"]), check=False).returncode != 0:
            assert process.poll() is None, (tmp_path / "storaged.log").read_text()
            assert time.monotonic() < deadline, "storaged never became ready"
            time.sleep(0.2)
        root = ctx.state_dir / "modules" / "storaged"
        pools = sorted(p.name for p in (root / "mnt").iterdir())
        assert len(pools) == 3 and all(p.startswith(f"{ctx.tag}-") for p in pools)
        kinds = sorted((root / "mnt" / p / ".seektime").read_text() for p in pools)
        assert kinds == ["hdd", "ssd", "ssd"]
    finally:
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        disks = module.disks(ctx)
        module.cleanup(ctx)
        redis.stop()
    assert loopdisk.mounts_under(tmp_path) == []
    for disk in disks:
        assert loopdisk.backing_file(disk["device"]) != Path(disk["file"])
        assert not Path(disk["file"]).exists()
