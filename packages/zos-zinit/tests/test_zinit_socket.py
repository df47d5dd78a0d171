"""Every socket command and error text, byte for byte, against spec boot.md §6.5."""

from __future__ import annotations

import asyncio
import json

import pytest

from zos_zinit import (
    AlreadyMonitoredError,
    CommandError,
    ConfigLoadError,
    ServiceIsDownError,
    ServiceIsUpError,
    ShuttingDownError,
    StateKind,
    UnknownServiceError,
)
from zos_zinit.testing import RunningZinit as Zinit

OK_NULL = b'{"state":"ok","body":null}'


def _error(text: str) -> bytes:
    return json.dumps({"state": "error", "body": text}, separators=(",", ":")).encode()


async def test_ok_replies(zinit: Zinit) -> None:
    zinit.write("svc", exec="sleep 1000")
    zinit.write("dep", exec="sleep 1000", after=["svc", "ghost"])
    await zinit.start()
    await zinit.wait_state("svc", StateKind.RUNNING)
    reply = json.loads(await zinit.raw(b"list\n"))
    assert reply == {"state": "ok", "body": {"svc": "Running", "dep": "Blocked"}}

    raw = await zinit.raw(b"status dep\n")
    assert not raw.endswith(b"\n")
    body = json.loads(raw)["body"]
    assert list(body) == ["name", "pid", "state", "target", "after"]
    assert body == {
        "name": "dep",
        "pid": 0,
        "state": "Blocked",
        "target": "Up",
        "after": {"svc": "Running", "ghost": "Unknown"},
    }
    svc = json.loads(await zinit.raw(b"status svc\n"))["body"]
    assert svc["pid"] > 0 and svc["after"] == {}

    zinit.write("extra", exec="sleep 1000")
    assert await zinit.raw(b"monitor extra\n") == OK_NULL
    assert await zinit.raw(b"stop extra\n") == OK_NULL
    await zinit.wait_state("extra", StateKind.ERROR)
    assert await zinit.raw(b"forget extra\n") == OK_NULL
    assert await zinit.raw(b"start svc\n") == OK_NULL  # no effect on a running service
    assert await zinit.raw(b"kill svc SIGTERM\n") == OK_NULL
    # Shell-style quoting of the request line.
    assert (await zinit.raw(b"status 'svc'\n")).startswith(b'{"state":"ok"')
    # Without the trailing newline the request still works once the client half-closes.
    assert json.loads(await zinit.raw(b"list", eof=True))["state"] == "ok"


async def test_error_texts(zinit: Zinit) -> None:
    zinit.write("svc", exec="sleep 1000")
    zinit.write("done", exec="true", oneshot=True)
    zinit.write_text("broken", "exec: ''\n")
    await zinit.start()
    await zinit.wait_state("svc", StateKind.RUNNING)
    await zinit.wait_state("done", StateKind.SUCCESS)

    for command in ("status", "start", "stop", "forget"):
        assert await zinit.raw(f"{command} nope\n".encode()) == _error(
            'service name "nope" unknown'
        )
    assert await zinit.raw(b"kill nope SIGTERM\n") == _error('service name "nope" unknown')
    assert await zinit.raw(b"monitor svc\n") == _error('service "svc" already monitored')
    assert await zinit.raw(b"forget svc\n") == _error('service "svc" is up')
    assert await zinit.raw(b"kill done SIGTERM\n") == _error('service "done" is down')

    missing = json.loads(await zinit.raw(b"monitor missing\n"))
    assert missing["state"] == "error"
    assert missing["body"].startswith("failed to load service config")
    invalid = json.loads(await zinit.raw(b"monitor broken\n"))
    assert invalid["body"].startswith("failed to load service config")
    assert "missing exec directive" in invalid["body"]
    escape = json.loads(await zinit.raw(b"monitor ../svc\n"))
    assert escape["body"].startswith("failed to load service config")

    unknown = "unknown command '{}' or wrong arguments count"
    assert await zinit.raw(b"frobnicate\n") == _error(unknown.format("frobnicate"))
    assert await zinit.raw(b"status\n") == _error(unknown.format("status"))
    assert await zinit.raw(b"status a b\n") == _error(unknown.format("status"))
    assert await zinit.raw(b"kill svc\n") == _error(unknown.format("kill"))
    assert await zinit.raw(b"list extra\n") == _error(unknown.format("list"))
    assert await zinit.raw(b"\n") == _error("unknown command")
    assert await zinit.raw(b"   \n") == _error("unknown command")
    assert await zinit.raw(b"status 'svc\n") == _error("invalid command syntax")
    assert await zinit.raw(b"log follow\n") == _error("invalid log command arguments")
    assert await zinit.raw(b"log snapshot x\n") == _error("invalid log command arguments")
    bad_signal = json.loads(await zinit.raw(b"kill svc SIGNOPE\n"))
    assert bad_signal["state"] == "error" and "SIGNOPE" in bad_signal["body"]
    # The supervisor is unaffected by all of that.
    assert json.loads(await zinit.raw(b"list\n"))["state"] == "ok"


async def test_client_raises_typed_errors(zinit: Zinit) -> None:
    zinit.write("svc", exec="sleep 1000")
    zinit.write("done", exec="true", oneshot=True)
    await zinit.start()
    await zinit.wait_state("svc", StateKind.RUNNING)
    await zinit.wait_state("done", StateKind.SUCCESS)
    client = zinit.client
    with pytest.raises(UnknownServiceError, match=r'^service name "x" unknown$'):
        await client.status("x")
    with pytest.raises(AlreadyMonitoredError):
        await client.monitor("svc")
    with pytest.raises(ServiceIsUpError):
        await client.forget("svc")
    with pytest.raises(ServiceIsDownError):
        await client.kill("done")
    with pytest.raises(ConfigLoadError):
        await client.monitor("missing")
    with pytest.raises(CommandError, match="wrong arguments count"):
        await client.request("status")


async def test_log_snapshot_and_follow(zinit: Zinit) -> None:
    zinit.write("hello", exec="sh -c 'echo one; echo two'", oneshot=True)
    await zinit.start()
    await zinit.wait_state("hello", StateKind.SUCCESS)
    await asyncio.sleep(0.2)
    snapshot = await zinit.raw(b"log snapshot\n")
    assert snapshot == (
        b"[-] hello: ------------ [start] ------------\n[+] hello: one\n[+] hello: two\n"
    )

    reader, writer = await asyncio.open_unix_connection(str(zinit.socket))
    writer.write(b"log\n")
    await writer.drain()
    seen = [await asyncio.wait_for(reader.readline(), 5) for _ in range(3)]
    assert seen[-1] == b"[+] hello: two\n"
    zinit.write("later", exec="sh -c 'echo three'", oneshot=True)
    await zinit.client.monitor("later")
    assert await asyncio.wait_for(reader.readline(), 5) == (
        b"[-] later: ------------ [start] ------------\n"
    )
    assert await asyncio.wait_for(reader.readline(), 5) == b"[+] later: three\n"
    writer.close()


async def test_shutdown_refuses_monitor_and_start(zinit: Zinit) -> None:
    zinit.write(
        "stubborn", exec="sh -c 'trap \"\" TERM; while :; do sleep 0.1; done'", shutdown_timeout=3
    )
    zinit.write("other", exec="sleep 1000")
    await zinit.start()
    await zinit.wait_state("stubborn", StateKind.RUNNING)
    assert await zinit.raw(b"shutdown\n") == OK_NULL
    await asyncio.sleep(0.3)
    zinit.write("new", exec="sleep 1000")
    assert await zinit.raw(b"monitor new\n") == _error("zinit is shutting down")
    assert await zinit.raw(b"start other\n") == _error("zinit is shutting down")
    with pytest.raises(ShuttingDownError):
        await zinit.client.start("other")
    assert await zinit.raw(b"shutdown\n") == OK_NULL  # a second request is harmless
    assert await zinit.wait_exit() == 0


async def test_reboot_in_container_mode_exits(zinit: Zinit) -> None:
    zinit.write("svc", exec="sleep 1000")
    await zinit.start()
    await zinit.wait_state("svc", StateKind.RUNNING)
    assert await zinit.raw(b"reboot\n") == OK_NULL
    assert await zinit.wait_exit() == 0


async def test_garbage_never_hurts_the_server(zinit: Zinit) -> None:
    import random

    zinit.write("svc", exec="sleep 1000")
    await zinit.start()
    rng = random.Random(4)
    inputs = [b"\xff\xfe status \x00\n", b'{"jsonrpc": "2.0"}\n', b"'" * 5000 + b"\n"]
    inputs += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))) for _ in range(60)]
    for data in inputs:
        reply = await zinit.raw(data, eof=True)
        assert json.loads(reply)["state"] in {"ok", "error"}, (data, reply)
    too_long = await zinit.raw(b"status " + b"x" * 200_000 + b"\n")
    assert json.loads(too_long) == {"state": "error", "body": "request line too long"}
    assert await zinit.client.list() == {"svc": "Running"}
