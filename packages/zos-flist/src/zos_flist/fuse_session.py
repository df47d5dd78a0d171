"""A FUSE session on ``/dev/fuse`` without libfuse: mount, the request loop on asyncio, and
passthrough of opened files to backing files in the block cache.

Why our own: libfuse 3.14 (Debian 12) and pyfuse3 cannot ask the kernel for passthrough
(FUSE 7.40), with which reads of a cached file never reach this process at all: the kernel
reads the backing file itself (docs/performance.md). The protocol is in `fuse_protocol`;
this module does the I/O.

Passthrough rules (fs/fuse/iomode.c): every open file of one inode must use the same mode,
and in passthrough the same backing file, or the kernel fails the open with EIO. So the first
open of an inode decides, and later opens follow it until the last one is released.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import logging
import os
import select
import socket
import stat
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from . import fuse_protocol as fp
from .fuse_protocol import Attributes

log = logging.getLogger(__name__)

TTL = 31_536_000.0
"""Entry, attribute and negative-entry timeout: one year, the content is immutable."""
REQUEST_BUFFER = 1 << 17
"""Bigger than any request a read-only mount receives (max_write is 4096)."""
MS_RDONLY, MS_NOSUID, MS_NODEV = 1, 2, 4
MNT_DETACH = 2

Buffer = bytes | bytearray | memoryview


class FuseError(Exception):
    """Answer the request with ``errno`` (positive)."""

    def __init__(self, errno_: int) -> None:
        super().__init__(os.strerror(errno_))
        self.errno = errno_


@dataclass(frozen=True, slots=True)
class Opened:
    fh: int
    backing: str | None = None
    """A file holding exactly the content: passthrough may serve reads from it."""


class Operations(Protocol):
    """A read-only file system. Methods raise `FuseError`; all but ``read`` answer at once."""

    def lookup(self, parent: int, name: bytes) -> Attributes | None:
        """None: no such name (a cached negative entry)."""

    def getattr(self, ino: int) -> Attributes: ...

    def readlink(self, ino: int) -> bytes: ...

    def opendir(self, ino: int) -> None: ...

    def readdir(self, ino: int, offset: int) -> Iterator[tuple[bytes, Attributes, int]]:
        """Entries after ``offset``: (name, attributes, the offset of the next entry)."""

    def open(self, ino: int, flags: int) -> Opened: ...

    def read(self, fh: int, offset: int, size: int) -> Buffer | Awaitable[Buffer]:
        """The bytes now, or an awaitable when blocks must be fetched first. The buffer is
        sent before any other request runs, so it may be reused for the next reply."""

    def release(self, fh: int) -> None: ...


@dataclass
class _InodeOpens:
    count: int
    backing_id: int
    """0: the inode's files are open in the normal (cached) mode."""


_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]


def _user_allow_other(conf: Path = Path("/etc/fuse.conf")) -> bool:
    try:
        lines = conf.read_text().splitlines()
    except OSError:
        return False
    return any(line.split("#")[0].strip() == "user_allow_other" for line in lines)


def _fusermount_open(target: Path, options: str) -> int:
    """Mount as non-root: fusermount3 (setuid) mounts and sends us the device fd."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        env = {**os.environ, "_FUSE_COMMFD": str(theirs.fileno())}
        result = subprocess.run(["fusermount3", "-o", options, "--", str(target)], env=env,
                                pass_fds=[theirs.fileno()], capture_output=True, text=True,
                                check=False)
        if result.returncode != 0:
            raise OSError(f"fusermount3: {result.stderr.strip()}")
        _, fds, _, _ = socket.recv_fds(ours, 1, 1)
        if not fds:
            raise OSError("fusermount3 sent no file descriptor")
        return fds[0]
    finally:
        ours.close()
        theirs.close()


class FuseSession:
    """One mount served by one asyncio loop. ``mount()``, then ``await serve()`` until the
    mount goes away or ``stop()``; ``close()`` unmounts (lazily) and releases the device."""

    def __init__(self, ops: Operations, target: Path, *, fsname: str, subtype: str,
                 passthrough: bool = True, on_init: Callable[[], None] | None = None) -> None:
        self.ops = ops
        self.target = target
        self.fsname = fsname
        self.subtype = subtype
        self.want_passthrough = passthrough
        self.on_init = on_init
        self.passthrough = False
        """Negotiated with the kernel (and still working: a refused backing file turns it off)."""
        self.fd = -1
        self._fusermount = False
        self._buffer = bytearray(REQUEST_BUFFER)
        self._view = memoryview(self._buffer)
        self._opens: dict[int, _InodeOpens] = {}
        self._fh_inode: dict[int, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._done: asyncio.Future[None] | None = None
        self._handlers: dict[int, Callable[[fp.Request], None]] = {
            fp.INIT: self._init, fp.LOOKUP: self._lookup, fp.GETATTR: self._getattr,
            fp.READLINK: self._readlink, fp.OPEN: self._open, fp.READ: self._read,
            fp.RELEASE: self._release, fp.OPENDIR: self._opendir,
            fp.READDIR: self._readdir, fp.READDIRPLUS: self._readdirplus,
            fp.RELEASEDIR: self._empty, fp.STATFS: self._statfs, fp.DESTROY: self._destroy,
        }

    # -- mounting --------------------------------------------------------------------------

    def mount(self) -> None:
        options = "allow_other,default_permissions"
        if os.geteuid() == 0:
            self.fd = os.open("/dev/fuse", os.O_RDWR | os.O_CLOEXEC)
            data = (f"fd={self.fd},rootmode={stat.S_IFDIR:o},user_id={os.getuid()},"
                    f"group_id={os.getgid()},{options}")
            if _libc.mount(self.fsname.encode(), os.fsencode(self.target),
                           f"fuse.{self.subtype}".encode(), MS_RDONLY | MS_NOSUID | MS_NODEV,
                           data.encode()) != 0:
                code = ctypes.get_errno()
                os.close(self.fd)
                self.fd = -1
                raise OSError(code, f"mount on {self.target}: {os.strerror(code)}")
        else:
            if not _user_allow_other():
                log.info("mounting without allow_other: /etc/fuse.conf does not allow it "
                         "(user_allow_other) for mounts by users")
                options = "default_permissions"
            self.fd = _fusermount_open(self.target, f"ro,nosuid,nodev,{options},"
                                       f"fsname={self.fsname},subtype={self.subtype}")
            self._fusermount = True
        os.set_blocking(self.fd, False)

    def close(self) -> None:
        """Unmount (if still mounted) and close the device: requests still queued fail."""
        if self.fd < 0:
            return
        for opens in self._opens.values():
            self._backing_close(opens.backing_id)
        self._opens.clear()
        if not self._connection_gone():
            if self._fusermount:
                subprocess.run(["fusermount3", "-u", "-q", "-z", "--", str(self.target)],
                               capture_output=True, check=False)
            else:
                _libc.umount2(os.fsencode(self.target), MNT_DETACH)
        os.close(self.fd)
        self.fd = -1

    def _connection_gone(self) -> bool:
        """Whether the kernel already ended this mount (POLLERR on the device, as libfuse
        checks): then the target may hold somebody else's new mount, which must stay."""
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        return any(events & select.POLLERR for _fd, events in poller.poll(0))

    # -- the loop --------------------------------------------------------------------------

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        loop.add_reader(self.fd, self._on_readable)
        try:
            await self._done
        finally:
            loop.remove_reader(self.fd)
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    def stop(self) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_result(None)

    def _on_readable(self) -> None:
        for _ in range(64):  # then let other callbacks (finished fills) run
            try:
                size = os.readv(self.fd, [self._buffer])
            except BlockingIOError:
                return
            except InterruptedError:
                continue
            except OSError as exc:
                if exc.errno == errno.ENOENT:  # the request was interrupted meanwhile
                    continue
                if exc.errno != errno.ENODEV:
                    log.error("reading /dev/fuse: %s", exc)
                self.stop()  # ENODEV: unmounted
                return
            try:
                request = fp.parse_request(self._view[:size])
            except fp.ProtocolError as exc:
                log.error("malformed request from the kernel: %s", exc)
                continue
            self._dispatch(request)

    def _dispatch(self, request: fp.Request) -> None:
        handler = self._handlers.get(request.opcode)
        if handler is None:
            if request.opcode in fp.NO_REPLY:
                return  # FORGET: we keep no per-inode state; INTERRUPT: requests are short
            self._error(request.unique,
                        errno.EROFS if request.opcode in fp.MODIFYING else errno.ENOSYS)
            return
        try:
            handler(request)
        except FuseError as exc:
            self._error(request.unique, exc.errno)
        except fp.ProtocolError as exc:
            log.error("opcode %d: %s", request.opcode, exc)
            self._error(request.unique, errno.EINVAL)
        except Exception:
            log.exception("opcode %d on node %d failed", request.opcode, request.nodeid)
            self._error(request.unique, errno.EIO)

    # -- replies ---------------------------------------------------------------------------

    def _send(self, unique: int, payload: Buffer = b"") -> None:
        self._write([fp.reply_header(unique, len(payload)), payload])

    def _error(self, unique: int, code: int) -> None:
        self._write([fp.reply_header(unique, 0, code)])

    def _write(self, parts: list[Buffer]) -> None:
        try:
            os.writev(self.fd, parts)
        except OSError as exc:
            # ENOENT: the request was interrupted and is gone; ENODEV: unmounted.
            if exc.errno not in (errno.ENOENT, errno.ENODEV):
                log.error("replying on /dev/fuse: %s", exc)

    # -- handlers --------------------------------------------------------------------------

    def _init(self, request: fp.Request) -> None:
        init = fp.parse_init(request.body)
        reply = fp.negotiate_init(init, passthrough=self.want_passthrough)
        self.passthrough = reply.passthrough
        self._send(request.unique, reply.payload)  # the kernel applies it during this write
        log.info("FUSE %d.%d, passthrough %s", init.major, init.minor,
                 "on" if self.passthrough else "off")
        if self.on_init is not None:
            self.on_init()

    def _destroy(self, request: fp.Request) -> None:
        self._send(request.unique)
        self.stop()

    def _empty(self, request: fp.Request) -> None:
        self._send(request.unique)

    def _lookup(self, request: fp.Request) -> None:
        attrs = self.ops.lookup(request.nodeid, fp.parse_name(request.body))
        self._send(request.unique, fp.negative_entry(TTL) if attrs is None
                   else fp.entry(attrs, TTL))

    def _getattr(self, request: fp.Request) -> None:
        self._send(request.unique, fp.attr_reply(self.ops.getattr(request.nodeid), TTL))

    def _readlink(self, request: fp.Request) -> None:
        self._send(request.unique, self.ops.readlink(request.nodeid))

    def _statfs(self, request: fp.Request) -> None:
        self._send(request.unique, fp.statfs_reply(bsize=4096, frsize=4096, namelen=255))

    def _opendir(self, request: fp.Request) -> None:
        self.ops.opendir(request.nodeid)
        self._send(request.unique, fp.open_reply(request.nodeid, fp.FOPEN_KEEP_CACHE
                                                 | fp.FOPEN_CACHE_DIR))

    def _readdir(self, request: fp.Request) -> None:
        self._listing(request, plus=False)

    def _readdirplus(self, request: fp.Request) -> None:
        self._listing(request, plus=True)

    def _listing(self, request: fp.Request, *, plus: bool) -> None:
        _, offset, size = fp.parse_read(request.body)
        out = bytearray()
        for name, attrs, next_offset in self.ops.readdir(request.nodeid, offset):
            record = (fp.direntplus(name, attrs, next_offset, TTL) if plus
                      else fp.dirent(name, attrs, next_offset))
            if len(out) + len(record) > size:
                break
            out += record
        self._send(request.unique, out)

    def _open(self, request: fp.Request) -> None:
        ino, flags = request.nodeid, fp.parse_open(request.body)
        opened = self.ops.open(ino, flags)
        opens = self._opens.get(ino)
        if flags & os.O_DIRECT and (opens is None or not opens.backing_id):
            # Through us, as asked (any alignment), and outside the inode's io mode (a backing
            # file on disk would demand aligned O_DIRECT reads). While the inode is open in
            # passthrough the kernel accepts only passthrough opens: those follow below.
            self._send(request.unique, fp.open_reply(opened.fh, fp.FOPEN_DIRECT_IO))
            return
        if opens is None:
            backing_id = self._backing_open(opened.backing) if opened.backing else 0
            opens = self._opens[ino] = _InodeOpens(0, backing_id)
        opens.count += 1
        self._fh_inode[opened.fh] = ino
        if opens.backing_id:
            self._send(request.unique, fp.open_reply(opened.fh, fp.FOPEN_PASSTHROUGH,
                                                     opens.backing_id))
        else:
            self._send(request.unique, fp.open_reply(opened.fh, fp.FOPEN_KEEP_CACHE))

    def _backing_open(self, path: str) -> int:
        """Register ``path`` with the kernel for passthrough; 0 when that is not possible."""
        if not self.passthrough:
            return 0
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            log.warning("backing file %s: %s", path, exc)
            return 0
        try:
            arg = ctypes.create_string_buffer(fp.BACKING_MAP.pack(fd, 0, 0),
                                              fp.BACKING_MAP.size)
            backing_id = int(_libc.ioctl(self.fd, fp.IOC_BACKING_OPEN, arg))
        finally:
            os.close(fd)  # the kernel holds its own reference
        if backing_id <= 0:
            code = ctypes.get_errno()
            # EPERM: no CAP_SYS_ADMIN; EINVAL/ELOOP: the cache sits on a stacked file system.
            log.warning("passthrough refused for %s (%s): reads go through this process",
                        path, os.strerror(code))
            self.passthrough = False
            return 0
        return backing_id

    def _backing_close(self, backing_id: int) -> None:
        if backing_id and self.fd >= 0:
            arg = ctypes.c_uint32(backing_id)
            if _libc.ioctl(self.fd, fp.IOC_BACKING_CLOSE, ctypes.byref(arg)) != 0:
                log.warning("closing backing file %d: %s", backing_id,
                            os.strerror(ctypes.get_errno()))

    def _release(self, request: fp.Request) -> None:
        fh = fp.parse_release(request.body)
        self.ops.release(fh)
        ino = self._fh_inode.pop(fh, 0)
        opens = self._opens.get(ino)
        if opens is not None:
            opens.count -= 1
            if opens.count <= 0:
                del self._opens[ino]
                self._backing_close(opens.backing_id)
        self._send(request.unique)

    def _read(self, request: fp.Request) -> None:
        fh, offset, size = fp.parse_read(request.body)
        result = self.ops.read(fh, offset, size)
        if isinstance(result, (bytes, bytearray, memoryview)):
            self._send(request.unique, result)
            return
        task = asyncio.ensure_future(self._read_later(request.unique, result))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read_later(self, unique: int, pending: Awaitable[Buffer]) -> None:
        try:
            data = await pending
        except FuseError as exc:
            self._error(unique, exc.errno)
        except asyncio.CancelledError:
            self._error(unique, errno.EINTR)
            raise
        except Exception:
            log.exception("read failed")
            self._error(unique, errno.EIO)
        else:
            self._send(unique, data)  # at once: the buffer may be reused by the next read
