"""`zos node up` / `status` / `down` with real processes: zinit, redis and a test-only module.

The test module is registered the way an app registers itself (an entry point in the
``zos.node_modules`` group), but from a throw-away dist-info folder put on PYTHONPATH of the
node's process only, so it is never part of the shipped package.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from zos_zinit import load_service

TEST_MODULE = """
from pathlib import Path


class Module:
    name = "testmod"
    order = 45

    def prepare(self, ctx):
        (ctx.state_dir / "testmod.prepared").write_text("prepared")
        (ctx.module_root("testmod") / "data").write_text("x")

    def services(self, ctx):
        marker = ctx.state_dir / "testmod.prepared"
        return {
            "testmod-init": {"exec": "true", "oneshot": True, "after": ["boot"]},
            "testmod": {
                "exec": f"{ctx.python} -c 'import time; time.sleep(1000)'",
                "test": f"test -e {marker}",
                "after": ["testmod-init", "storaged", "node-ready"],
            },
        }

    def cleanup(self, ctx):
        (ctx.state_dir / "testmod.prepared").unlink(missing_ok=True)


module = Module()
"""

# A tiny zbus-serving daemon and its module: Running only once `zbus status` (the node's default
# readiness probe, no `test` given) sees it on the bus.
ZBUS_DAEMON = """
import asyncio
import sys

import zos_zbus as zbus


@zbus.interface(module="testzbus", object="echo", version="0.0.1")
class Echo:
    @zbus.method("Echo")
    async def echo(self, text: str) -> str:
        raise NotImplementedError


class EchoImpl(Echo):
    async def echo(self, text: str) -> str:
        return text


async def main(broker: str) -> None:
    server = zbus.Server("testzbus", broker)
    server.register(EchoImpl())
    await zbus.serve(server)


if __name__ == "__main__":
    assert sys.argv[1] == "--broker"
    asyncio.run(main(sys.argv[2]))
"""

ZBUS_MODULE = """
class Module:
    name = "testzbus"
    order = 46

    def prepare(self, ctx):
        pass

    def services(self, ctx):
        return {"testzbus": {"exec": f"{ctx.python} -m zos_testzbusd_node --broker {ctx.broker}",
                             "after": ["testmod"]}}

    def cleanup(self, ctx):
        pass


module = Module()
"""


ECHO_CALL = ("testzbus", "echo@0.0.1", "Echo", '"hi"')


class Node:
    def __init__(self, state: Path, site: Path) -> None:
        self.state = state
        self.env = {**os.environ, "PYTHONPATH": str(site)}
        self.proc: subprocess.Popen[str] | None = None

    def zos(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "zos_cli", *args, "--state", str(self.state)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def up(self) -> subprocess.Popen[str]:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "zos_cli", "node", "up", "--state", str(self.state)],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        return self.proc

    def wait_up(self) -> list[str]:
        assert self.proc is not None and self.proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"zos node up exited: {''.join(lines)}")
            lines.append(line)
            if "node is up" in line:
                return lines
        raise AssertionError(f"zos node up did not come up: {''.join(lines)}")

    def processes(self) -> list[int]:
        """Every process whose command line mentions the state dir."""
        found = []
        needle = str(self.state).encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if needle in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
        return found

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.zos("node", "down")


@pytest.fixture
def node() -> Iterator[Node]:
    root = Path(tempfile.mkdtemp(prefix="zosnode-", dir="/tmp"))
    site = root / "site"
    site.mkdir()
    (site / "zos_testmod_node.py").write_text(TEST_MODULE)
    (site / "zos_testzbus_node.py").write_text(ZBUS_MODULE)
    (site / "zos_testzbusd_node.py").write_text(ZBUS_DAEMON)
    dist = site / "zos_testmod_node-0.0.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: zos-testmod-node\nVersion: 0.0.0\n"
    )
    (dist / "entry_points.txt").write_text(
        "[zos.node_modules]\ntestmod = zos_testmod_node:module\n"
        "testzbus = zos_testzbus_node:module\n"
    )
    n = Node(root / "state", site)
    try:
        yield n
    finally:
        n.stop()
        shutil.rmtree(root, ignore_errors=True)


def _assert_nothing_left(node: Node, pids: list[int]) -> None:
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid), f"pid {pid} survived"
    assert node.processes() == []
    # No mount and no loop device of the node's modules (e.g. storaged's disks) remains.
    state = str(node.state)
    mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    assert not [m for m in mounts if state in m], mounts
    for backing in Path("/sys/block").glob("loop*/loop/backing_file"):
        with contextlib.suppress(OSError):
            assert state not in backing.read_text(), backing
    run = node.state / "run"
    assert not list(run.iterdir()), list(run.iterdir())
    assert not (node.state / "testmod.prepared").exists()  # the module's cleanup ran


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _service_pids(node: Node) -> list[int]:
    sock = node.state / "run" / "zinit.sock"
    pids = [int((node.state / "run" / "zinit.pid").read_text())]
    for name in ("redis", "testmod", "testzbus"):
        out = subprocess.run(
            [sys.executable, "-m", "zos_zinit", "-s", str(sock), "status", name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        pid = int(next(line.split()[1] for line in out.splitlines() if line.startswith("pid:")))
        assert pid > 0
        pids.append(pid)
    return pids


def test_up_status_down_leaves_nothing_behind(node: Node) -> None:
    node.up()
    lines = node.wait_up()
    assert any("module testmod: ready" in line for line in lines)

    status = node.zos("node", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    rows = {line.split()[0]: line.split()[1:] for line in status.stdout.splitlines()[1:]}
    # The test modules beside redis and every module app of the workspace, all healthy.
    assert {
        "redis": ["Running", "healthy"],
        "testmod": ["Running", "healthy"],
        "testmod-init": ["Success", "healthy"],
        "testzbus": ["Running", "healthy"],
    }.items() <= rows.items()
    assert all(row[1] == "healthy" for row in rows.values()), rows
    broker = f"unix://{node.state / 'run' / 'redis.sock'}"
    probe = load_service(node.state / "zinit" / "testzbus.yaml")[1].test
    assert probe.endswith(f"/zbus status --broker {broker} testzbus")
    echo = subprocess.run(
        [*(sys.executable, "-m", "zos_zbus.cli", "call", "--broker", broker), *ECHO_CALL],
        capture_output=True,
        text=True,
        check=False,
    )
    assert echo.returncode == 0 and "hi" in echo.stdout, echo.stdout + echo.stderr
    # redis answers on its unix socket, with persistence off.
    sock = node.state / "run" / "redis.sock"
    ping = subprocess.run(["redis-cli", "-s", str(sock), "ping"], capture_output=True, text=True)
    assert ping.stdout.strip() == "PONG"
    save = subprocess.run(
        ["redis-cli", "-s", str(sock), "config", "get", "save"], capture_output=True, text=True
    )
    assert save.stdout.split("\n")[1] == ""
    # The node's rules: absent services dropped from `after`, redis added, probe kept.
    after = load_service(node.state / "zinit" / "testmod.yaml")[1].after
    expected = ["redis", "testmod-init"] + (["storaged"] if "storaged" in rows else [])
    assert list(after) == expected  # node-ready (absent) dropped, redis added
    assert load_service(node.state / "zinit" / "testmod-init.yaml")[1].after == ("redis",)

    second = node.zos("node", "up", timeout=30)
    assert second.returncode == 1 and "already running" in second.stderr

    pids = _service_pids(node)
    down = node.zos("node", "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert node.proc is not None
    assert node.proc.wait(30) == 0
    _assert_nothing_left(node, pids)

    assert node.zos("node", "status").returncode == 1


def test_ctrl_c_stops_everything(node: Node) -> None:
    # A pid file of an `up` that died: the next `up` cleans up after it first.
    (node.state / "run").mkdir(parents=True)
    (node.state / "run" / "node.pid").write_text("999999999\n")
    proc = node.up()
    assert any("did not stop cleanly" in line for line in node.wait_up())
    pids = _service_pids(node)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 0
    assert proc.stdout is not None
    assert "nothing left running" in proc.stdout.read()
    _assert_nothing_left(node, pids)


def test_down_after_a_crashed_up(node: Node) -> None:
    proc = node.up()
    node.wait_up()
    pids = _service_pids(node)
    proc.kill()  # the supervisor and the services survive in their own sessions
    proc.wait()
    assert Path(f"/proc/{pids[0]}").exists()
    down = node.zos("node", "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert "crashed node" in down.stdout
    _assert_nothing_left(node, pids)


def test_status_without_a_node(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "zos_cli", "node", "status", "--state", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 1 and "no node running" in out.stdout


def test_unhealthy_service_fails_status(node: Node) -> None:
    node.up()
    node.wait_up()
    (node.state / "testmod.prepared").unlink()  # the probe of testmod fails from now on
    status = node.zos("node", "status")
    assert status.returncode == 1
    assert "testmod       Running       UNHEALTHY" in textwrap.dedent(status.stdout)
