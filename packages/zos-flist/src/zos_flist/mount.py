"""Serve a `.fl` file on a directory (``rfs mount``): foreground or daemon mode (spec §3.1)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pyfuse3
import trio

from .cache import BlockCache
from .errors import FlistError
from .fusefs import FlistFS, mount_options
from .mounts import is_mountpoint
from .reader import FlistReader
from .stores import router_from_routes

log = logging.getLogger(__name__)

DEFAULT_CACHE = "/tmp/cache"
DAEMON_WAIT = 5.0


class MountError(FlistError):
    pass


def check_target(target: Path) -> None:
    if is_mountpoint(target):
        raise MountError(f"target {target} is already a mount point")
    if not target.is_dir():
        raise MountError(f"target {target} is not a directory")


async def _serve(ops: FlistFS) -> None:
    async with trio.open_nursery() as nursery:
        ops.nursery = nursery

        async def on_signals() -> None:
            with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for signum in signals:
                    log.info("signal %d: unmounting", signum)
                    pyfuse3.terminate()
                    return

        nursery.start_soon(on_signals)
        await pyfuse3.main()
        nursery.cancel_scope.cancel()


def serve(meta: Path, target: Path, cache_dir: Path,
          rewrite: Mapping[str, str] | None = None) -> None:
    """Mount ``meta`` on ``target`` and serve until unmounted or SIGTERM/SIGINT."""
    reader = FlistReader(meta)
    router = router_from_routes(reader.routes(), rewrite)
    cache = BlockCache(cache_dir, router)
    ops = FlistFS(reader, cache)
    pyfuse3.init(ops, str(target), mount_options())
    log.info("mounted %s on %s (pid %d)", meta, target, os.getpid())
    try:
        trio.run(_serve, ops)
    finally:
        ops.close_files()
        pyfuse3.close(unmount=True)
        router.close()
        reader.close()
        log.info("unmounted %s", target)


def _redirect_output(log_file: Path | None) -> None:
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    out = os.open(log_file or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)


def mount(meta: Path, target: Path, cache_dir: Path, *, daemon: bool = False,
          log_file: Path | None = None, rewrite: Mapping[str, str] | None = None) -> int:
    """``rfs mount`` semantics; returns the process exit code (daemon parent: 0 once mounted)."""
    target = target.absolute()
    check_target(target)
    FlistReader(meta).close()  # a malformed flist fails here, before any fork
    if not daemon:
        serve(meta, target, cache_dir, rewrite)
        return 0
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the server
        code = 1
        try:
            os.setsid()
            _redirect_output(log_file)
            logging.basicConfig(level=logging.INFO, stream=sys.stderr, force=True,
                                format="%(asctime)s %(levelname)s %(name)s: %(message)s")
            serve(meta, target, cache_dir, rewrite)
            code = 0
        except BaseException:
            log.exception("mount failed")
        finally:
            os._exit(code)
    deadline = time.monotonic() + DAEMON_WAIT
    while time.monotonic() < deadline:
        if is_mountpoint(target):
            return 0
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGTERM)
    print("failed to mount in under 5 seconds, please check logs for more information",
          file=sys.stderr)
    return 1
