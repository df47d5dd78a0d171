"""The development node: the supervisor, redis and every registered module, under one state dir.

``zos node up`` runs :meth:`DevNode.start` then waits for Ctrl-C/SIGTERM and runs
:meth:`DevNode.teardown`; ``zos node down`` asks a running ``up`` to stop (or, after a crash,
stops the leftover supervisor and cleans up itself); ``zos node status`` asks the supervisor.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from zos_cli.node_modules import ENTRY_POINT_GROUP, NodeContext, NodeModule, zbus_module_of
from zos_cli.node_paths import NodePaths, pid_running, read_pid
from zos_cli.probe import readiness_probe
from zos_zinit import (
    Client,
    ServiceConfig,
    ServiceConfigError,
    StateKind,
    ZinitError,
    dump_service,
    load_service,
    parse_service,
)
from zos_zinit.process import become_subreaper, child_pids

REDIS = "redis"
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


class NodeError(Exception):
    """Something the user must fix; the message says what."""


def say(message: str) -> None:
    print(f"zos node: {message}", flush=True)


def load_modules() -> list[NodeModule]:
    """Every registered module, in boot order."""
    modules: list[NodeModule] = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            module = entry.load()
        except Exception as e:
            raise NodeError(f"cannot load node module {entry.name!r} ({entry.value}): {e}") from e
        if not isinstance(module, NodeModule):
            raise NodeError(f"node module {entry.name!r} ({entry.value}) is not a NodeModule")
        modules.append(module)
    return sorted(modules, key=lambda m: (m.order, m.name))


@dataclass(frozen=True)
class PlannedService:
    module: str
    name: str
    config: ServiceConfig


def redis_service(paths: NodePaths) -> ServiceConfig:
    server = shutil.which("redis-server")
    if server is None:
        raise NodeError("redis-server not found: install the Debian package redis-server")
    sock = str(paths.redis_socket)
    argv = [server, "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700"]
    argv += ["--save", "", "--appendonly", "no", "--dir", str(paths.redis_dir)]
    test = shlex.join([shutil.which("redis-cli") or "redis-cli", "-s", sock, "ping"])
    return ServiceConfig(exec=shlex.join(argv), test=test, shutdown_timeout=10)


def plan_services(
    ctx: NodeContext, modules: Sequence[NodeModule]
) -> dict[str, list[PlannedService]]:
    """Each module's service files, with the node's rules applied (see node_modules.py)."""
    raw: dict[str, dict[str, Mapping[str, Any]]] = {}
    owners: dict[str, str] = {REDIS: "the node"}
    for module in modules:
        services = dict(module.services(ctx))
        for name in services:
            if name in owners:
                raise NodeError(
                    f"service {name!r} of module {module.name!r} is also provided by {owners[name]}"
                )
            owners[name] = f"module {module.name!r}"
        raw[module.name] = services
    known = set(owners)
    planned: dict[str, list[PlannedService]] = {}
    for module in modules:
        planned[module.name] = []
        for name, content in raw[module.name].items():
            data = dict(content)
            after = [a for a in data.get("after") or [] if a in known]
            if REDIS not in after:
                after.insert(0, REDIS)
            data["after"] = after
            if not data.get("test") and not data.get("oneshot"):
                data["test"] = readiness_probe(ctx, zbus_module_of(module))
            try:
                config = parse_service(data)
            except ServiceConfigError as e:
                raise NodeError(f"module {module.name!r}, service {name!r}: {e}") from None
            planned[module.name].append(PlannedService(module.name, name, config))
    return planned


def healthy(config: ServiceConfig | None, state: str) -> bool:
    """Healthy: a oneshot finished with Success; a daemon is Running and its test passes now."""
    if config is None:
        return state == "Running"
    if config.oneshot:
        return state == "Success"
    if state != "Running":
        return False
    if not config.test:
        return True
    env = {**os.environ, **config.env}
    try:
        result = subprocess.run(
            shlex.split(config.test),
            cwd=config.workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=10,
            check=False,
        )
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


class DevNode:
    def __init__(self, paths: NodePaths) -> None:
        self.paths = paths
        self.ctx = NodeContext(paths.state_dir, paths.broker, sys.executable)
        self.client = Client(paths.zinit_socket, timeout=15)
        self.modules: list[NodeModule] = []
        self.prepared: list[NodeModule] = []
        self.planned: dict[str, list[PlannedService]] = {}
        self.zinit: subprocess.Popen[bytes] | None = None

    # -- start -----------------------------------------------------------------------------

    def claim(self) -> None:
        """Create the state dir and record us as its node; refuse a second node on it."""
        self.paths.create()
        other = read_pid(self.paths.node_pidfile)
        if other != os.getpid() and pid_running(other, "zos"):
            raise NodeError(
                f"a node is already running on {self.paths.state_dir} (pid {other});"
                f" stop it with `zos node down --state {self.paths.state_dir}`"
            )
        if pid_running(read_pid(self.paths.zinit_pidfile), "zos_zinit"):
            raise NodeError(
                f"a supervisor of a crashed node still runs on {self.paths.state_dir};"
                f" run `zos node down --state {self.paths.state_dir}` first"
            )
        if other is not None and other != os.getpid():
            # A previous `up` died without cleaning up: undo what its modules created.
            say(f"cleaning up after a node that did not stop cleanly (pid {other})")
            _cleanup_modules(self.ctx, load_modules())
            finish(self.paths)
        self.paths.node_pidfile.write_text(f"{os.getpid()}\n")
        become_subreaper()  # whatever escapes the supervisor comes back to us

    def _spawn_supervisor(self, redis: ServiceConfig) -> subprocess.Popen[bytes]:
        for old in self.paths.config_dir.glob("*.yaml"):
            old.unlink()
        (self.paths.config_dir / f"{REDIS}.yaml").write_text(dump_service(redis))
        env = dict(os.environ)
        # Module daemons and probes (zbus, python -m ...) come from this environment.
        bindir = str(Path(sys.executable).parent)
        env["PATH"] = os.pathsep.join([bindir, env.get("PATH", "/usr/bin:/bin")])
        argv = [sys.executable, "-m", "zos_zinit", "-s", str(self.paths.zinit_socket), "init"]
        argv += ["-c", str(self.paths.config_dir), "--container"]
        with (self.paths.log_dir / "zinit.log").open("ab") as log:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # Ctrl-C reaches us only; we stop it in order
            )
        self.paths.zinit_pidfile.write_text(f"{proc.pid}\n")
        return proc

    async def _wait_socket(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while loop.time() < deadline:
            if self.zinit is not None and self.zinit.poll() is not None:
                raise NodeError(f"the supervisor exited; see {self.paths.log_dir / 'zinit.log'}")
            with contextlib.suppress(OSError):
                await self.client.list()
                return
            await asyncio.sleep(0.05)
        raise NodeError(f"the supervisor did not answer on {self.paths.zinit_socket}")

    async def start(self) -> None:
        redis = redis_service(self.paths)
        self.modules = load_modules()
        self.zinit = self._spawn_supervisor(redis)
        await self._wait_socket()
        say(f"supervisor up (pid {self.zinit.pid}), socket {self.paths.zinit_socket}")
        await self._wait_healthy(REDIS)
        say(f"redis up, broker {self.paths.broker}")
        # Every module is prepared before any is asked for its services (the contract's
        # order), and all service names must be known to drop absent `after` entries.
        for module in self.modules:
            self.prepared.append(module)
            await asyncio.to_thread(module.prepare, self.ctx)
        self.planned = plan_services(self.ctx, self.modules)
        for module in self.modules:
            for service in self.planned[module.name]:
                path = self.paths.config_dir / f"{service.name}.yaml"
                path.write_text(dump_service(service.config))
                await self.client.monitor(service.name)
            say(f"module {module.name}: started {[s.name for s in self.planned[module.name]]}")
        for module in self.modules:
            for service in self.planned[module.name]:
                await self._wait_healthy(service.name, service.config.oneshot)
            say(f"module {module.name}: ready")

    async def _wait_healthy(self, name: str, oneshot: bool = False) -> None:
        kind = StateKind.SUCCESS if oneshot else StateKind.RUNNING
        try:
            await self.client.wait_for(name, [kind], within=STARTUP_TIMEOUT, interval=0.1)
        except TimeoutError as e:
            raise NodeError(f"{e}; see `zinit -s {self.paths.zinit_socket} log -s {name}`") from e

    def supervisor_alive(self) -> bool:
        return self.zinit is not None and self.zinit.poll() is None

    # -- stop ------------------------------------------------------------------------------

    async def teardown(self) -> None:
        """Stop the modules in reverse order, then the supervisor (redis last), then clean up."""
        if self.supervisor_alive():
            for module in reversed(self.modules):
                for service in reversed(self.planned.get(module.name, [])):
                    await self._stop_service(service.name, service.config.shutdown_timeout)
            with contextlib.suppress(OSError, ZinitError, TimeoutError):
                await self.client.shutdown()
            await asyncio.to_thread(self._wait_supervisor)
        elif self.zinit is not None:
            self._wait_supervisor()
        for module in reversed(self.prepared):
            try:
                await asyncio.to_thread(module.cleanup, self.ctx)
            except Exception as e:
                say(f"module {module.name}: cleanup failed: {e}")
        finish(self.paths)

    async def _stop_service(self, name: str, grace: float) -> None:
        try:
            await self.client.stop(name)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + grace
            while not (await self.client.status(name)).is_down:
                if loop.time() > deadline:
                    await self.client.kill(name, "SIGKILL")
                    deadline = loop.time() + 5
                await asyncio.sleep(0.1)
        except (OSError, ZinitError, TimeoutError) as e:
            say(f"stopping {name}: {e}")

    def _wait_supervisor(self) -> None:
        assert self.zinit is not None
        try:
            self.zinit.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            say(f"supervisor (pid {self.zinit.pid}) did not exit: SIGKILL")
            self.zinit.kill()
            self.zinit.wait()


def finish(paths: NodePaths) -> None:
    """Kill anything that came back to us (subreaper) and remove the runtime files."""
    for pid in child_pids():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    for path in (paths.zinit_pidfile, paths.node_pidfile, paths.zinit_socket, paths.redis_socket):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


# -- the three commands ------------------------------------------------------------------


async def up(paths: NodePaths) -> int:
    node = DevNode(paths)
    node.claim()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    status = 0
    try:
        startup = asyncio.create_task(node.start())
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait([startup, stopped], return_when=asyncio.FIRST_COMPLETED)
        if not startup.done():
            startup.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await startup
            say("interrupted during startup")
        elif startup.exception() is not None:
            error = startup.exception()
            say(f"failed to start: {error}")
            status = 1
        else:
            say(
                f"node is up: {len(await node.client.list())} services, state dir"
                f" {paths.state_dir}; Ctrl-C or `zos node down` stops it"
            )
            say(f"service output: zinit -s {paths.zinit_socket} log")
            while not stop.is_set():
                if not node.supervisor_alive():
                    say("the supervisor exited unexpectedly")
                    status = 1
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1)
        stopped.cancel()
    finally:
        say("stopping")
        await node.teardown()
        say("stopped; nothing left running")
    return status


def _stale_cleanup(paths: NodePaths) -> None:
    """After a crashed `up`: stop its supervisor and run every module's cleanup."""
    zinit_pid = read_pid(paths.zinit_pidfile)
    if pid_running(zinit_pid, "zos_zinit"):
        assert zinit_pid is not None
        say(f"stopping the supervisor of a crashed node (pid {zinit_pid})")
        os.kill(zinit_pid, signal.SIGTERM)  # container mode: ordered shutdown, then exit
        deadline = time.monotonic() + STOP_TIMEOUT
        while pid_running(zinit_pid, "zos_zinit") and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid_running(zinit_pid, "zos_zinit"):
            os.killpg(zinit_pid, signal.SIGKILL)
    ctx = NodeContext(paths.state_dir, paths.broker, sys.executable)
    _cleanup_modules(ctx, load_modules())
    finish(paths)


def _cleanup_modules(ctx: NodeContext, modules: Sequence[NodeModule]) -> None:
    for module in reversed(modules):
        try:
            module.cleanup(ctx)
        except Exception as e:
            say(f"module {module.name}: cleanup failed: {e}")


def down(paths: NodePaths) -> int:
    if not paths.state_dir.is_dir():
        say(f"no node at {paths.state_dir}")
        return 0
    node_pid = read_pid(paths.node_pidfile)
    if pid_running(node_pid, "zos"):
        assert node_pid is not None
        say(f"stopping the node (pid {node_pid})")
        os.kill(node_pid, signal.SIGTERM)
        deadline = time.monotonic() + 2 * STOP_TIMEOUT
        while pid_running(node_pid, "zos") and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid_running(node_pid, "zos"):
            say(f"the node (pid {node_pid}) did not stop in time: SIGKILL, cleaning up")
            os.kill(node_pid, signal.SIGKILL)
        else:
            say("node is down")
            return 0
    _stale_cleanup(paths)
    say("node is down")
    return 0


async def status(paths: NodePaths) -> int:
    client = Client(paths.zinit_socket, timeout=10)
    try:
        services = await client.list()
    except (OSError, ZinitError, TimeoutError):
        say(f"no node running on {paths.state_dir}")
        return 1
    configs: dict[str, ServiceConfig] = {}
    for name in services:
        with contextlib.suppress(ServiceConfigError):
            configs[name] = load_service(paths.config_dir / f"{name}.yaml")[1]
    width = max([len(n) for n in services] + [7])
    print(f"{'SERVICE':<{width}}  {'STATE':<12}  HEALTH")
    all_ok = True
    for name, state in sorted(services.items()):
        ok = await asyncio.to_thread(healthy, configs.get(name), state)
        all_ok &= ok
        print(f"{name:<{width}}  {state:<12}  {'healthy' if ok else 'UNHEALTHY'}")
    return 0 if all_ok and services else 1
