"""``zbus status`` as a readiness probe, and the example server as a daemon (SIGTERM)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

import zos_zbus as zbus

pytestmark = pytest.mark.real


PROBE = ["--module", "probe", "--ticks", "1"]


def zbus_cli(*args: str, timeout: float = 10) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zos_zbus.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_ready(broker: str, module: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    with zbus.SyncClient(broker, timeout=1) as bus:
        while True:
            try:
                bus.status(module, timeout=0.3)
                return
            except zbus.CallTimeout:
                if time.monotonic() > deadline:
                    raise


def test_status_probe_and_sigterm(zbus_broker: str) -> None:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zos_zbus.examples.server",
            "--broker",
            zbus_broker,
            "--module",
            "probe",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_ready(zbus_broker, "probe")
        ok = zbus_cli("status", "--broker", zbus_broker, "probe")
        assert ok.returncode == 0, ok.stderr
        assert "calculator@1.0" in ok.stdout and "utils@1.0" in ok.stdout
        assert "0: free" in ok.stdout

        client = subprocess.run(
            [sys.executable, "-m", "zos_zbus.examples.client", "--broker", zbus_broker, *PROBE],
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert client.returncode == 0, client.stdout + client.stderr
        assert "FAIL" not in client.stdout and "ok   Tuple()" in client.stdout

        call = zbus_cli(
            "call", "--broker", zbus_broker, "probe", "calculator@1.0", "Add", "3", "4.5"
        )
        assert call.returncode == 0, call.stderr
        assert call.stdout.strip() == "7.5"

        start = time.monotonic()
        os.kill(server.pid, signal.SIGTERM)
        server.wait(timeout=5)
        assert time.monotonic() - start < 1.0, "SIGTERM must stop the server within a second"
        assert server.returncode == 0, server.stderr.read() if server.stderr else ""
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        if server.stderr:
            server.stderr.close()

    down = zbus_cli("status", "--broker", zbus_broker, "--timeout", "0.3", "probe")
    assert down.returncode == 1
    assert "not picked up" in down.stderr


def test_status_with_unreachable_broker_fails() -> None:
    result = zbus_cli(
        "status", "--broker", "unix:///nonexistent/redis.sock", "--timeout", "0.3", "x"
    )
    assert result.returncode == 1
    assert "unavailable" in result.stderr
