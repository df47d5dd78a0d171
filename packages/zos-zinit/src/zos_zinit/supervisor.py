"""The supervisor: the service table and zinit's state machine (spec boot.md §6.3).

Every monitored service with target Up has one task (``_run``) that waits for its
dependencies, spawns it, runs its test, records its exit and respawns it. All other
operations (stop, kill, forget, shutdown) change the table and wake those tasks through
``_changed``, a "something changed" event renewed at every change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zos_zinit import errors, state
from zos_zinit.config import ServiceConfig, ServiceConfigError, load_service, valid_service_name
from zos_zinit.process import Reaper, attach_output, child_pids, killpg, spawn
from zos_zinit.ring import LogRing, service_line, start_line
from zos_zinit.signals import parse_signal
from zos_zinit.state import State, StateKind, Target

log = logging.getLogger("zos_zinit.supervisor")

RESPAWN_DELAY = 2.0
TEST_INTERVAL = 2.0
# After SIGKILL at the end of a shutdown_timeout, how long to wait for the exit to be reaped.
KILL_GRACE = 5.0


@dataclass
class Service:
    name: str
    config: ServiceConfig
    state: State = state.UNKNOWN
    target: Target = Target.UP
    pid: int = 0
    scheduled: bool = False
    task: asyncio.Task[None] | None = field(default=None, repr=False)


def _wanted(svc: Service) -> bool:
    """Target Up (a function, so type checkers do not narrow it across awaits)."""
    return svc.target is Target.UP


def _without_cycles(graph: dict[str, list[str]]) -> dict[str, list[str]]:
    """The graph minus the edges that close a cycle (services re-monitored with new `after`
    lists can depend on each other; waiting on a cycle would stall the shutdown forever)."""
    kept: dict[str, list[str]] = {n: [] for n in graph}
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(node: str) -> None:
        visiting.add(node)
        for nxt in graph[node]:
            if nxt in visiting:
                continue
            kept[node].append(nxt)
            if nxt not in done:
                visit(nxt)
        visiting.discard(node)
        done.add(node)

    for node in graph:
        if node not in done:
            visit(node)
    return kept


def read_environment_file(path: Path = Path("/etc/environment")) -> dict[str, str]:
    """``KEY=VALUE`` lines; ``#`` comments and malformed lines skipped."""
    env: dict[str, str] = {}
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError):
        return env
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]  # PATH="/usr/bin:/bin", as pam_env writes it
        env[key.strip()] = value
    return env


class Supervisor:
    def __init__(
        self,
        config_dir: Path,
        ring: LogRing,
        *,
        environ: Mapping[str, str] | None = None,
        container: bool = False,
    ) -> None:
        self.config_dir = config_dir
        self.ring = ring
        self.container = container
        self.environ = dict(os.environ if environ is None else environ)
        self.services: dict[str, Service] = {}
        self.reaper = Reaper()
        self.shutting_down = False
        self.reboot_requested = False
        self.finished = asyncio.Event()
        self._changed = asyncio.Event()
        self._tests: set[int] = set()
        self._background: set[asyncio.Task[None]] = set()

    # -- change notification -------------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self, within: float | None = None) -> None:
        event = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), within)

    def _set_state(self, svc: Service, new: State) -> None:
        if svc.state != new:
            log.debug("%s: %s -> %s", svc.name, svc.state, new)
        svc.state = new
        self._notify()

    # -- loading -------------------------------------------------------------------------

    def start(self) -> None:
        """Install the reaper; call from inside the running loop before anything else."""
        self.reaper.install(asyncio.get_running_loop())

    def load_all(self) -> None:
        """Monitor every valid ``*.yaml`` of the config dir; invalid ones are logged, skipped."""
        for path in sorted(self.config_dir.glob("*.yaml")):
            if not path.is_file():
                continue
            try:
                name, config = load_service(path)
            except ServiceConfigError as e:
                log.error("skipping invalid service file: %s", e)
                continue
            if not valid_service_name(name):
                log.error("skipping %s: invalid service name", path)
                continue
            self._add(name, config)

    def load_config(self, name: str) -> ServiceConfig:
        if not valid_service_name(name):
            raise errors.ConfigLoadError.of(f"invalid service name {name!r}")
        try:
            return load_service(self.config_dir / f"{name}.yaml")[1]
        except ServiceConfigError as e:
            raise errors.ConfigLoadError.of(str(e)) from None

    # -- commands ------------------------------------------------------------------------

    def get(self, name: str) -> Service:
        try:
            return self.services[name]
        except KeyError:
            raise errors.UnknownServiceError.of(name) from None

    def monitor(self, name: str) -> None:
        config = self.load_config(name)
        if self.shutting_down:
            raise errors.ShuttingDownError.of()
        if name in self.services:
            raise errors.AlreadyMonitoredError.of(name)
        self._add(name, config)

    def _add(self, name: str, config: ServiceConfig) -> None:
        svc = Service(name, config)
        self.services[name] = svc
        log.info("monitoring %s", name)
        self._schedule(svc)
        self._notify()

    def list_services(self) -> dict[str, str]:
        return {name: svc.state.text for name, svc in self.services.items()}

    def status(self, name: str) -> dict[str, Any]:
        svc = self.get(name)
        after = {}
        for dep in svc.config.after:
            other = self.services.get(dep)
            after[dep] = other.state.text if other else state.UNKNOWN.text
        return {
            "name": name,
            "pid": svc.pid,
            "state": svc.state.text,
            "target": svc.target.value,
            "after": after,
        }

    def start_service(self, name: str) -> None:
        if self.shutting_down:
            raise errors.ShuttingDownError.of()
        svc = self.get(name)
        svc.target = Target.UP
        self._schedule(svc)
        self._notify()

    def stop(self, name: str) -> None:
        svc = self.get(name)
        svc.target = Target.DOWN
        if svc.pid:
            killpg(svc.pid, parse_signal(svc.config.signal_stop))
        self._notify()

    def kill(self, name: str, signal_name: str) -> None:
        try:
            sig = parse_signal(signal_name)
        except ValueError as e:
            raise errors.CommandError(str(e)) from None
        svc = self.get(name)
        if not svc.pid:
            raise errors.ServiceIsDownError.of(name)
        killpg(svc.pid, sig)

    def forget(self, name: str) -> None:
        svc = self.get(name)
        if svc.target is Target.UP or svc.pid:
            raise errors.ServiceIsUpError.of(name)
        del self.services[name]
        log.info("forgot %s", name)
        self._notify()

    def shutdown(self, reboot: bool = False) -> None:
        """Start the ordered shutdown in the background (a second request is a no-op)."""
        if self.shutting_down:
            return
        self.shutting_down = True
        self.reboot_requested = reboot
        task = asyncio.create_task(self._shutdown())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- the state machine ---------------------------------------------------------------

    def _schedule(self, svc: Service) -> None:
        if svc.scheduled or svc.target is Target.DOWN:
            return
        svc.scheduled = True
        svc.task = asyncio.create_task(self._run(svc), name=f"zinit:{svc.name}")

    def _dependencies_ready(self, svc: Service) -> bool:
        for dep in svc.config.after:
            other = self.services.get(dep)
            if other is None:
                return False
            ok = (other.state.kind is StateKind.RUNNING and not other.config.oneshot) or (
                other.state.kind is StateKind.SUCCESS
            )
            if not ok:
                return False
        return True

    def _child_env(self, config: ServiceConfig) -> dict[str, str]:
        env = dict(self.environ)
        env.update(config.env)
        return env

    def _spawn(self, svc: Service, argv: list[str], prefix: str) -> subprocess.Popen[bytes]:
        config = svc.config
        popen = spawn(argv, cwd=config.workdir, env=self._child_env(config), output=config.log)
        if config.log == "ring":
            ring = self.ring

            def sink(text: str, is_stderr: bool) -> None:
                ring.append(service_line(prefix, text, is_stderr))

            task = asyncio.create_task(attach_output(popen, sink))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        # The parent's copies of the pipes are owned by the readers now.
        return popen

    async def _run(self, svc: Service) -> None:
        try:
            while svc.target is Target.UP and self.services.get(svc.name) is svc:
                self._set_state(svc, state.BLOCKED)
                while svc.target is Target.UP and not self._dependencies_ready(svc):
                    await self._wait_change()
                if not _wanted(svc):
                    break
                try:
                    argv = shlex.split(svc.config.exec)
                    if not argv:
                        raise ValueError("empty command line")
                    self.ring.append(start_line(svc.name))
                    popen = self._spawn(svc, argv, svc.name)
                except (OSError, ValueError, subprocess.SubprocessError) as e:
                    log.error("%s: cannot spawn %r: %s", svc.name, svc.config.exec, e)
                    self.ring.append(service_line(svc.name, f"failed to spawn: {e}", True))
                    self._set_state(svc, state.FAILURE)
                    break
                exited = self.reaper.track(popen)
                svc.pid = popen.pid
                log.info("%s: started, pid %d", svc.name, popen.pid)
                self._set_state(svc, state.SPAWNED)
                test_task: asyncio.Task[None] | None = None
                if svc.config.oneshot or not svc.config.test:
                    self._set_state(svc, state.RUNNING)
                else:
                    test_task = asyncio.create_task(self._test_loop(svc, exited))
                status = await exited
                if test_task is not None:
                    test_task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await test_task
                pid, svc.pid = svc.pid, 0
                new_state = state.exit_state(pid, status)
                log.info("%s: exited: %s", svc.name, new_state)
                self._set_state(svc, new_state)
                if svc.config.oneshot:
                    break
                if not _wanted(svc):
                    break
                loop = asyncio.get_running_loop()
                deadline = loop.time() + RESPAWN_DELAY
                while svc.target is Target.UP and loop.time() < deadline:
                    await self._wait_change(deadline - loop.time())
        finally:
            svc.scheduled = False
            svc.task = None
            self._notify()

    async def _test_loop(self, svc: Service, exited: asyncio.Future[int]) -> None:
        prefix = f"{svc.name}/test"
        try:
            argv = shlex.split(svc.config.test)
        except ValueError as e:
            log.error("%s: bad test command %r: %s", svc.name, svc.config.test, e)
            self._set_state(svc, state.TEST_FAILURE)
            return
        while not exited.done():
            try:
                popen = self._spawn(svc, argv, prefix)
            except (OSError, ValueError, subprocess.SubprocessError) as e:
                log.error("%s: cannot spawn test %r: %s", svc.name, svc.config.test, e)
                self._set_state(svc, state.TEST_FAILURE)
                return
            test_exit = self.reaper.track(popen)
            self._tests.add(popen.pid)
            try:
                status = await test_exit
            except asyncio.CancelledError:
                killpg(popen.pid, signal.SIGKILL)
                raise
            finally:
                self._tests.discard(popen.pid)
            if exited.done():
                return
            if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
                if svc.state.kind is StateKind.SPAWNED:
                    self._set_state(svc, state.RUNNING)
                return
            await asyncio.wait([exited], timeout=TEST_INTERVAL)

    # -- shutdown ------------------------------------------------------------------------

    async def _shutdown(self) -> None:
        log.info("shutting down")
        names = list(self.services)
        for svc in self.services.values():
            svc.target = Target.DOWN  # no spawn or respawn from here on
        self._notify()
        # A service stops only after every running service that lists it in `after` stopped.
        running = {n for n in names if self.services[n].pid}
        dependents = _without_cycles(
            {
                n: [m for m in running if m != n and n in self.services[m].config.after]
                for n in names
            }
        )
        stopped = {n: asyncio.Event() for n in names}

        async def stop_one(name: str) -> None:
            try:
                for dep in dependents[name]:
                    await stopped[dep].wait()
                svc = self.services.get(name)
                if svc is not None and svc.pid:
                    await self._stop_and_wait(svc)
            finally:
                stopped[name].set()

        await asyncio.gather(*(stop_one(n) for n in names))
        await self._kill_leftovers()
        os.sync()
        log.info("all services stopped")
        self.finished.set()

    async def _stop_and_wait(self, svc: Service) -> None:
        pid = svc.pid
        log.info("stopping %s (pid %d)", svc.name, pid)
        killpg(pid, parse_signal(svc.config.signal_stop))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + svc.config.shutdown_timeout
        while svc.pid == pid and loop.time() < deadline:
            await self._wait_change(deadline - loop.time())
        if svc.pid == pid:
            log.warning(
                "%s did not stop within %ss: SIGKILL", svc.name, svc.config.shutdown_timeout
            )
            killpg(pid, signal.SIGKILL)
            deadline = loop.time() + KILL_GRACE
            while svc.pid == pid and loop.time() < deadline:
                await self._wait_change(deadline - loop.time())
        # Whatever the service left in its group (workers that ignored the signal) goes too.
        killpg(pid, signal.SIGKILL)

    async def _kill_leftovers(self) -> None:
        """Orphans we adopted as subreaper would outlive us: kill them (container mode)."""
        if not self.container:
            return
        self.reaper.reap()  # zombies of services that just exited are not leftovers
        for pid in child_pids():
            log.warning("killing leftover process %d", pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for _ in range(50):
            self.reaper.reap()
            if not child_pids():
                return
            await asyncio.sleep(0.02)
