"""flistd as `zos node up` runs it: over zbus, with storaged volumes as writable layers."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import zos_zbus as zbus
from zos_cli.node_modules import ENTRY_POINT_GROUP, NodeContext, NodeModule
from zos_flist.api import (
    READ_ONLY_MOUNT_OPTIONS,
    Flister,
    MountOptions,
    error_from_message,
)
from zos_flist.hub import HubServer, publish
from zos_flist.mounts import list_mounts
from zos_flistd.node import FlistdModule
from zos_storage.api import StorageModule
from zos_storaged.node import StoragedModule
from zos_zbus.testing import RedisServer

pytestmark = pytest.mark.real


def test_registered_under_the_node_modules_group(tmp_path: Path) -> None:
    (found,) = [e for e in entry_points(group=ENTRY_POINT_GROUP) if e.name == "flistd"]
    module = found.load()
    assert isinstance(module, NodeModule)
    assert module.name == "flistd" and module.order == 40
    ctx = NodeContext(state_dir=tmp_path, broker="unix:///x/redis.sock", python=sys.executable)
    module.prepare(ctx)
    service = module.services(ctx)["flistd"]
    assert "--broker unix:///x/redis.sock" in service["exec"]
    assert f"--root {tmp_path}/modules/flistd" in service["exec"]
    assert "status" in service["test"] and service["after"] == ["redis", "storaged"]
    module.cleanup(ctx)
    module.cleanup(ctx)


def _start(service: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    return subprocess.Popen(shlex.split(service["exec"]), stdout=out, stderr=out)


def _wait_ready(service: dict[str, str], process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while subprocess.run(shlex.split(service["test"]), check=False,
                         capture_output=True).returncode != 0:
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"never ready: {log.read_text()}"
        time.sleep(0.2)


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def node(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """redis, storaged on loop disks and flistd, as the development node runs them."""
    redis = RedisServer(tmp_path / "redis").start()
    ctx = NodeContext(state_dir=tmp_path / "state", broker=redis.url, python=sys.executable)
    storaged, flistd = StoragedModule(), FlistdModule()
    procs: list[subprocess.Popen[bytes] | None] = []
    try:
        for module in (storaged, flistd):
            module.prepare(ctx)
            service = dict(module.services(ctx)[module.name])
            log = tmp_path / f"{module.name}.log"
            procs.append(_start(service, log))
            _wait_ready(service, procs[-1], log)
        yield redis.url, ctx.state_dir / "modules" / "flistd"
    finally:
        for proc in reversed(procs):
            _stop(proc)
        flistd.cleanup(ctx)
        storaged.cleanup(ctx)
        redis.stop()
    assert not [m for m in list_mounts() if m.target.startswith(str(tmp_path))]


def test_flistd_over_zbus_on_storaged_volumes(node: tuple[str, Path], tmp_path: Path) -> None:
    broker, root = node
    hub = HubServer(tmp_path / "hub", "127.0.0.1", 0).start()
    try:
        src = tmp_path / "src"
        (src / "etc").mkdir(parents=True)
        (src / "etc" / "motd").write_bytes(b"from the hub\n")
        url = publish(hub.layout.root, src, repo="tf", name="base", hub_url=hub.url).url
        with zbus.SyncClient(broker, timeout=60) as bus:
            flist = bus.stub(Flister)
            storage = bus.stub(StorageModule)
            ro = Path(flist.mount("reader", url, READ_ONLY_MOUNT_OPTIONS))
            assert (ro / "etc/motd").read_bytes() == b"from the hub\n"
            rw = Path(flist.mount("writer", url, MountOptions(Limit=64 * 1024 * 1024)))
            assert rw == root / "mountpoint" / "writer"
            (rw / "etc/motd").write_bytes(b"changed\n")
            volume = Path(storage.volume_lookup("writer").Path)
            assert (volume / "rw/etc/motd").read_bytes() == b"changed\n"  # in the volume
            assert flist.exists("writer") and not flist.exists("nothing")
            md5 = flist.flist_hash(url)
            assert flist.hash_from_root_path("writer") == md5
            assert flist.hash_from_root_path("reader") == md5
            assert flist.update_mount_size("writer", 128 * 1024 * 1024) == str(rw)
            with pytest.raises(zbus.RemoteCallError) as info:
                flist.update_mount_size("nothing", 1)
            assert type(error_from_message(info.value.message)).__name__ == "NotMountedError"
            flist.unmount("writer")
            flist.unmount("reader")
            assert not storage.volume_exists("writer")  # Unmount deletes the volume
            assert not rw.exists() and not ro.exists()
        assert not [m for m in list_mounts() if m.target.startswith(str(root))]
    finally:
        hub.stop()
