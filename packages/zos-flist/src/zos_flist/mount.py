"""Serve a `.fl` file on a directory (``rfs mount``): foreground or daemon mode (spec §3.1)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

from .cache import BlockCache
from .errors import FlistError
from .fuse_session import FuseSession
from .fusefs import FlistFS
from .mounts import is_mountpoint, mount_entry
from .reader import FlistReader
from .stores import router_from_routes

log = logging.getLogger(__name__)

DEFAULT_CACHE = "/tmp/cache"
SUBTYPE = "g8ufs"
"""Upstream's: with the serving PID as fsname, findmnt shows FSTYPE fuse.g8ufs and SOURCE =
that PID, which flistd relies on (spec §3.2)."""
DAEMON_WAIT = 5.0
READ_AHEAD_KB = 4096
"""Kernel read-ahead of the mount. FUSE starts at 128 KiB, which cuts sequential reads of
files not passed through into 128 KiB requests, each crossing into Python; the session
negotiates requests of up to 1 MiB (max_pages 256), and 4 MiB keeps a few of them in flight
(docs/performance.md)."""


class MountError(FlistError):
    pass


def check_target(target: Path) -> None:
    if is_mountpoint(target):
        raise MountError(f"target {target} is already a mount point")
    if not target.is_dir():
        raise MountError(f"target {target} is not a directory")


def raise_read_ahead(target: Path, kb: int = READ_AHEAD_KB) -> None:
    """Set the read-ahead of the FUSE mount on ``target`` (its bdi in sysfs) to ``kb``.

    Must run once the kernel has our FUSE_INIT reply: the reply can only lower the read-ahead
    (we echo the kernel's 128 KiB), and a value written earlier is lost. Touches only
    /proc and /sys, never the mount (the caller is the loop that answers it)."""
    try:
        entry = mount_entry(target)
        if entry is None:
            raise OSError(f"{target} is not mounted")
        (Path("/sys/class/bdi") / entry.device / "read_ahead_kb").write_text(f"{kb}\n")
    except OSError as exc:  # e.g. no sysfs in a container: slower, still correct
        log.warning("cannot raise the read-ahead of %s: %s", target, exc)


def serve(meta: Path, target: Path, cache_dir: Path,
          rewrite: Mapping[str, str] | None = None, ready_fd: int | None = None, *,
          passthrough: bool = True) -> None:
    """Mount ``meta`` on ``target`` and serve until unmounted or SIGTERM/SIGINT.

    ``ready_fd`` gets one byte (and is closed) once the mount is usable and tuned."""
    reader = FlistReader(meta)
    router = router_from_routes(reader.routes(), rewrite)
    ops = FlistFS(reader, BlockCache(cache_dir, router), passthrough=passthrough)
    try:
        asyncio.run(_serve(ops, target, ready_fd, passthrough))
    finally:
        ops.close()
        router.close()
        reader.close()
        log.info("unmounted %s", target)


async def _serve(ops: FlistFS, target: Path, ready_fd: int | None, passthrough: bool) -> None:
    def ready() -> None:  # the kernel has our INIT reply: the mount answers now
        raise_read_ahead(target)
        if ready_fd is not None:  # the daemon parent returns now
            with contextlib.suppress(OSError):  # it may be gone: keep serving anyway
                os.write(ready_fd, b"1")
            os.close(ready_fd)

    session = FuseSession(ops, target, fsname=str(os.getpid()), subtype=SUBTYPE,
                          passthrough=passthrough, on_init=ready)
    session.mount()
    log.info("mounted on %s (pid %d)", target, os.getpid())
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        log.info("signal %d: unmounting", signum)
        session.stop()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        await session.serve()
    finally:
        session.close()


def _redirect_output(log_file: Path | None) -> None:
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    out = os.open(log_file or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)


def mount(meta: Path, target: Path, cache_dir: Path, *, daemon: bool = False,
          log_file: Path | None = None, rewrite: Mapping[str, str] | None = None,
          passthrough: bool = True) -> int:
    """``rfs mount`` semantics; returns the process exit code (daemon parent: 0 once mounted)."""
    target = target.absolute()
    check_target(target)
    FlistReader(meta).close()  # a malformed flist fails here, before any fork
    if not daemon:
        serve(meta, target, cache_dir, rewrite, passthrough=passthrough)
        return 0
    sys.stdout.flush()
    sys.stderr.flush()
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the server
        code = 1
        try:
            os.close(ready_r)
            os.setsid()
            _redirect_output(log_file)
            logging.basicConfig(level=logging.INFO, stream=sys.stderr, force=True,
                                format="%(asctime)s %(levelname)s %(name)s: %(message)s")
            serve(meta, target, cache_dir, rewrite, ready_fd=ready_w, passthrough=passthrough)
            code = 0
        except BaseException:
            log.exception("mount failed")
        finally:
            os._exit(code)
    os.close(ready_w)
    try:
        # The server writes a byte once mounted and tuned; EOF means it exited first.
        ready, _, _ = select.select([ready_r], [], [], DAEMON_WAIT)
        if not ready:
            os.kill(pid, signal.SIGTERM)
        elif os.read(ready_r, 1) == b"1" and is_mountpoint(target):
            return 0
        else:
            os.waitpid(pid, 0)  # it is exiting: reap it
    finally:
        os.close(ready_r)
    print("failed to mount in under 5 seconds, please check logs for more information",
          file=sys.stderr)
    return 1
