"""The ``zinit`` command against a real supervisor."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import yaml

from zos_zinit import StateKind
from zos_zinit.testing import RunningZinit as Zinit


async def _zinit(z: Zinit, *args: str) -> subprocess.CompletedProcess[str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "zos_zinit",
        "-s",
        str(z.socket),
        *args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return subprocess.CompletedProcess(args, proc.returncode, out.decode(), err.decode())


def test_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "zos_zinit", "-V"], capture_output=True, text=True, check=True
    )
    assert out.stdout == "zinit v0.2.14\n"


async def test_commands(zinit: Zinit) -> None:
    zinit.write("svc", exec="sh -c 'echo hi; exec sleep 1000'")
    zinit.write("other", exec="sleep 1000", after=["svc"])
    await zinit.start()
    await zinit.wait_state("other", StateKind.RUNNING)

    listed = await _zinit(zinit)  # list is the default
    assert listed.returncode == 0
    assert yaml.safe_load(listed.stdout) == {"svc": "Running", "other": "Running"}
    status = await _zinit(zinit, "status", "other")
    assert yaml.safe_load(status.stdout)["after"] == {"svc": "Running"}

    missing = await _zinit(zinit, "status", "nope")
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'service name "nope" unknown'

    pid = (await zinit.client.status("svc")).pid
    restarted = await _zinit(zinit, "restart", "svc")
    assert restarted.returncode == 0, restarted.stderr
    new = await zinit.client.wait_for("svc", [StateKind.RUNNING], within=5)
    assert new.pid != pid

    log = await _zinit(zinit, "log", "-s", "svc")
    lines = log.stdout.splitlines()
    assert lines and all(line[4:].startswith("svc:") for line in lines)
    assert "[+] svc: hi" in lines

    assert (await _zinit(zinit, "kill", "svc", "SIGKILL")).returncode == 0
    assert (await _zinit(zinit, "stop", "other")).returncode == 0
    await zinit.wait_state("other", StateKind.ERROR)
    assert (await _zinit(zinit, "forget", "other")).returncode == 0
    assert (await _zinit(zinit, "monitor", "other")).returncode == 0
    assert (await _zinit(zinit, "shutdown")).returncode == 0
    assert await zinit.wait_exit() == 0


async def test_unreachable_socket(zinit: Zinit) -> None:
    result = await _zinit(zinit, "list")
    assert result.returncode == 1 and "cannot talk to" in result.stderr
