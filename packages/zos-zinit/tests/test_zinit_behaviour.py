"""The state machine with real processes (spec boot.md §6.3)."""

from __future__ import annotations

import asyncio
import itertools
import time

from zos_zinit import StateKind
from zos_zinit.testing import RunningZinit as Zinit
from zos_zinit.testing import pid_alive

SLEEPER = "sleep 1000"
# Ignores SIGTERM (the ignore is inherited by its sleeps, so the whole group ignores it).
STUBBORN = "sh -c 'trap \"\" TERM; while :; do sleep 0.1; done'"


def _trap_writer(name: str, path: str) -> str:
    """A service that appends 'stop <name>' to path on SIGTERM."""
    return f"sh -c 'trap \"echo stop {name} >> {path}; exit 0\" TERM; while :; do sleep 0.1; done'"


async def test_crashing_service_is_respawned_every_two_seconds(zinit: Zinit) -> None:
    runs = zinit.root / "runs"
    zinit.write("crash", exec=f"sh -c 'date +%s.%N >> {runs}; exit 3'")
    await zinit.start()
    state = await zinit.wait_state("crash", StateKind.ERROR)
    assert state.startswith("Error(Exited(Pid(") and state.endswith("), 3))")
    for _ in range(120):  # three runs: up to 12 s on a loaded machine
        if len(runs.read_text().split()) >= 3:
            break
        await asyncio.sleep(0.1)
    times = [float(t) for t in runs.read_text().split()]
    assert len(times) >= 3
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # A fixed 2 s (plus spawn time on a loaded machine), never a growing back-off.
    assert all(1.9 < g < 4.5 for g in gaps), gaps
    assert max(gaps) - min(gaps) < 1.5, gaps
    status = await zinit.client.status("crash")
    assert status.target == "Up"


async def test_oneshot_dependency_must_succeed_first(zinit: Zinit) -> None:
    order = zinit.root / "order"
    zinit.write("first", exec=f"sh -c 'sleep 2; echo first >> {order}'", oneshot=True)
    zinit.write(
        "second",
        exec=f"sh -c 'echo second >> {order}; exec sleep 1000'",
        test=f"grep -q second {order}",  # without a test it is Running as soon as spawned
        after=["first"],
    )
    zinit.write("third", exec=f"sh -c 'echo third >> {order}'", oneshot=True, after=["second"])
    await zinit.start()
    assert (await zinit.client.status("second")).state == "Blocked"
    await zinit.wait_state("third", StateKind.SUCCESS)
    assert order.read_text().split() == ["first", "second", "third"]
    assert await zinit.client.list() == {
        "first": "Success",
        "second": "Running",
        "third": "Success",
    }


async def test_failed_oneshot_blocks_dependents_visibly(zinit: Zinit) -> None:
    zinit.write("setup", exec="sh -c 'exit 1'", oneshot=True)
    zinit.write("app", exec=SLEEPER, after=["setup", "missing"])
    await zinit.start()
    await zinit.wait_state("setup", StateKind.ERROR)
    await asyncio.sleep(0.3)
    status = await zinit.client.status("app")
    assert status.state == "Blocked"
    assert status.pid == 0
    assert status.after["setup"].startswith("Error(Exited(Pid(")
    assert status.after["missing"] == "Unknown"
    # A oneshot is never respawned.
    await asyncio.sleep(2.3)
    assert (await zinit.client.status("setup")).state.startswith("Error(")


async def test_running_oneshot_does_not_release_dependents(zinit: Zinit) -> None:
    zinit.write("slow", exec="sleep 3", oneshot=True)
    zinit.write("app", exec=SLEEPER, after=["slow"])
    await zinit.start()
    await zinit.wait_state("slow", StateKind.RUNNING)
    assert (await zinit.client.status("app")).state == "Blocked"
    await zinit.wait_state("app", StateKind.RUNNING)
    assert (await zinit.client.status("slow")).state == "Success"


async def test_test_gates_running(zinit: Zinit) -> None:
    flag = zinit.root / "ready"
    zinit.write("gated", exec=SLEEPER, test=f"test -e {flag}")
    zinit.write("user", exec=SLEEPER, after=["gated"])
    await zinit.start()
    await zinit.wait_state("gated", StateKind.SPAWNED)
    await asyncio.sleep(0.5)
    assert (await zinit.client.status("gated")).state == "Spawned"
    assert (await zinit.client.status("user")).state == "Blocked"
    flag.touch()
    started = time.monotonic()
    await zinit.wait_state("gated", StateKind.RUNNING, within=5)
    assert time.monotonic() - started < 4.5  # the test is retried every 2 s
    await zinit.wait_state("user", StateKind.RUNNING)


async def test_spawn_failures(zinit: Zinit) -> None:
    zinit.write("nobinary", exec="/nonexistent/binary --flag")
    zinit.write("badquote", exec="sh -c 'unbalanced")
    zinit.write("nodir", exec=SLEEPER, dir="/nonexistent/dir")
    zinit.write("notest", exec=SLEEPER, test="/nonexistent/probe")
    await zinit.start()
    for name in ("nobinary", "badquote", "nodir"):
        assert await zinit.wait_state(name, StateKind.FAILURE) == "Failure"
    assert await zinit.wait_state("notest", StateKind.TEST_FAILURE) == "TestFailure"
    # Failure means no further retries.
    await asyncio.sleep(2.3)
    assert (await zinit.client.status("nobinary")).state == "Failure"
    log = [line async for line in zinit.client.logs()]
    assert any(line.startswith("[-] nobinary: failed to spawn") for line in log)


async def test_env_dir_and_log_prefixes(zinit: Zinit) -> None:
    workdir = zinit.root / "work"
    workdir.mkdir()
    zinit.write(
        "show",
        exec="sh -c 'echo \"$GREETING $(pwd)\"; echo oops >&2'",
        env={"GREETING": "hello"},
        dir=str(workdir),
        oneshot=True,
    )
    zinit.write("probe", exec=SLEEPER, test="sh -c 'echo probing'")
    zinit.write("quiet", exec="sh -c 'echo not in ring'", oneshot=True, log="none")
    await zinit.start()
    await zinit.wait_state("show", StateKind.SUCCESS)
    await zinit.wait_state("probe", StateKind.RUNNING)
    await zinit.wait_state("quiet", StateKind.SUCCESS)
    await asyncio.sleep(0.2)
    lines = [line async for line in zinit.client.logs()]
    assert "[-] show: ------------ [start] ------------" in lines
    assert f"[+] show: hello {workdir}" in lines
    assert "[-] show: oops" in lines
    assert "[+] probe/test: probing" in lines
    assert not any("not in ring" in line for line in lines)


async def test_stop_start_kill_forget(zinit: Zinit) -> None:
    zinit.write("svc", exec=SLEEPER)
    await zinit.start()
    await zinit.wait_state("svc", StateKind.RUNNING)
    pid = (await zinit.client.status("svc")).pid
    await zinit.client.stop("svc")
    status = await zinit.client.wait_for("svc", [StateKind.ERROR], within=5)
    assert status.state == f"Error(Signaled(Pid({pid}), SIGTERM, false))"
    assert status.target == "Down" and status.pid == 0
    await asyncio.sleep(2.3)  # no respawn while Down
    assert (await zinit.client.status("svc")).pid == 0
    await zinit.client.start("svc")
    await zinit.wait_state("svc", StateKind.RUNNING)
    pid = (await zinit.client.status("svc")).pid
    await zinit.client.kill("svc", "sigkill")  # case-insensitive
    state = await zinit.wait_state("svc", StateKind.ERROR)
    assert state == f"Error(Signaled(Pid({pid}), SIGKILL, false))"
    await zinit.wait_state("svc", StateKind.RUNNING, within=5)  # respawned: target still Up
    await zinit.client.restart("svc", interval=0.1)
    assert (await zinit.wait_state("svc", StateKind.RUNNING)) == "Running"
    await zinit.client.stop("svc")
    await zinit.client.wait_for("svc", [StateKind.ERROR], within=5)
    await zinit.client.forget("svc")
    assert await zinit.client.list() == {}
    await zinit.client.monitor("svc")  # the file is read again
    await zinit.wait_state("svc", StateKind.RUNNING)


async def test_stop_signal_and_shutdown_timeout_kill(zinit: Zinit) -> None:
    zinit.write("stubborn", exec=STUBBORN, shutdown_timeout=1)
    zinit.write("polite", exec=SLEEPER, signal={"stop": "SIGINT"})
    await zinit.start()
    await zinit.wait_state("stubborn", StateKind.RUNNING)
    await zinit.wait_state("polite", StateKind.RUNNING)
    stubborn = (await zinit.client.status("stubborn")).pid
    polite = (await zinit.client.status("polite")).pid
    await zinit.client.stop("polite")
    assert (await zinit.wait_state("polite", StateKind.ERROR)).endswith(", SIGINT, false))")
    # stop does not escalate: a service ignoring its stop signal keeps running.
    await zinit.client.stop("stubborn")
    await asyncio.sleep(0.5)
    assert pid_alive(stubborn)
    started = time.monotonic()
    await zinit.client.shutdown()
    assert await zinit.wait_exit() == 0
    elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 8, elapsed
    assert not pid_alive(stubborn) and not pid_alive(polite)
    assert "stubborn did not stop within 1.0s: SIGKILL" in zinit.output()


async def test_shutdown_in_reverse_dependency_order(zinit: Zinit) -> None:
    stops = zinit.root / "stops"
    zinit.write("base", exec=_trap_writer("base", str(stops)))
    zinit.write("middle", exec=_trap_writer("middle", str(stops)), after=["base"])
    zinit.write("top", exec=_trap_writer("top", str(stops)), after=["middle"])
    zinit.write("side", exec=_trap_writer("side", str(stops)), after=["base"])
    await zinit.start()
    await zinit.wait_state("top", StateKind.RUNNING)
    await zinit.wait_state("side", StateKind.RUNNING)
    pids = [(await zinit.client.status(n)).pid for n in ("base", "middle", "top", "side")]
    assert zinit.proc is not None
    zinit.proc.terminate()  # SIGTERM starts the shutdown in container mode
    assert await zinit.wait_exit() == 0
    order = stops.read_text().split("\n")
    names = [line.split()[1] for line in order if line]
    assert names.index("top") < names.index("middle") < names.index("base")
    assert names.index("side") < names.index("base")
    assert not any(pid_alive(p) for p in pids)
    assert not zinit.socket.exists()


async def test_orphans_are_killed_at_shutdown(zinit: Zinit) -> None:
    pidfile = zinit.root / "orphan.pid"
    # The daemonised grandchild leaves the service's process group (setsid).
    zinit.write(
        "forker",
        exec=f"sh -c 'setsid sh -c \"echo \\$\\$ > {pidfile}; exec sleep 1000\" & exit 0'",
        oneshot=True,
    )
    await zinit.start()
    await zinit.wait_state("forker", StateKind.SUCCESS)
    for _ in range(100):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        await asyncio.sleep(0.05)
    orphan = int(pidfile.read_text())
    assert pid_alive(orphan)
    await zinit.client.shutdown()
    assert await zinit.wait_exit() == 0
    assert not pid_alive(orphan)


async def test_invalid_file_is_skipped_and_supervisor_keeps_running(zinit: Zinit) -> None:
    zinit.write_text("broken", "exec: [unclosed\n")
    zinit.write_text("noexec", "test: true\n")
    zinit.write_text("badsig", "exec: sleep 1000\nsignal:\n  stop: SIGNOPE\n")
    zinit.write("good", exec=SLEEPER, unknown_key="ignored")
    await zinit.start()
    await zinit.wait_state("good", StateKind.RUNNING)
    assert set(await zinit.client.list()) == {"good"}
    out = zinit.output()
    assert "skipping invalid service file" in out
    assert "missing exec directive" in out
    assert 'signal.stop: invalid signal "SIGNOPE"' in out


async def test_log_ring_capacity(zinit: Zinit) -> None:
    zinit.buffer = 5
    zinit.write(
        "chatty", exec="sh -c 'for i in 1 2 3 4 5 6 7 8 9; do echo line$i; done'", oneshot=True
    )
    await zinit.start()
    await zinit.wait_state("chatty", StateKind.SUCCESS)
    await asyncio.sleep(0.2)
    lines = [line async for line in zinit.client.logs()]
    assert lines == [f"[+] chatty: line{i}" for i in range(5, 10)]


async def test_shutdown_survives_a_dependency_cycle(zinit: Zinit) -> None:
    zinit.write("a", exec=SLEEPER)
    zinit.write("b", exec=SLEEPER, after=["a"])
    await zinit.start()
    await zinit.wait_state("b", StateKind.RUNNING)
    # Re-monitor a with `after: [b]`: a and b now wait for each other at shutdown.
    await zinit.client.stop("a")
    await zinit.wait_state("a", StateKind.ERROR)
    await zinit.client.forget("a")
    zinit.write("a", exec=SLEEPER, after=["b"])
    await zinit.client.monitor("a")
    await zinit.wait_state("a", StateKind.RUNNING)
    await zinit.client.shutdown()
    assert await zinit.wait_exit(within=10) == 0
