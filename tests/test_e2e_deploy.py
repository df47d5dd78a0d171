"""The README's promise, end to end: `zos node up`, then `zos deploy` a disk and a volume,
watch them become ok, grow the disk, restart the node (the workloads come back), cancel.

Every module of the development node runs for real (zinit, redis, storaged on loop disks,
identityd, the development chain and its gateway, noded, provisiond); the client is the `zos`
command. The node lives in a temp state dir and `zos node down` removes what it created.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.real

DISKS = """description: e2e disks
workloads:
  - {name: disk, type: zmount, size: 1GiB}
  - {name: data, type: volume, size: 256MiB}
"""


class DevNode:
    def __init__(self, state: Path, home: Path) -> None:
        self.state = state
        self.env = {**os.environ, "ZOS_STATE": str(state), "XDG_CONFIG_HOME": str(home)}
        self.proc: subprocess.Popen[str] | None = None

    def zos(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "zos_cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def up(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "zos_cli", "node", "up", "--state", str(self.state)],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"zos node up exited: {''.join(lines)}")
            lines.append(line)
            if "node is up" in line:
                return
        raise AssertionError(f"zos node up did not come up: {''.join(lines)}")

    def down(self) -> None:
        self.zos("node", "down", "--state", str(self.state), timeout=180)
        if self.proc is not None:
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            self.proc = None


@pytest.fixture
def devnode() -> Iterator[DevNode]:
    # a short state path: unix socket paths are limited to ~107 bytes
    state = Path(tempfile.mkdtemp(prefix="zpe2e-"))
    node = DevNode(state / "node", state / "home")
    try:
        yield node
    finally:
        node.down()
        subprocess.run(["rm", "-rf", str(state)], check=False)


def test_readme_flow(devnode: DevNode) -> None:
    devnode.up()
    spec = devnode.state.parent / "disks.yaml"
    spec.write_text(DISKS)
    done = devnode.zos("deploy", str(spec), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["ok"], result
    contract = str(result["contract_id"])

    # the client commands find the node's chain and broker from --state alone
    env = {k: v for k, v in devnode.env.items() if k not in ("ZOS_STATE", "ZOS_CHAIN_URL")}
    for argv in (["chain", "list", "nodes", "--json"], ["deployment", "list", "--json"]):
        found = subprocess.run(
            [sys.executable, "-m", "zos_cli", *argv, "--state", str(devnode.state)],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )
        assert found.returncode == 0, found.stderr
        listed = json.loads(found.stdout)
        if argv[0] == "chain":
            assert len(listed["nodes"]) == 1, listed
        else:
            assert [d["contract_id"] for d in listed] == [result["contract_id"]], listed

    spec.write_text(DISKS.replace("size: 1GiB", "size: 2GiB"))
    grown = devnode.zos("deploy", str(spec), "--update", contract)
    assert grown.returncode == 0 and "version 1" in grown.stdout, grown.stdout + grown.stderr

    # a node restart: every active workload is provisioned again from provisiond's store
    devnode.down()
    devnode.up()
    deadline = time.monotonic() + 60
    while True:
        changes = devnode.zos("deployment", "changes", contract, "--json")
        if changes.returncode == 0:
            oks = [w for w in json.loads(changes.stdout) if w["result"]["state"] == "ok"]
            if len(oks) >= 5:  # 2 at deploy, 1 grow, 2 after the restart
                break
        assert time.monotonic() < deadline, changes.stdout + changes.stderr
        time.sleep(1)
    got = devnode.zos("deployment", "get", contract, "--json")
    states = {w["name"]: w["result"]["state"] for w in json.loads(got.stdout)["workloads"]}
    assert states == {"disk": "ok", "data": "ok"}

    cancel = devnode.zos("contract", "cancel", contract)
    assert cancel.returncode == 0, cancel.stderr
    deadline = time.monotonic() + 60
    while json.loads(devnode.zos("deployment", "list", "--json").stdout):
        assert time.monotonic() < deadline, "the cancelled deployment is still there"
        time.sleep(1)
